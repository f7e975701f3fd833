"""Odoo's SMS queue, sent per message through its channel's gateway.

An ``sms.sms`` of an SMS channel whose provider is not Odoo IAP is sent by
the channel's adapter (``tools/sms_providers.py``), and only by the queue's
scheduled action (``sms.ir_cron_sms_scheduler_action``), which reads
committed messages: wherever Odoo would send at once (composer, chatter,
resend), the message stays queued and the action is triggered to run after
the commit. Nothing leaves Odoo from a transaction that can still roll back.

The results are applied as Odoo's ``sms.sms._send`` applies IAP's:
accepted → state ``pending`` (Sent), refused → ``error`` with a failure
type, the ``sms.tracker`` updating the chatter's notification; delivery
reports move them on (``_omnichannel_apply_reports``).

Works on the 18.0 release installed here (``_send`` hard-wires ``SmsApi``)
and on later 18.0 releases (``send`` splits by ``_split_by_api`` and calls
``_send`` per API with ``sms_api`` in the context): the split happens in
``_send`` either way, before any API is used.
"""

import logging
import threading

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import sms_encoding, sms_providers
from .omnichannel_channel import STATUS_PATH

_logger = logging.getLogger(__name__)

# context keys: the queue's cron is sending; the channel of new messages
QUEUE_CONTEXT = "omnichannel_sms_queue"
CHANNEL_CONTEXT = "omnichannel_sms_channel_id"
# order of the states a report may move a message through
STATE_ORDER = ("outgoing", "process", "pending", "sent")


