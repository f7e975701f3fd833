"""Server side of the agent console (systray, offer popup, screen-pop, wrap-up).

One call, ``omnichannel.agent.action_console_state()``, returns everything the
console shows; bus messages only tell the browser to call it again
("omnichannel.console") or bring the offer itself ("omnichannel.offer"), so
a reload or a lost connection never leaves the console out of date.
"""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from .omnichannel_agent import AGENT_STATES

CONSOLE_BUS_TYPE = "omnichannel.console"
CONSOLE_INTERACTION_STATES = ("offered", "active", "wrapup")
AGENT_GROUP = "omnichannel_cc.group_omnichannel_agent"
PROMISE_TO_PAY_DAYS = 7


def _seconds_between(start, end):
    return max(int((end - start).total_seconds()), 0) if start and end else 0


def _notify_console(env, users):
    """Tell these users' consoles to reload, once per user and transaction."""
    user_ids = set(users.ids)
    if not user_ids:
        return
    data = env.cr.precommit.data
    pending = data.get("omnichannel.console.user_ids")
    if pending is None:
        pending = data["omnichannel.console.user_ids"] = set()

        @env.cr.precommit.add
        def send_console_reload():
            ids = data.pop("omnichannel.console.user_ids", set())
            for user in env["res.users"].sudo().browse(sorted(ids)).exists():
                user._bus_send(CONSOLE_BUS_TYPE, {"user_id": user.id})

    pending.update(user_ids)


class OmnichannelAgent(models.Model):
    _inherit = "omnichannel.agent"

    def write(self, vals):
        result = super().write(vals)
        if {"state", "break_reason_id", "wrapup_until"}.intersection(vals):
            _notify_console(self.env, self.sudo().user_id)
        return result

    @api.model
    def action_console_state(self):
        """Everything the current user's agent console shows, in one call.

        Only the current user's own presence, queues, offers and
        interactions; no None anywhere (XML-RPC safe).
        """
        user = self.env.user
        if not user.has_group(AGENT_GROUP):
            raise AccessError(_("Only contact center agents have an agent console."))
        now = fields.Datetime.now()
        agent = self._for_user().sudo()
        presence = agent._presence()
        presence.update(
            state_label=dict(AGENT_STATES)[agent.state],
            state_seconds=_seconds_between(agent.state_since, now),
            break_reason_name=agent.break_reason_id.name or False,
            wrapup_seconds_left=_seconds_between(now, agent.wrapup_until),
        )
        return {
            "server_time": fields.Datetime.to_string(now),
            "user_id": user.id,
            "presence": presence,
            "states": [
                {"value": value, "label": label}
                for value, label in AGENT_STATES
                if value in ("available", "offline")
            ],
            "break_reasons": [
                {"id": reason.id, "name": reason.name}
                for reason in self.env["omnichannel.break.reason"].search([])
            ],
            "queues": self._console_queues(),
            "offers": self.env["omnichannel.offer"]._console_offers(now),
            "interactions": self.env["omnichannel.interaction"]._console_interactions(now),
            "dispositions": [
                {"id": disposition.id, "name": disposition.name, "outcome": disposition.outcome}
                for disposition in self.env["omnichannel.disposition"].search([])
            ],
            "access": {
                "sale_order": self.env["sale.order"].has_access("read"),
                "sale_order_create": self.env["sale.order"].has_access("create"),
                "account_move": self.env["account.move"].has_access("read"),
                "case_create": self.env["omnichannel.case"].has_access("create"),
            },
        }

    @api.model
    def _console_queues(self):
        members = (
            self.env["omnichannel.queue.member"]
            .sudo()
            .search([("user_id", "=", self.env.uid), ("queue_id.active", "=", True)])
        )
        queues = members.queue_id
        waiting = dict(
            self.env["omnichannel.interaction"]
            .sudo()
            ._read_group(
                [("queue_id", "in", queues.ids), ("state", "in", ("new", "queued", "offered"))],
                ["queue_id"],
                ["__count"],
            )
        )
        return [
            {
                "id": member.queue_id.id,
                "name": member.queue_id.name,
                "logged_in": member.logged_in,
                "waiting_count": waiting.get(member.queue_id, 0),
            }
            for member in members.sorted(lambda m: (m.queue_id.sequence, m.queue_id.name))
        ]


