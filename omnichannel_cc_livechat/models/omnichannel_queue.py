from datetime import timedelta

from odoo import _, api, fields, models

from odoo.addons.omnichannel_cc.tools import routing

MAX_OVERFLOW_HOPS = 3  # as omnichannel.interaction._overflow


class OmnichannelQueue(models.Model):
    _inherit = "omnichannel.queue"

    def _chat_queues(self):
        """Where a chat routed to this queue may be taken now: the queue when
        open, then its overflow queues (a chat cannot wait in a full queue).
        A closed queue takes nothing: its closed-hours action applies."""
        self.ensure_one()
        queues = self.browse()
        # sudo: visitors may not read queues; their hours and overflow only
        queue = self.sudo()
        if not queue.active or not queue._is_open():
            return queues
        while queue and queue not in queues and len(queues) <= MAX_OVERFLOW_HOPS:
            if queue.active and queue._is_open():
                queues |= queue
            if queue.overflow_action != "queue":
                break
            queue = queue.overflow_queue_id
        return queues

    def _chat_pick(self, probe, user_ids=None, limit=1):
        """The agents of this queue (or the given users) with a free chat
        slot, best first by the queue's strategy. Reads only."""
        self.ensure_one()
        users = self.env["res.users"]
        rows = self._agent_rows(user_ids=user_ids)
        if not rows:
            return users
        candidates = self._candidates(probe, rows, set())
        ordered = routing.order_candidates(
            self.strategy, candidates, required_skill=bool(probe.required_skill_id)
        )
        ids = [candidate.user_id for candidate in ordered]
        return users.browse(ids[:limit] if limit else ids)

    # ------------------------------------------------------------------
    # Sweep: a chat's wrap-up ends with its time
    # ------------------------------------------------------------------
    @api.model
    def _acd_sweep(self):
        # first: the agents these chats held are then freed and dispatched
        self._chat_close_wrapups()
        return super()._acd_sweep()

    @api.model
    def _chat_close_wrapups(self):
        """Close the web chats whose wrap-up time is over.

        The visitor is gone (or the agent ended the chat): nothing is left to
        do with the customer, so the chat stays in wrap-up only for its
        queue's wrap-up time, as its agent does. Left open, it would count as
        the agent's current contact and load on the wallboard long after the
        agent is free again. A chat waits for its agent's whole wrap-up (a
        later contact may extend it); the agent may still set the disposition
        and notes on the closed interaction.
        """
        now = fields.Datetime.now()
        # sudo: the ACD's sweep (a cron) closes the chats of every company
        Interaction = self.env["omnichannel.interaction"].sudo()
        chats = Interaction.search(
            [
                ("channel_type", "=", "chat"),
                ("state", "=", "wrapup"),
                ("date_ended", "<=", now),
            ]
        ).filtered(lambda i: i.date_ended + timedelta(seconds=i.queue_id.wrapup_seconds) <= now)
        if not chats:
            return chats
        # sudo: the agent records of every company (the sweep's); only who is still in wrap-up
        wrapping_up = (
            self.env["omnichannel.agent"]
            .sudo()
            .search([("user_id", "in", chats.agent_id.ids), ("wrapup_until", ">", now)])
            .user_id
        )
        chats = chats.filtered(lambda i: i.agent_id not in wrapping_up)
        for chat in chats:
            chat.message_post(
                body=_(
                    "The wrap-up time of %(queue)s is over: the chat is closed.",
                    queue=chat.queue_id.name,
                ),
                message_type="notification",
                subtype_xmlid="mail.mt_note",
            )
        chats.action_close()
        return chats
