from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.omnichannel_invitation import KINDS

# the records an agent invites from: the customer, their case, an interaction
INVITING_MODELS = ("res.partner", "omnichannel.case", "omnichannel.interaction")


class OmnichannelInvitationCreate(models.TransientModel):
    """Invite a customer from their contact, case or interaction; shows the link."""

    _name = "omnichannel.invitation.create"
    _description = "Create a contact center invitation link"

    kind = fields.Selection(KINDS, required=True, default="chat")
    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    partner_email = fields.Char(related="partner_id.email")
    case_id = fields.Many2one("omnichannel.case")
    interaction_id = fields.Many2one("omnichannel.interaction")
    user_id = fields.Many2one(
        "res.users",
        string="Agent",
        default=lambda self: self.env.user,
        help="Empty: the session waits in the queue.",
    )
    queue_id = fields.Many2one("omnichannel.queue")
    channel_id = fields.Many2one(
        "omnichannel.channel",
        domain="[('channel_type', 'in', ('chat', 'video'))]",
        help="Empty: the first chat (for a chat) or video (for audio / video) channel.",
    )
    expiry_hours = fields.Integer(
        string="Valid for (hours)",
        default=lambda self: self.env["omnichannel.invitation"]._default_expiry_hours(),
        required=True,
    )
    single_use = fields.Boolean()
    send_email = fields.Boolean(string="Send by e-mail", default=True)
    invitation_id = fields.Many2one("omnichannel.invitation", readonly=True)
    url = fields.Char(related="invitation_id.url")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        record_id = self.env.context.get("active_id")
        if model not in INVITING_MODELS or not record_id:
            return values
        record = self.env[model].browse(record_id).exists()
        if model == "res.partner":
            values["partner_id"] = record.id
        elif model == "omnichannel.case":
            values.update(partner_id=record.partner_id.id, case_id=record.id)
        elif model == "omnichannel.interaction":
            values.update(
                partner_id=record.partner_id.id,
                case_id=record.case_id.id,
                interaction_id=record.id,
            )
        return values

    def action_create(self):
        self.ensure_one()
        if self.expiry_hours <= 0:
            raise UserError(_("The link must be valid for at least one hour."))
        if self.send_email and not self.partner_id.email:
            raise UserError(
                _(
                    "%(partner)s has no e-mail address: untick “Send by e-mail” and copy the "
                    "link instead.",
                    partner=self.partner_id.display_name,
                )
            )
        invitation = self.env["omnichannel.invitation"].create(
            {
                "kind": self.kind,
                "partner_id": self.partner_id.id,
                "case_id": self.case_id.id,
                "interaction_id": self.interaction_id.id,
                "user_id": self.user_id.id,
                "queue_id": self.queue_id.id,
                "channel_id": self.channel_id.id,
                "expiry": fields.Datetime.now() + timedelta(hours=self.expiry_hours),
                "single_use": self.single_use,
            }
        )
        if self.send_email:
            invitation.action_send()
        self.invitation_id = invitation
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Invitation link"),
        }