class SmsSms(models.Model):
    _inherit = "sms.sms"

    omnichannel_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="SMS channel",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The contact center channel whose gateway sends this SMS (empty: Odoo IAP).",
    )
    omnichannel_provider_id = fields.Char(
        string="Gateway message id", index="btree_not_null", readonly=True, copy=False
    )
    omnichannel_error = fields.Char(string="Gateway error", readonly=True, copy=False)
    failure_type = fields.Selection(
        selection_add=[
            ("sms_expired", "Expired"),
            ("sms_invalid_destination", "Invalid Destination"),
            ("sms_not_allowed", "Not Allowed"),
            ("sms_not_delivered", "Not Delivered"),
            ("sms_rejected", "Rejected"),
        ]
    )

    @api.model_create_multi
    def create(self, vals_list):
        channel_id = self.env.context.get(CHANNEL_CONTEXT)
        for vals in vals_list:
            if "omnichannel_channel_id" not in vals:
                vals["omnichannel_channel_id"] = channel_id or self._omnichannel_channel_of(
                    vals.get("mail_message_id")
                )
        records = super().create(vals_list)
        # the queue sends them soon (a gateway's only from there)
        if records.filtered(lambda sms: sms.state == "outgoing" and sms.omnichannel_channel_id):
            self._omnichannel_trigger_queue()
        return records

    @api.model
    def _omnichannel_channel_of(self, message_id):
        """The channel an SMS posted on an interaction goes through (see
        ``omnichannel.interaction._sms_channel``), or False."""
        if not message_id:
            return False
        # sudo: the queue is the system's; only the message's record is read
        message = self.env["mail.message"].sudo().browse(message_id)
        if message.model != "omnichannel.interaction" or not message.res_id:
            return False
        # sudo: only the interaction's channel is read, whoever's queue sends the SMS
        interaction = self.env["omnichannel.interaction"].sudo().browse(message.res_id).exists()
        return interaction._sms_channel().id if interaction else False

    def _omnichannel_gateway(self):
        """The messages of these sent by one of our gateways (not IAP)."""
        return self.filtered(
            lambda sms: (
                sms.omnichannel_channel_id and sms.omnichannel_channel_id._sms_uses_gateway()
            )
        )

    @api.model
    def _omnichannel_trigger_queue(self):
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action", raise_if_not_found=False)
        if cron:
            # sudo: anyone who queues an SMS wakes the queue (a trigger, nothing else)
            cron.sudo()._trigger()

    @api.model
    def _process_queue(self, *args, **kwargs):
        """The scheduled action: the only place gateway messages are sent."""
        return super(SmsSms, self.with_context(**{QUEUE_CONTEXT: True}))._process_queue(
            *args, **kwargs
        )

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        gateway = self._omnichannel_gateway()
        others = self - gateway
        result = None
        if others:
            result = super(SmsSms, others)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        if gateway:
            if self.env.context.get(QUEUE_CONTEXT):
                gateway._omnichannel_send(unlink_failed=unlink_failed, unlink_sent=unlink_sent)
            else:
                # a request, a resend: leave them queued, the cron sends after the commit
                gateway._omnichannel_trigger_queue()
        return result

    # ------------------------------------------------------------------
    # Sending through a gateway
    # ------------------------------------------------------------------
    def _omnichannel_send(self, unlink_failed=False, unlink_sent=True):
        """Send each message through its channel's adapter and record the
        outcome. Outside tests each outcome is committed at once: a crash
        then sends at most the message in flight twice."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        base_url = self[:1].get_base_url() if self else ""
        for channel, messages in self.grouped("omnichannel_channel_id").items():
            adapter = channel._sms_adapter()
            # sudo: the URL token is manager-only; it goes to the gateway only
            token = channel.sudo().sms_token
            status_url = base_url + STATUS_PATH.format(token=token) if token else ""
            for sms in messages:
                if sms.state != "outgoing" or sms.to_delete:
                    continue
                if not sms.number:
                    result = sms_providers.SendResult(sms.uuid, failure_type="sms_number_missing")
                else:
                    body = sms.body or ""
                    if channel.sms_transliterate:
                        body = sms_encoding.transliterate(body)
                    # locked until the outcome is committed: a delivery report
                    # overtaking the gateway's answer waits, then is retried
                    # (see _omnichannel_apply_reports) instead of making this
                    # transaction fail and the message leave again
                    sms._omnichannel_lock()
                    result = adapter.send(
                        sms_providers.Outgoing(sms.uuid, sms.number, body, status_url)
                    )
                _logger.info(
                    "SMS %s through %s (%s): %s",
                    sms.id,
                    channel.display_name,
                    channel.sms_provider,
                    result.provider_id if result.ok else f"{result.failure_type} {result.reason}",
                )
                sms._omnichannel_record_send(
                    result, unlink_failed=unlink_failed, unlink_sent=unlink_sent
                )
                if auto_commit:
                    self.env.cr.commit()

    def _omnichannel_record_send(self, result, unlink_failed=False, unlink_sent=True):
        """Apply one send's result as Odoo's ``_send`` applies IAP's."""
        self.ensure_one()
        # sudo: the queue and its trackers are the system's (as Odoo's _send writes them)
        sms = self.sudo().with_context(sms_skip_msg_notification=True)
        tracker = sms.sms_tracker_id
        if tracker:
            tracker.write(
                {
                    "omnichannel_channel_id": sms.omnichannel_channel_id.id,
                    "omnichannel_provider_id": result.provider_id or False,
                }
            )
        if result.ok:
            tracker._action_update_from_sms_state("pending")
            vals = {"state": "pending", "failure_type": False, "omnichannel_error": False}
            if unlink_sent:
                vals["to_delete"] = True
        else:
            failure_type = result.failure_type
            if failure_type == "unknown":
                tracker._action_update_from_provider_error(result.reason or "unknown")
            else:
                tracker._action_update_from_sms_state(
                    "error", failure_type=failure_type, failure_reason=result.reason or False
                )
            vals = {
                "state": "error",
                "failure_type": failure_type,
                "omnichannel_error": result.reason or False,
            }
            if unlink_failed:
                vals["to_delete"] = True
        vals["omnichannel_provider_id"] = result.provider_id or False
        sms.write(vals)
        sms.mail_message_id._notify_message_notification_update()
        self._omnichannel_notify_consoles(sms.mail_message_id)

    @api.model
    def _omnichannel_notify_consoles(self, messages):
        """Reload the consoles of the agents of these messages' interactions
        (the state of an SMS shows there)."""
        ids = [m.res_id for m in messages if m.model == "omnichannel.interaction" and m.res_id]
        if ids:
            # sudo: the interactions' agents only, read by the queue or a gateway's callback
            self.env["omnichannel.interaction"].sudo().browse(ids).exists()._sms_notify_console()

    # ------------------------------------------------------------------
    # Delivery reports
    # ------------------------------------------------------------------
    def _omnichannel_lock(self):
        """Lock these messages' rows until the end of the transaction."""
        if self.ids:
            self.env.cr.execute(
                SQL("SELECT id FROM sms_sms WHERE id IN %s FOR UPDATE", tuple(self.ids))
            )

    @api.model
    def _omnichannel_apply_reports(self, channel, reports):
        """Record a gateway's delivery reports (``sms_providers.Status``) on
        the messages of ``channel``: the ``sms.sms`` while it exists, its
        tracker (and so the chatter's notification) always. Reports never
        take a message back (delivered stays delivered)."""
        result = {"statuses": 0, "unknown": 0, "ignored": 0}
        for report in reports:
            if report.state is None:
                result["ignored"] += 1
                continue
            sms, tracker = self._omnichannel_find_reported(channel, report)
            if not sms and not tracker:
                result["unknown"] += 1
                continue
            # waits while the queue sends this message; once its outcome is
            # committed this request fails to serialize and Odoo retries it
            sms._omnichannel_lock()
            self._omnichannel_apply_report(report, sms, tracker)
            # sudo: the reported SMS's message, only to reload its agents' consoles
            self._omnichannel_notify_consoles(tracker.mail_notification_id.mail_message_id.sudo())
            result["statuses"] += 1
        return result

    @api.model
    def _omnichannel_find_reported(self, channel, report):
        """(sms.sms, sms.tracker) a report designates within ``channel``."""
        # sudo: the queue and its trackers are the system's; the channel was authenticated
        Sms = self.sudo().with_context(active_test=False)
        # sudo: only administrators read SMS trackers; only this channel's are looked up
        Tracker = self.env["sms.tracker"].sudo()
        sms = Sms.browse()
        if report.uuid:
            sms = Sms.search(
                [("uuid", "=", report.uuid), ("omnichannel_channel_id", "=", channel.id)], limit=1
            )
        if not sms and report.provider_id:
            sms = Sms.search(
                [
                    ("omnichannel_provider_id", "=", report.provider_id),
                    ("omnichannel_channel_id", "=", channel.id),
                ],
                limit=1,
            )
        if sms:
            return sms, sms.sms_tracker_id
        keys = [key for key in (report.uuid, report.provider_id) if key]
        tracker = Tracker.search(
            [
                ("omnichannel_channel_id", "=", channel.id),
                "|",
                ("sms_uuid", "in", keys),
                ("omnichannel_provider_id", "in", keys),
            ],
            limit=1,
        )
        return sms, tracker

    @api.model
    def _omnichannel_apply_report(self, report, sms, tracker):
        if report.state == sms_providers.ERROR:
            failure_type = f"sms_{report.failure}" if report.failure else "unknown"
            status = "bounce" if failure_type in self.BOUNCE_DELIVERY_ERRORS else "exception"
            tracker._update_sms_notifications(
                status, failure_type=failure_type, failure_reason=report.reason or False
            )
            # a message still queued is the cron's, which records its send
            if sms and sms.state != "outgoing":
                sms.write(
                    {
                        "state": "error",
                        "failure_type": failure_type,
                        "omnichannel_error": report.reason or False,
                        "to_delete": True,
                    }
                )
            return
        tracker._action_update_from_sms_state(report.state)
        if (
            sms
            and sms.state in STATE_ORDER[1:]
            and STATE_ORDER.index(report.state) > STATE_ORDER.index(sms.state)
        ):
            vals = {"state": report.state}
            if report.state == "sent":
                vals["to_delete"] = True
            sms.write(vals)
