"""PBX commands: AMI actions that leave Odoo only after their transaction commits.

A click-to-dial or a listen-in writes a command in the request's
transaction and sends nothing. A postcommit hook sends it after the COMMIT,
outside any transaction, in three steps: claim (its own transaction,
committed before the PBX is contacted), the AMI exchange (with timeouts),
the outcome (its own transaction: the chatter and the requesting user's
notifications say it). So:

- a rollback drops the command and its hook together: nothing is sent;
- a request Odoo retries after a serialization failure sends only the
  command of its committed try (the failed try's row and hook are gone);
- the claim is a conditional UPDATE: a command is sent at most once, even
  if its hook ran twice or raced the expiry cron;
- the ``key`` (one unfinished command per key: partial unique index, claimed
  with ``INSERT ... ON CONFLICT DO NOTHING``) makes the same request made
  twice while the first is on its way (a double click, two workers) one
  call.

A command still unsent after ``STALE_SECONDS`` (the worker died between
the commit and the send) is never sent: a desk phone ringing minutes after
the click would surprise the agent. It fails and the agent is told.
"""

import json
import logging
import time
from datetime import timedelta

import requests

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, index_exists

from odoo.addons.omnichannel_cc.tools import signature

from ..tools import ami

_logger = logging.getLogger(__name__)

