import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=10)
KEEP = timedelta(days=1)
# failed link lookups from one address in RATE_WINDOW before it is refused (429)
DEFAULT_MAX_FAILED = 20
MAX_FAILED_PARAM = "omnichannel_cc.invitation_max_failed_attempts"


class OmnichannelInvitationAttempt(models.Model):
    """One request for an invitation link that matched none: the memory of
    the brute-force limiter, kept in PostgreSQL so that every worker and
    server counts the same (as the web form's rate limiter)."""

    _name = "omnichannel.invitation.attempt"
    _description = "Failed invitation link attempt"
    _order = "id desc"
    _log_access = False

    remote_ip = fields.Char(string="Client IP", required=True, readonly=True, index=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)

    @api.model
    def _max_failed(self):
        # sudo: only administrators read system parameters; the limit only
        value = self.env["ir.config_parameter"].sudo().get_param(MAX_FAILED_PARAM)
        try:
            return max(int(value), 0) if value not in (None, False, "") else DEFAULT_MAX_FAILED
        except ValueError:
            return DEFAULT_MAX_FAILED

    @api.model
    def _is_blocked(self, remote_ip):
        """Whether ``remote_ip`` tried too many unknown links lately (the
        limit of ``MAX_FAILED_PARAM``; 0: none). Takes a transaction-level
        advisory lock per address first: concurrent requests of one client
        on several workers count one after the other."""
        limit = self._max_failed()
        if not limit:
            return False
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                f"omnichannel-invitation:{remote_ip}",
            )
        )
        cr.execute(
            SQL(
                """SELECT count(*) FROM omnichannel_invitation_attempt
                    WHERE remote_ip = %s AND date > %s""",
                remote_ip,
                fields.Datetime.now() - RATE_WINDOW,
            )
        )
        failed = cr.fetchone()[0]
        if failed >= limit:
            _logger.info(
                "Invitation links: %s refused after %s unknown links in %s",
                remote_ip,
                failed,
                RATE_WINDOW,
            )
            return True
        return False

    @api.model
    def _record_failure(self, remote_ip):
        # sudo: visitors may not create attempts (the limiter's memory)
        self.sudo().create({"remote_ip": remote_ip})

    @api.autovacuum
    def _gc_old_attempts(self):
        self.env.cr.execute(
            SQL(
                "DELETE FROM omnichannel_invitation_attempt WHERE date < %s",
                fields.Datetime.now() - KEEP,
            )
        )
