from markupsafe import Markup, escape

from odoo import _, api, models
from odoo.exceptions import ValidationError


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    @api.model
    def _webform_partner(self, name, email, phone):
        """The customer by e-mail, then phone; a new contact when unknown."""
        Partner = self.env["res.partner"]
        for address, kind in ((email, "email"), (phone, "phone")):
            if address:
                matches = Partner.omnichannel_identify(address, channel_type=kind)
                if matches:
                    return Partner.browse(matches[0]["id"])
        return Partner.create(
            {
                "name": name or email or phone,
                "email": email or False,
                "phone": phone or False,
            }
        )

    @api.model
    def _webform_body(self, submission, email, phone):
        rows = [
            (_("Name"), submission.name),
            (_("E-mail"), email),
            (_("Phone"), phone),
            (_("Subject"), submission.subject),
        ]
        if submission.callback_at:
            rows.append((_("Call me back at (UTC)"), str(submission.callback_at)[:16]))
        table = Markup("").join(
            Markup("<tr><th>%s</th><td>%s</td></tr>") % (label, value)
            for label, value in rows
            if value
        )
        message = escape(submission.message).replace("\n", Markup("<br/>"))
        return Markup('<table class="o_omnichannel_webform_fields">%s</table><p>%s</p>') % (
            table,
            message,
        )

    @api.model
    def _webform_receive(self, channel, nonce, submission, email, phone):
        """The interaction of one checked submission, created and routed once:
        the form token's nonce is its external id, so a form sent twice gives
        one interaction. Returns ``(interaction, created)``."""
        external_id = f"form-{nonce}"
        return self._inbound_once(
            channel,
            external_id,
            lambda: self._webform_create(channel, external_id, submission, email, phone),
        )

    @api.model
    def _webform_create(self, channel, external_id, submission, email, phone):
        """The interaction of one web form submission (not routed yet):
        fields in the chatter, files attached, call-back requested if asked.

        The files are the submission's checked uploads: their base names and
        the types of their extensions, never the browser's.
        """
        partner = self._webform_partner(submission.name, email, phone)
        interaction = self.create(
            {
                "channel_id": channel.id,
                "company_id": channel.company_id.id,
                "direction": "inbound",
                "external_id": external_id,
                "contact_address": email or phone,
                "subject": submission.subject or _("Web form: %(form)s", form=channel.name),
                "partner_id": partner.id,
                "queue_id": channel.queue_id.id,
                "state": "queued",
            }
        )
        attachments = self.env["ir.attachment"].create(
            [
                {
                    "name": upload.filename,
                    "raw": upload.content,
                    "mimetype": upload.mimetype,
                    "res_model": self._name,
                    "res_id": interaction.id,
                }
                for upload in submission.uploads
            ]
        )
        interaction.message_post(
            body=self._webform_body(submission, email, phone),
            author_id=partner.id,
            email_from=partner.email_formatted or email or phone,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachment_ids=attachments.ids,
        )
        if submission.callback_at and phone:
            try:
                self.env["omnichannel.callback"]._request(
                    phone,
                    channel.queue_id,
                    "webform",
                    partner=partner,
                    channel=channel.webform_callback_channel_id,
                    when=submission.callback_at,
                    origin=interaction,
                    notes=submission.subject or submission.message[:500],
                )
            except ValidationError as error:
                # the message itself is kept; the agent sees why nobody calls back
                interaction.message_post(
                    body=_("Call-back not scheduled: %(error)s", error=error.args[0]),
                    subtype_xmlid="mail.mt_note",
                )
        return interaction
