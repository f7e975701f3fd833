import base64

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.omnichannel_interaction import FINAL_STATES
from ..tools import address as address_tools
from ..tools import fax as fax_tools

# models whose PDF reports can be faxed, and how to find the record from the wizard
REPORT_MODELS = ("res.partner", "omnichannel.interaction", "account.move", "sale.order")


class OmnichannelFaxSend(models.TransientModel):
    """Send a PDF as a fax: mailed to the channel's e-mail-to-fax gateway."""

    _name = "omnichannel.fax.send"
    _description = "Send a fax"

    interaction_id = fields.Many2one("omnichannel.interaction", ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Customer")
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Fax channel",
        required=True,
        domain=[("channel_type", "=", "fax")],
    )
    fax_number = fields.Char(required=True)
    source = fields.Selection(
        [("attachment", "Attached PDF"), ("report", "Report")],
        required=True,
        default="attachment",
    )
    attachment_id = fields.Many2one("ir.attachment", string="PDF")
    report_id = fields.Many2one(
        "ir.actions.report",
        domain=[("report_type", "=", "qweb-pdf"), ("model", "in", REPORT_MODELS)],
    )
    note = fields.Text(string="Cover note")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        interaction = self.env["omnichannel.interaction"].browse(values.get("interaction_id"))
        partner = self.env["res.partner"].browse(values.get("partner_id")) or interaction.partner_id
        if partner and "partner_id" in fields_list:
            values["partner_id"] = partner.id
        if "channel_id" in fields_list and not values.get("channel_id"):
            channel = (
                interaction.channel_id
                if interaction.channel_type == "fax"
                else self.env["omnichannel.channel"].search([("channel_type", "=", "fax")], limit=1)
            )
            values["channel_id"] = channel.id
        if "fax_number" in fields_list and not values.get("fax_number"):
            if interaction.channel_type == "fax" and interaction.contact_address:
                values["fax_number"] = interaction.contact_address
            elif partner:
                values["fax_number"] = partner.phone or partner.mobile or False
        return values

    # ------------------------------------------------------------------
    def _gateway_address(self):
        """(E.164 number, gateway address); UserError when either is wrong."""
        self.ensure_one()
        channel = self.channel_id
        if not channel.fax_gateway_domain:
            raise UserError(
                _(
                    "Fax channel %(channel)s has no gateway domain: set it under "
                    "Contact Center / Configuration / Channels.",
                    channel=channel.display_name,
                )
            )
        region = (channel.company_id.country_id or self.env.company.country_id).code
        try:
            number = address_tools.normalize_phone(self.fax_number or "", region)
            return number, fax_tools.gateway_address(number, channel.fax_gateway_domain)
        except address_tools.AddressError as error:
            raise UserError(
                _(
                    "%(number)s is not a fax number: give it with its country code, "
                    "e.g. +48 22 123 45 67.",
                    number=self.fax_number or "",
                )
            ) from error

    def _document(self):
        """(file name, PDF bytes) of the chosen document."""
        self.ensure_one()
        if self.source == "attachment":
            attachment = self.attachment_id
            if not attachment or not fax_tools.is_pdf(attachment.name, attachment.mimetype):
                raise UserError(_("Choose a PDF document to fax."))
            return attachment.name, base64.b64decode(attachment.datas or b"")
        report = self.report_id
        if not report:
            raise UserError(_("Choose a report to fax."))
        records = {
            "res.partner": self.partner_id,
            "omnichannel.interaction": self.interaction_id,
            "account.move": self.interaction_id.invoice_id,
            "sale.order": self.interaction_id.sale_order_id,
        }.get(report.model)
        if not records:
            raise UserError(
                _("Report %(report)s needs a record this fax is not linked to.", report=report.name)
            )
        content, _kind = self.env["ir.actions.report"]._render_qweb_pdf(report, records.ids)
        return f"{report.name} - {records.display_name}.pdf".replace("/", "-"), content

    def _outbound_interaction(self, number):
        """The outbound fax interaction: the open one this wizard runs on, or a new one."""
        self.ensure_one()
        source = self.interaction_id
        if (
            source
            and source.direction == "outbound"
            and source.channel_id == self.channel_id
            and source.state not in FINAL_STATES
        ):
            return source
        now = fields.Datetime.now()
        # the fax is sent: the agent's interaction is created done (times included)
        return self.env["omnichannel.interaction"]._create_trusted(
            {
                "channel_id": self.channel_id.id,
                "company_id": self.channel_id.company_id.id,
                "direction": "outbound",
                "partner_id": self.partner_id.id or source.partner_id.id,
                "contact_address": number,
                "subject": _("Fax to %(number)s", number=number),
                "queue_id": self.channel_id.queue_id.id,
                "agent_id": self.env.uid,
                "case_id": source.case_id.id,
                "state": "done",
                "date_answered": now,
                "date_ended": now,
                "date_closed": now,
            }
        )

    def action_send(self):
        self.ensure_one()
        number, gateway_to = self._gateway_address()
        filename, content = self._document()
        interaction = self._outbound_interaction(number)
        attachment = self.env["ir.attachment"].create(
            {
                "name": filename,
                "raw": content,
                "mimetype": "application/pdf",
                "res_model": interaction._name,
                "res_id": interaction.id,
            }
        )
        subject = _("Fax to %(number)s", number=number)
        body = Markup("<p>%s</p>") % (self.note or subject)
        channel = self.channel_id
        email_from = channel.alias_email or self.env.user.email_formatted
        # sudo: agents may not create outgoing mails; this one goes to the fax gateway only
        (
            self.env["mail.mail"]
            .sudo()
            .create(
                {
                    "subject": subject,
                    "body_html": body,
                    "email_to": gateway_to,
                    "email_from": email_from,
                    "attachment_ids": [fields.Command.link(attachment.id)],
                    "model": interaction._name,
                    "res_id": interaction.id,
                    "auto_delete": False,
                }
            )
        )
        interaction.message_post(
            body=_(
                "Fax %(file)s sent to %(number)s through %(gateway)s.",
                file=filename,
                number=number,
                gateway=gateway_to,
            ),
            attachment_ids=attachment.ids,
            subtype_xmlid="mail.mt_note",
        )
        if self.interaction_id and self.interaction_id != interaction:
            self.interaction_id.message_post(
                body=_(
                    "Fax %(file)s sent to %(number)s: %(link)s.",
                    file=filename,
                    number=number,
                    link=interaction._get_html_link(),
                ),
                subtype_xmlid="mail.mt_note",
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": interaction._name,
            "res_id": interaction.id,
            "view_mode": "form",
            "target": "current",
        }