COMMAND_STATES = [
    ("pending", "Waiting for the commit"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("failed", "Failed"),
]
COMMAND_TRANSITIONS = {
    "pending": ("sending", "failed"),
    "sending": ("sent", "failed"),
    "sent": (),
    "failed": (),
}
UNFINISHED = ("pending", "sending")
KINDS = [
    ("dial", "Click-to-dial"),
    ("listen", "Listen in"),
    ("whisper", "Whisper"),
    ("barge", "Barge in"),
    ("campaign_dial", "Campaign call"),
    ("campaign_hangup", "Campaign hang-up"),
]
# kinds of the campaign dialer: no user to tell of a failure (the call's attempt says it)
DIALER_KINDS = ("campaign_dial", "campaign_hangup")
# the transaction's commands to send once it commits (cr.postcommit.data)
POSTCOMMIT_KEY = "omnichannel_cc_voip.commands"
# a command not sent within this delay never will be
STALE_SECONDS = 120
# seconds allowed for each step of the AMI exchange (connect, each answer):
# the request's answer leaves once the hook is done, keep it short
AMI_TIMEOUT = 3
RECORD_TRIES = 3


def _in_transaction(registry, func):
    """``func(env)`` in a transaction of its own (OdooBot), retried on
    concurrency errors: a new snapshot sees what the concurrent one did."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with registry.cursor() as cr:
                return func(api.Environment(cr, SUPERUSER_ID, {}))
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            if attempt == RECORD_TRIES:
                raise
            time.sleep(0.1 * attempt)


def voip_send_commands(registry, command_ids):
    """Send the commands ``command_ids`` still pending, outside any
    transaction; returns how many were tried. Never raises (a postcommit
    hook runs after the request's answer is decided): what cannot be
    recorded is logged, and the expiry cron closes what stays unfinished."""
    try:
        jobs = _in_transaction(
            registry, lambda env: env["omnichannel.voip.command"].browse(command_ids)._claim()
        )
    except Exception:
        _logger.exception("Cannot claim the PBX commands %s", command_ids)
        return 0
    for job in jobs:
        error = job["error"]
        if not error and job.get("http"):
            error = _http_send(job)
        elif not error:
            try:
                with ami.AmiClient(**job["ami"], timeout=AMI_TIMEOUT) as client:
                    client.action(job["action"], **job["fields"])
            except ami.AmiError as ami_error:
                error = str(ami_error)
            except Exception as unexpected:
                _logger.exception("PBX command %s failed unexpectedly", job["id"])
                error = f"unexpected error, check on the PBX whether it was done: {unexpected}"
        try:
            _in_transaction(
                registry,
                lambda env, job=job, error=error: (
                    env["omnichannel.voip.command"].browse(job["id"])._record(error)
                ),
            )
        except Exception:
            _logger.exception(
                "Cannot record the outcome of PBX command %s (error: %s)", job["id"], error
            )
    return len(jobs)


def _http_send(job):
    """POST a dial command to a PBX that is not driven over AMI; the error, or None."""
    body = json.dumps(job["fields"], separators=(",", ":")).encode()
    try:
        response = requests.post(
            job["http"]["url"],
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Omnichannel-Signature": signature.sign(job["http"]["secret"], body),
            },
            timeout=AMI_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as http_error:
        return f"the PBX could not be reached: {http_error}"
    if not 200 <= response.status_code < 300:
        return f"the PBX answered HTTP {response.status_code}: {response.text[:200]}"
    return None


def _send_after_commit(registry, command_ids):
    try:
        voip_send_commands(registry, command_ids)
    except Exception:
        # logged, never raised: the request is committed, its answer stands
        _logger.exception("Sending the PBX commands %s after the commit failed", command_ids)


class OmnichannelVoipCommand(models.Model):
    _name = "omnichannel.voip.command"
    _inherit = ["omnichannel.state.mixin"]
    _description = "PBX command (sent after commit)"
    _order = "id desc"
    _state_transitions = COMMAND_TRANSITIONS

    key = fields.Char(
        required=True,
        readonly=True,
        help="At most one unfinished command per key: the same request made twice while "
        "the first is on its way places one call.",
    )
    kind = fields.Selection(KINDS, required=True, readonly=True)
    channel_id = fields.Many2one(
        "omnichannel.channel", string="Channel", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="Interaction",
        readonly=True,
        index="btree_not_null",
        ondelete="cascade",
    )
    user_id = fields.Many2one(
        "res.users", string="Requested by", required=True, readonly=True, ondelete="cascade"
    )
    ami_action = fields.Char(string="AMI action", readonly=True)
    ami_fields = fields.Json(string="AMI fields", readonly=True)
    transport = fields.Selection(
        [("ami", "AMI"), ("http", "Signed HTTP")],
        default="ami",
        readonly=True,
        help="AMI: an action sent to Asterisk; signed HTTP: the JSON body (AMI fields) "
        "POSTed to the channel's dial URL.",
    )
    state = fields.Selection(
        COMMAND_STATES, required=True, default="pending", readonly=True, index=True
    )
    error = fields.Text(readonly=True)
    date_sent = fields.Datetime(string="Sent on", readonly=True)

    def init(self):
        super().init()
        # the guard of the key: concurrent inserts of one key wait for each other
        indexname = "omnichannel_voip_command_unfinished_key_uniq"
        if not index_exists(self.env.cr, indexname):
            self.env.cr.execute(
                SQL(
                    "CREATE UNIQUE INDEX %s ON %s (key) WHERE state IN ('pending', 'sending')",
                    SQL.identifier(indexname),
                    SQL.identifier(self._table),
                )
            )

    # ------------------------------------------------------------------
    # In the requesting transaction
    # ------------------------------------------------------------------
    @api.model
    def _enqueue(self, key, kind, channel, user):
        """A new pending command of ``user`` on ``channel``, sent once this
        transaction commits (give it its action with :meth:`_prepare`);
        empty when an unfinished command already holds ``key``.

        One statement claims the key: a key committed concurrently raises a
        serialization failure, Odoo retries the request, the retry sees it.
        """
        self._expire(key=key)
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """INSERT INTO omnichannel_voip_command
                          (key, kind, channel_id, company_id, user_id, state,
                           create_uid, create_date, write_uid, write_date)
                   VALUES (%s, %s, %s, %s, %s, 'pending',
                           %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC')
                   ON CONFLICT (key) WHERE state IN ('pending', 'sending') DO NOTHING
                   RETURNING id""",
                key,
                kind,
                channel.id,
                channel.company_id.id,
                user.id,
                self.env.uid,
                self.env.uid,
            ),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        if not row:
            return self.browse()
        command = self.browse(row[0])
        command._send_after_commit()
        return command

    def _prepare(self, interaction, action):
        """What the command sends: ``action`` is ``(name, fields)`` from
        ``tools/ami.py`` (already checked), about ``interaction``."""
        self.ensure_one()
        name, ami_fields = action
        self.write({"interaction_id": interaction.id, "ami_action": name, "ami_fields": ami_fields})

    def _send_after_commit(self):
        postcommit = self.env.cr.postcommit
        # one hook per transaction for all its commands; a rollback clears both
        pending = postcommit.data.setdefault(POSTCOMMIT_KEY, [])
        if not pending:
            registry = self.env.registry
            postcommit.add(lambda: _send_after_commit(registry, pending))
        pending.extend(self.ids)

    # ------------------------------------------------------------------
    # After the commit (each in a transaction of its own)
    # ------------------------------------------------------------------
    def _claim(self):
        """Move these commands, if still pending, to sending (the caller
        commits before any AMI action) and return what sending each needs,
        as plain values: ``{"id", "action", "fields", "ami", "error"}``
        (``ami``: the AMI connection settings; ``error``: why it cannot be
        sent at all)."""
        jobs = []
        # exists(): an interaction deleted since the commit took its commands along
        for command in self.exists()._set_state("sending", guard=True):
            job = {
                "id": command.id,
                "action": command.ami_action,
                "fields": command.ami_fields or {},
                "ami": None,
                "error": None,
            }
            if command.transport == "http":
                try:
                    job["http"] = command.channel_id._voip_dial_http_settings()
                except UserError as error:
                    job["error"] = str(error.args[0])
            elif not command.ami_action:
                job["error"] = "the command has no AMI action"
            else:
                try:
                    job["ami"] = command.channel_id._voip_ami_settings()
                except UserError as error:
                    job["error"] = str(error.args[0])
            jobs.append(job)
        return jobs

    def _record(self, error=None):
        """Record the outcome of this command's send; only a command still
        sending is touched (never undo an expiry). True when recorded."""
        self.ensure_one()
        if error:
            done = self._set_state("failed", guard=True, error=error)
        else:
            done = self._set_state("sent", guard=True, date_sent=fields.Datetime.now())
        done._announce()
        return bool(done)

    @api.model
    def _expire(self, key=None):
        """Fail the commands left unfinished for longer than
        ``STALE_SECONDS`` (of ``key`` only, if given): never sent, or sent
        with no outcome recorded."""
        cutoff = fields.Datetime.now() - timedelta(seconds=STALE_SECONDS)
        domain = [("state", "in", UNFINISHED), ("write_date", "<", cutoff)]
        if key:
            domain.append(("key", "=", key))
        stale = self.search(domain)
        for state, error in (
            ("pending", _("Never sent: Odoo stopped between the commit and the send.")),
            ("sending", _("No outcome recorded: check on the PBX whether it was done.")),
        ):
            expired = stale.filtered(lambda c, state=state: c.state == state)
            if expired:
                expired._set_state("failed", guard=True, error=error)._announce()
        return stale

    @api.model
    def _cron_expire(self):
        """Scheduled action: close the commands a dead worker left unfinished."""
        return bool(self._expire())

    def _announce(self):
        """Tell what became of these (finished) commands: the interaction's
        chatter, and the requesting user for a failure."""
        for command in self:
            command = command.with_context(lang=command.user_id.lang)
            command.interaction_id._voip_command_done(command)
            if command.state != "failed" or command.kind in DIALER_KINDS:
                continue
            if command.kind == "dial":
                title = _("The call could not be placed")
            else:
                title = _("Listening in failed")
            command.user_id._bus_send(
                "simple_notification",
                {"type": "danger", "title": title, "message": command.error, "sticky": True},
            )
