"""Pictures and files customers send by MMS (Twilio), fetched after the commit.

A received MMS lists its files' URLs; they are queued here by the inbound
callback and downloaded by a scheduled action (triggered when the callback
commits, retried a few times): no HTTP call inside the gateway's request,
each download bounded in size and time. A file becomes an attachment of the
customer's message in the interaction's chatter.
"""

import logging
import mimetypes
import threading
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.tools import upload as upload_tools

from ..tools import sms_providers

_logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BATCH = 20
RETRY_DELAY = timedelta(minutes=1)


class OmnichannelSmsMedia(models.Model):
    _name = "omnichannel.sms.media"
    _description = "File of a received MMS, to download"
    _order = "id"

    interaction_id = fields.Many2one(
        "omnichannel.interaction", required=True, ondelete="cascade", index=True
    )
    channel_id = fields.Many2one("omnichannel.channel", required=True, ondelete="cascade")
    message_id = fields.Many2one("mail.message", required=True, ondelete="cascade")
    url = fields.Char(required=True)
    content_type = fields.Char()
    state = fields.Selection(
        [("pending", "To download"), ("done", "Downloaded"), ("failed", "Failed")],
        default="pending",
        required=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True)
    error = fields.Char(readonly=True)
    attachment_id = fields.Many2one("ir.attachment", ondelete="set null", readonly=True)

    @api.model
    def _queue(self, interaction, channel, message, media):
        """Queue an MMS's files (``sms_providers.Media``) of ``message``."""
        if not media:
            return self.browse()
        # sudo: only administrators create media downloads; the inbound MMS queues its files
        records = self.sudo().create(
            [
                {
                    "interaction_id": interaction.id,
                    "channel_id": channel.id,
                    "message_id": message.id,
                    "url": item.url,
                    "content_type": item.content_type or False,
                }
                for item in media
            ]
        )
        # sudo: only administrators write crons; a trigger only runs the download sooner
        self.env.ref("omnichannel_cc_sms.ir_cron_sms_media").sudo()._trigger()
        return records

    @api.model
    def _cron_download(self):
        """Scheduled action: download the pending files, a batch at a time."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM omnichannel_sms_media
                    WHERE state = 'pending' ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                BATCH,
            )
        )
        records = self.browse([row[0] for row in self.env.cr.fetchall()])
        for record in records:
            record._download()
            if auto_commit:
                self.env.cr.commit()
        if len(records) == BATCH:
            self.env.ref("omnichannel_cc_sms.ir_cron_sms_media")._trigger()
        return len(records)

    def _download(self):
        self.ensure_one()
        interaction = self.interaction_id
        try:
            adapter = self.channel_id._sms_adapter()
            content, content_type = adapter.download_media(
                sms_providers.Media(self.url, self.content_type or "")
            )
        except sms_providers.ProviderError as error:
            attempts = self.attempts + 1
            failed = attempts >= MAX_ATTEMPTS
            self.write(
                {
                    "attempts": attempts,
                    "error": error.message[:250],
                    "state": "failed" if failed else "pending",
                }
            )
            if failed:
                interaction._sms_note(
                    _(
                        "A file the customer sent by MMS could not be downloaded: %(error)s",
                        error=error.message,
                    )
                )
            else:
                self.env.ref("omnichannel_cc_sms.ir_cron_sms_media")._trigger(
                    fields.Datetime.now() + RETRY_DELAY
                )
            return False
        # the content has the last word: no HTML, SVG or program is kept,
        # whatever the gateway calls it
        claimed = content_type or self.content_type or ""
        content_type = upload_tools.received_media_type(content, claimed)
        if not content_type:
            reason = _(
                "this type of file is not accepted (%(type)s): pictures, sound, video,"
                " PDF, office documents and plain text only",
                type=claimed or _("unknown"),
            )
            self.write({"attempts": self.attempts + 1, "error": reason[:250], "state": "failed"})
            interaction._sms_note(
                _("A file the customer sent by MMS was not kept: %(reason)s", reason=reason)
            )
            return False
        # sudo: the cron's download attaches the file to an interaction it may not write
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": _media_filename(self.id, content_type),
                    "raw": content,
                    "mimetype": content_type,
                    "res_model": interaction._name,
                    "res_id": interaction.id,
                }
            )
        )
        # sudo: the customer's message gets its file; users may write only their own messages
        self.message_id.sudo().write({"attachment_ids": [fields.Command.link(attachment.id)]})
        self.write({"state": "done", "attempts": self.attempts + 1, "attachment_id": attachment.id})
        return True


def _media_filename(media_id, content_type):
    extension = mimetypes.guess_extension(content_type or "") or ""
    return f"mms-{media_id}{extension}"