class OmnichannelOffer(models.Model):
    _inherit = "omnichannel.offer"

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals:
            _notify_console(self.env, self.sudo().user_id)
        return result

    def _console_offer_extra(self, now):
        """What the offer popup shows besides action_my_offers()'s data."""
        self.ensure_one()
        interaction = self.sudo().interaction_id
        return {
            "interaction_name": interaction.name,
            "subject": interaction.subject or False,
            "contact_address": interaction.contact_address or False,
            "channel_name": interaction.channel_id.name or False,
            "queue_id": self.queue_id.id or False,
            "waiting_seconds": _seconds_between(
                interaction.date_queued or interaction.create_date, now
            ),
            "ring_seconds": _seconds_between(self.date_offered, self.date_expire),
            "seconds_left": _seconds_between(now, self.date_expire) if self.date_expire else False,
        }

    @api.model
    def _console_offers(self, now):
        rows = self.action_my_offers()
        offers = self.sudo().browse([row["offer_id"] for row in rows])
        extras = {offer.id: offer._console_offer_extra(now) for offer in offers}
        for row in rows:
            row.update(extras[row["offer_id"]])
        return rows

    def _bus_payload(self):
        """The core payload plus what the popup shows (waiting time, seconds
        left, subject), so that it appears at once, before the console
        reloads its state."""
        payload = super()._bus_payload()
        payload.update(self._console_offer_extra(fields.Datetime.now()))
        return payload


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    def write(self, vals):
        before = self.env["res.users"]
        if "agent_id" in vals:
            before = self.sudo().agent_id
        result = super().write(vals)
        if {"state", "agent_id"}.intersection(vals):
            _notify_console(self.env, before | self.sudo().agent_id)
        return result

    # ------------------------------------------------------------------
    # Console data
    # ------------------------------------------------------------------
    @api.model
    def _console_interactions(self, now):
        interactions = self.sudo().search(
            [("agent_id", "=", self.env.uid), ("state", "in", CONSOLE_INTERACTION_STATES)],
            order="id",
        )
        states = dict(self._fields["state"]._description_selection(self.env))
        channel_types = dict(self._fields["channel_type"]._description_selection(self.env))
        agent = self.env["omnichannel.agent"]._for_user().sudo()
        result = []
        for rec in interactions:
            since = {
                "offered": rec.date_offered,
                "active": rec.date_answered,
                "wrapup": rec.date_ended,
            }[rec.state]
            result.append(
                {
                    "id": rec.id,
                    "name": rec.name,
                    "subject": rec.subject or False,
                    "state": rec.state,
                    "state_label": states[rec.state],
                    "channel_type": rec.channel_type,
                    "channel_label": channel_types.get(rec.channel_type, rec.channel_type),
                    "direction": rec.direction,
                    "partner_id": rec.partner_id.id or False,
                    "partner_name": rec.partner_id.display_name or False,
                    "contact_address": rec.contact_address or False,
                    "queue_id": rec.queue_id.id or False,
                    "queue": rec.queue_id.name or False,
                    "state_seconds": _seconds_between(since or rec.create_date, now),
                    "waiting_seconds": _seconds_between(
                        rec.date_queued or rec.create_date, rec.date_answered or now
                    ),
                    "talk_seconds": _seconds_between(rec.date_answered, rec.date_ended or now)
                    if rec.date_answered
                    else 0,
                    "wrapup_seconds_left": _seconds_between(now, agent.wrapup_until)
                    if rec.state == "wrapup"
                    else 0,
                    "disposition_id": rec.disposition_id.id or False,
                    "notes": rec.notes or "",
                    "case_id": rec.case_id.id or False,
                    "case_name": rec.case_id.display_name or False,
                    "sale_order_id": rec.sale_order_id.id or False,
                    "sale_order_name": rec.sale_order_id.name or False,
                }
            )
        return result

    # ------------------------------------------------------------------
    # Quick actions of the console
    # ------------------------------------------------------------------
    def _check_console_own(self):
        self.ensure_one()
        if self.sudo().agent_id != self.env.user and not self.env.su:
            raise AccessError(_("%(name)s is handled by another agent.", name=self.sudo().name))

    def action_console_new_quotation(self):
        """A new quotation for the customer, linked to this interaction."""
        self._check_console_own()
        if not self.partner_id:
            raise UserError(_("Identify the customer first: this contact has no partner."))
        return {
            "type": "ir.actions.act_window",
            "name": _("New quotation"),
            "res_model": "sale.order",
            "views": [[False, "form"]],
            "target": "current",
            "context": {
                "default_partner_id": self.partner_id.id,
                "default_omnichannel_interaction_ids": [fields.Command.link(self.id)],
            },
        }

    def action_console_promise_to_pay(self):
        """Schedule a "promise to pay" to-do on the interaction (the standard
        activity dialog, prefilled)."""
        self._check_console_own()
        partner = self.partner_id.commercial_partner_id
        note = False
        if partner:
            pop = partner.omnichannel_screen_pop()
            if pop["has_overdue"]:
                amount = f"{pop['overdue_amount']:.2f}"
                currency = pop["currency"]["name"]
                note = _("Overdue: %(amount)s %(currency)s", amount=amount, currency=currency)
        context = {
            "active_model": self._name,
            "active_ids": self.ids,
            "active_id": self.id,
            "default_activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
            "default_summary": _("Promise to pay"),
            "default_date_deadline": fields.Date.to_string(
                fields.Date.context_today(self) + timedelta(days=PROMISE_TO_PAY_DAYS)
            ),
            "default_activity_user_id": self.env.uid,
        }
        if note:
            context["default_note"] = note
        return {
            "type": "ir.actions.act_window",
            "name": _("Promise to pay"),
            "res_model": "mail.activity.schedule",
            "views": [[False, "form"]],
            "target": "new",
            "context": context,
        }

    def action_console_case(self):
        """Open the interaction's case, or a new case for the customer that
        gets linked to this interaction when saved."""
        self._check_console_own()
        if self.case_id:
            return {
                "type": "ir.actions.act_window",
                "res_model": "omnichannel.case",
                "res_id": self.case_id.id,
                "views": [[False, "form"]],
                "target": "current",
            }
        if not self.partner_id:
            raise UserError(_("Identify the customer first: a case belongs to a customer."))
        return {
            "type": "ir.actions.act_window",
            "name": _("New case"),
            "res_model": "omnichannel.case",
            "views": [[False, "form"]],
            "target": "new",
            "context": {
                "default_partner_id": self.partner_id.id,
                "default_subject": self.subject or self.name,
                "default_queue_id": self.queue_id.id,
                "default_interaction_ids": [fields.Command.link(self.id)],
            },
        }

    def action_console_link_case(self, case_id):
        """Link this interaction to one of the customer's open cases."""
        self._check_console_own()
        case = self.env["omnichannel.case"].browse(int(case_id)).exists()
        if not case:
            raise UserError(_("This case no longer exists."))
        if case.sudo().commercial_partner_id != self.sudo().commercial_partner_id:
            raise UserError(_("This case belongs to another customer."))
        self.case_id = case
        return True

    def action_console_email(self):
        """The chatter's e-mail composer, addressed to the customer."""
        self._check_console_own()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send an e-mail"),
            "res_model": "mail.compose.message",
            "views": [[False, "form"]],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_composition_mode": "comment",
                "default_partner_ids": self.partner_id.ids,
                "default_subject": self.subject or self.name,
                "default_subtype_xmlid": "mail.mt_comment",
            },
        }

    def action_console_close(self, disposition_id=False, notes=False):
        """Wrap-up done: save the disposition and notes, close the interaction."""
        self._check_console_own()
        if self.state not in ("active", "wrapup"):
            raise UserError(_("%(name)s is not active or in wrap-up any more.", name=self.name))
        if not disposition_id and self.env["omnichannel.disposition"].search_count([], limit=1):
            raise UserError(_("Choose a disposition: how did the contact end?"))
        vals = {"disposition_id": disposition_id or False}
        if notes is not False:
            vals["notes"] = notes or False
        self.write(vals)
        self.action_close()
        return True
