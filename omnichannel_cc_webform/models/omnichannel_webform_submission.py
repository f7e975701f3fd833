import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import webform

_logger = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=10)
KEEP = timedelta(days=30)


class OmnichannelWebformSubmission(models.Model):
    """One accepted web form submission: the rate limiter's memory, kept in
    PostgreSQL so that every worker and server counts the same."""

    _name = "omnichannel.webform.submission"
    _description = "Web form submission"
    _order = "id desc"
    _log_access = False

    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="channel_id.company_id", store=True)
    remote_ip = fields.Char(string="Client IP", required=True, readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    interaction_id = fields.Many2one("omnichannel.interaction", ondelete="set null", readonly=True)

    def init(self):
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_webform_submission_ip_date_idx
                   ON omnichannel_webform_submission (remote_ip, date)"""
        )
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_webform_submission_channel_date_idx
                   ON omnichannel_webform_submission (channel_id, date)"""
        )

    @api.model
    def _recent_counts(self, channel, remote_ip, now=None):
        """(submissions from this IP, submissions to this channel) in the window.

        Takes a transaction-level advisory lock per IP first: concurrent posts
        from one client on several workers count one after the other.
        """
        now = now or fields.Datetime.now()
        cr = self.env.cr
        cr.execute(
            SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", f"omnichannel-webform:{remote_ip}")
        )
        since = now - RATE_WINDOW
        cr.execute(
            SQL(
                """SELECT count(*) FILTER (WHERE remote_ip = %s),
                          count(*) FILTER (WHERE channel_id = %s)
                     FROM omnichannel_webform_submission
                    WHERE date > %s AND (remote_ip = %s OR channel_id = %s)""",
                remote_ip,
                channel.id,
                since,
                remote_ip,
                channel.id,
            )
        )
        return cr.fetchone()

    @api.model
    def _check_rate(self, channel, remote_ip):
        """FormError(429) when this client or this form has sent too many
        submissions lately (the channel's limits; 0: none)."""
        by_ip, by_channel = self._recent_counts(channel, remote_ip)
        refusal = webform.rate_limited(
            by_ip, by_channel, channel.webform_rate_ip, channel.webform_rate_channel
        )
        if refusal:
            _logger.info(
                "Web form %s: rate limit for %s (%s from IP, %s for the form)",
                channel.address_normalized,
                remote_ip,
                by_ip,
                by_channel,
            )
            raise webform.FormError(429, refusal)

    @api.autovacuum
    def _gc_old_submissions(self):
        self.env.cr.execute(
            SQL(
                "DELETE FROM omnichannel_webform_submission WHERE date < %s",
                fields.Datetime.now() - KEEP,
            )
        )
