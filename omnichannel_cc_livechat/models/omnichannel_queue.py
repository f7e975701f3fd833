from odoo import models

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
