from odoo import _, fields, models
from odoo.exceptions import UserError, ValidationError

from .omnichannel_channel import PHONE_CHANNEL_TYPES

# the outbound call did not reach the customer
NOT_REACHED_STATES = ("missed", "abandoned")
REACHED_STATES = ("done", "transferred")  # transferred: an agent was talking to them
NO_ANSWER_OUTCOMES = ("no_contact",)


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    callback_id = fields.Many2one(
        "omnichannel.callback",
        string="Call-back",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The call-back request this outbound call is an attempt of.",
    )
    callback_request_ids = fields.One2many(
        "omnichannel.callback", "origin_interaction_id", string="Call-back requests"
    )

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals or "disposition_id" in vals:
            self._callback_attempt_outcome()
        return result

    def _callback_attempt_outcome(self):
        """An outbound call-back attempt ended: done when the customer was
        reached, retried (or failed) when not."""
        for rec in self.sudo().filtered(lambda i: i.callback_id and i.direction == "outbound"):
            if rec.state in NOT_REACHED_STATES:
                reached = False
            elif rec.state in REACHED_STATES or (rec.state == "wrapup" and rec.disposition_id):
                reached = rec.disposition_id.outcome not in NO_ANSWER_OUTCOMES
            else:
                continue
            rec.callback_id._attempt_ended(rec, reached)

    def _callback_phone(self):
        """The number to call back: the caller's number, else the customer's."""
        self.ensure_one()
        if self.channel_id.channel_type in PHONE_CHANNEL_TYPES and self.contact_address:
            return self.contact_address
        partner = self.partner_id
        return partner.mobile_e164 or partner.phone_e164 or partner.mobile or partner.phone

    def _callback_source(self):
        self.ensure_one()
        if self.end_reason == "closed":
            return "queue_closed"
        if self.end_reason == "overflow":
            return "queue_overflow"
        return {"phone": "pbx", "chat": "chat", "webform": "webform"}.get(
            self.channel_type, "manual"
        )

    def _schedule_callback(self, note):
        """A call-back request (``omnichannel.callback``) the cron turns into an
        outbound call; a plain call task only when there is no number to call
        or no phone line to call from."""
        self.ensure_one()
        phone = self._callback_phone()
        queue = self.queue_id or self.channel_id.queue_id
        if phone and queue:
            try:
                return self.env["omnichannel.callback"]._request(
                    phone,
                    queue,
                    self._callback_source(),
                    partner=self.partner_id,
                    channel=self.channel_id,
                    origin=self,
                    notes=note,
                )
            except ValidationError as error:
                self.message_post(
                    body=_("No call-back request: %(error)s", error=error.args[0]),
                    subtype_xmlid="mail.mt_note",
                )
        return super()._schedule_callback(note)

    def _cancel_callbacks(self):
        """The customer was reached after all (e.g. a late PBX answer)."""
        self.sudo().callback_request_ids.filtered(lambda c: c.state == "pending").action_cancel()
        self.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("mail.mail_activity_data_call")
        ).unlink()

    def action_request_callback(self):
        """Button: ask for a call-back of this customer now, then open it."""
        self.ensure_one()
        phone = self._callback_phone()
        if not phone:
            raise UserError(_("This customer has no phone number to call back."))
        callback = self.env["omnichannel.callback"]._request(
            phone,
            self.queue_id or self.channel_id.queue_id,
            "manual",
            partner=self.partner_id,
            channel=self.channel_id,
            origin=self,
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.callback",
            "res_id": callback.id,
            "view_mode": "form",
            "target": "current",
        }
