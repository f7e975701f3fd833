"""One call the campaign dialer placed: from the dial command to its outcome.

The dialer (``omnichannel.campaign``) creates it with the outbound
interaction and the PBX command; the PBX's ``/event`` webhook moves it on
(``omnichannel.interaction._voip_event`` hands the events of dialer calls to
:meth:`OmnichannelCampaignDial._voip_event` first). Its final state is the
outcome the pacing statistics are fed with, once (``pacing_fed``), by the
dialer's next run: the webhooks never write the campaign's pacing state.
"""

import secrets
from datetime import timedelta

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, index_exists

from odoo.addons.omnichannel_cc.tools import pacing

from ..tools import ami, dialer

DIAL_STATES = [
    ("dialing", "Dialing"),
    ("ringing", "Ringing"),
    ("waiting", "Answered, waiting for an agent"),
    ("connected", "Connected to an agent"),
    ("abandoned", "Abandoned (nobody free)"),
    ("machine", "Answering machine"),
    ("busy", "Busy"),
    ("no_answer", "No answer"),
    ("failed", "Failed"),
]
FINAL = ("connected", "abandoned", "machine", "busy", "no_answer", "failed")
LIVE = ("dialing", "ringing", "waiting")
DIAL_TRANSITIONS = {
    "dialing": ("ringing", "waiting", "machine", "busy", "no_answer", "failed"),
    "ringing": ("waiting", "machine", "busy", "no_answer", "failed"),
    "waiting": ("connected", "abandoned"),
    "connected": (),
    "abandoned": (),
    "machine": (),
    "busy": (),
    "no_answer": (),
    "failed": (),
}
# interaction states in which an answered campaign call has reached an agent
REACHED = ("offered", "active", "wrapup", "done", "transferred")


class OmnichannelCampaignDial(models.Model):
    _name = "omnichannel.campaign.dial"
    _inherit = ["omnichannel.state.mixin"]
    _description = "Campaign dialer call"
    _order = "id desc"
    _state_transitions = DIAL_TRANSITIONS

    campaign_id = fields.Many2one(
        "omnichannel.campaign", required=True, readonly=True, index=True, ondelete="cascade"
    )
    contact_id = fields.Many2one(
        "omnichannel.campaign.contact",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    interaction_id = fields.Many2one(
        "omnichannel.interaction", readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="campaign_id.company_id", store=True)
    call_id = fields.Char(readonly=True, index=True, help="The call's id at the PBX.")
    state = fields.Selection(DIAL_STATES, default="dialing", required=True, index=True)
    date_dialed = fields.Datetime(readonly=True)
    date_answered = fields.Datetime(readonly=True)
    date_deadline = fields.Datetime(
        string="Connect before",
        readonly=True,
        help="An answered call not offered to an agent by then is abandoned.",
    )
    date_done = fields.Datetime(string="Outcome on", readonly=True)
    pacing_fed = fields.Boolean(readonly=True, index=True)
    handled_fed = fields.Boolean(
        readonly=True, help="Its talk and wrap-up times are in the pacing statistics."
    )

    def init(self):
        super().init()
        # nobody is dialed twice at once, whatever the dialers racing
        indexname = "omnichannel_campaign_dial_live_contact_uniq"
        if not index_exists(self.env.cr, indexname):
            self.env.cr.execute(
                SQL(
                    "CREATE UNIQUE INDEX %s ON %s (contact_id) "
                    "WHERE state IN ('dialing', 'ringing', 'waiting')",
                    SQL.identifier(indexname),
                    SQL.identifier(self._table),
                )
            )

    def _state_write(self, new_state, vals):
        if new_state in FINAL:
            vals = dict(vals, date_done=fields.Datetime.now())
        super()._state_write(new_state, vals)

    # ------------------------------------------------------------------
    # Placing a call (the dialer's transaction; nothing leaves before commit)
    # ------------------------------------------------------------------
    @api.model
    def _place(self, contact):
        """Call the claimed ``contact``: its outbound interaction, this dial
        and the PBX command, sent once the transaction commits."""
        campaign = contact.campaign_id
        channel = campaign.channel_id
        now = fields.Datetime.now()
        call_id = f"dialer-{campaign.id}-{contact.id}-{secrets.token_hex(6)}"
        # sudo: the dialer creates the call, for no agent yet, in the campaign's company
        interaction = (
            self.env["omnichannel.interaction"]
            .sudo()
            .with_company(campaign.company_id)
            .create(
                {
                    "channel_id": channel.id,
                    "company_id": campaign.company_id.id,
                    "direction": "outbound",
                    "external_id": call_id,
                    "partner_id": (contact.person_id or contact.partner_id).id,
                    "contact_address": contact.phone,
                    "queue_id": campaign.queue_id.id,
                    "campaign_contact_id": contact.id,
                    "script_id": campaign.script_id.id or campaign.queue_id.script_id.id or False,
                    "subject": _(
                        "%(campaign)s: attempt %(attempt)s of %(max)s",
                        campaign=campaign.name,
                        attempt=contact.attempt_count + 1,
                        max=campaign.max_attempts,
                    ),
                    "invoice_id": contact.res_id if contact.res_model == "account.move" else False,
                    "sale_order_id": contact.res_id if contact.res_model == "sale.order" else False,
                    "state": "new",
                }
            )
        )
        contact.last_interaction_id = interaction
        contact._count_attempt(interaction)
        dial = self.create(
            {
                "campaign_id": campaign.id,
                "contact_id": contact.id,
                "interaction_id": interaction.id,
                "call_id": call_id,
                "date_dialed": now,
            }
        )
        dial._send_dial()
        return dial

    def _send_dial(self):
        self.ensure_one()
        campaign = self.campaign_id
        # sudo: the channel's dial settings (AMI context) are manager-only; only those are read
        channel = campaign.channel_id.sudo()
        caller_id = campaign.caller_id or channel.address or None
        try:
            caller_id = caller_id and ami.normalize_number(caller_id)
        except ValueError:
            pass  # a name or a SIP URI: the PBX's business
        try:
            if channel.voip_pbx_type == "asterisk":
                action = dialer.originate_dialer_action(
                    self.contact_id.phone,
                    channel.voip_ami_context or "from-internal",
                    self.call_id,
                    self.interaction_id.id,
                    campaign.id,
                    caller_id=caller_id,
                    ring_seconds=campaign.ring_seconds,
                    machine_action=campaign.machine_action,
                    machine_message=campaign.machine_message,
                    dialer_context=channel.voip_dialer_context or dialer.DEFAULT_DIALER_CONTEXT,
                )
                transport = "ami"
            else:
                body = dialer.http_dial_body(
                    self.call_id,
                    self.contact_id.phone,
                    caller_id,
                    fields.Datetime.now().timestamp(),
                    self.interaction_id.id,
                    campaign.id,
                    campaign.name,
                    campaign.ring_seconds,
                    campaign.machine_action,
                    campaign.machine_message,
                )
                action = (dialer.DIAL_COMMAND, body)
                transport = "http"
        except ValueError as error:
            raise UserError(_("The PBX cannot place this call: %(error)s", error=error)) from error
        self._enqueue_command(f"campaign:{self.id}", "campaign_dial", action, transport)

    def _enqueue_command(self, key, kind, action, transport):
        self.ensure_one()
        root = self.env["res.users"].browse(SUPERUSER_ID)
        # sudo: only managers read PBX commands and nobody writes them; the dialer queues this
        command = (
            self.env["omnichannel.voip.command"]
            .sudo()
            ._enqueue(key, kind, self.campaign_id.channel_id, root)
        )
        if command:
            command._prepare(self.interaction_id, action)
            command.transport = transport
        return command

    # ------------------------------------------------------------------
    # Call progress (the /event webhook, through the interaction)
    # ------------------------------------------------------------------
    @api.model
    def _voip_event(self, interaction, values, agent):
        """Apply a CTI event of a dialer call: ``(handled, directive)``;
        ``handled`` False lets the interaction's own handler run too;
        ``directive`` (or None) goes back to the PBX in the answer."""
        # sudo: only supervisors read dials; the PBX's event finds the call's dial, if any
        dial = self.sudo().search([("interaction_id", "=", interaction.id)], limit=1)
        if not dial:
            return False, None
        event = values["event"]
        handler = getattr(dial, f"_on_{event}", None)
        result = handler(values, agent) if handler else (False, None)
        if dial.state in FINAL or event in ("hangup", "failed"):
            # a line is free, maybe an agent: the dialer decides again now
            dial.campaign_id._dialer_trigger()
        return result

    def _on_ringing(self, values, agent):
        self._set_state("ringing", guard=True)
        return False, None

    def _on_answered(self, values, agent):
        if agent or self.state not in ("dialing", "ringing"):
            # the agent's leg answered (or a repeat): the interaction's own handling
            if self.state == "waiting":
                self._set_state("connected", guard=True)
            return False, None
        campaign = self.campaign_id
        interaction = self.interaction_id
        now = fields.Datetime.now()
        contact = self.contact_id
        if dialer.is_machine(values.get("amd")):
            self._set_state("machine", date_answered=now)
            contact._attempt_ended(interaction, "machine")
            interaction._set_state(
                "missed", date_ended=now, date_closed=now, voip_call_state="ended"
            )
            if campaign.machine_action == "message":
                note = _("Answering machine: the campaign's message is left.")
            else:
                note = _("Answering machine: hung up.")
            interaction._voip_note(note)
            return True, {
                "action": campaign.machine_action,
                "message": campaign.machine_message or None,
            }
        deadline = now + timedelta(seconds=pacing.ABANDON_SECONDS)
        self._set_state("waiting", date_answered=now, date_deadline=deadline)
        # a person: into the ACD of the campaign's queue, as any call (screen-pop)
        interaction._set_state("queued", date_queued=now, voip_call_state="talking")
        interaction._route()
        if interaction.state in REACHED:
            self._connected()
        else:
            self.env.ref("omnichannel_cc_voip.ir_cron_campaign_dialer")._trigger(deadline)
        return True, {"action": "route"}

    def _on_failed(self, values, agent):
        if self.state in ("dialing", "ringing"):
            reason = values.get("reason")
            self._set_state(dialer.pacing_outcome(reason))
            self.contact_id._attempt_ended(self.interaction_id, dialer.failure_outcome(reason))
        elif self.state == "waiting":
            # the person hung up before an agent answered (the AMI bridge says "failed")
            return self._on_hangup(values, agent)
        return False, None

    def _on_hangup(self, values, agent):
        if self.state in ("dialing", "ringing"):
            # hung up before anyone answered: no answer
            self._set_state("no_answer")
            return False, None
        if self.state == "waiting":
            if self.interaction_id.state in REACHED:
                self._connected()
                return False, None
            # the person hung up before an agent took the call: not connected in time
            self._abandon()
            return True, None
        return False, None

    def _connected(self):
        """The answered call reached an agent: the contact is theirs."""
        for dial in self._set_state("connected", guard=True):
            agent = dial.interaction_id.agent_id or dial.interaction_id.offer_ids.user_id[:1]
            if agent:
                dial.contact_id.user_id = agent

    def _abandon(self):
        """Answered and not connected within 2 s: abandoned (counted, 72 h lockout)."""
        for dial in self._set_state("abandoned", guard=True):
            interaction = dial.interaction_id
            if interaction.state in ("new", "queued", "offered"):
                # the contact's outcome follows the interaction: abandoned, no agent
                interaction._abandon("no_agent")
                interaction._voip_note(
                    _("Answered with no agent free within 2 seconds: abandoned.")
                )
            # sudo: the campaign's channel, whatever the user's companies; only its PBX type
            if dial.campaign_id.channel_id.sudo().voip_pbx_type != "asterisk":
                body = dialer.http_hangup_body(
                    dial.call_id, fields.Datetime.now().timestamp(), "abandoned"
                )
                dial._enqueue_command(
                    f"campaign-hangup:{dial.id}",
                    "campaign_hangup",
                    (dialer.HANGUP_COMMAND, body),
                    "http",
                )

    @api.model
    def _check_deadlines(self, campaigns):
        """Answered calls of ``campaigns`` past their 2 s: connected or abandoned."""
        waiting = self.search(
            [
                ("campaign_id", "in", campaigns.ids),
                ("state", "=", "waiting"),
                ("date_deadline", "<=", fields.Datetime.now()),
            ]
        )
        reached = waiting.filtered(lambda d: d.interaction_id.state in REACHED)
        reached._connected()
        (waiting - reached)._abandon()

    def _command_done(self, command):
        """The dial command could not be sent: the call failed (retried)."""
        self.ensure_one()
        if command.kind != "campaign_dial" or command.state != "failed":
            return
        if self.state in ("dialing", "ringing"):
            self._set_state("failed")
            interaction = self.interaction_id
            if interaction.state in ("new", "queued", "offered"):
                now = fields.Datetime.now()
                interaction._set_state(
                    "missed", date_ended=now, date_closed=now, voip_call_state="failed"
                )
            interaction._voip_note(
                _("The campaign call could not be placed: %(error)s", error=command.error)
            )
            self.campaign_id._dialer_trigger()

    @api.autovacuum
    def _gc_old_dials(self):
        """Finished dials older than the longest pacing window are history."""
        cutoff = fields.Datetime.now() - timedelta(seconds=pacing.WINDOW_30D + 86400)
        self.search(
            [("state", "in", FINAL), ("pacing_fed", "=", True), ("date_dialed", "<", cutoff)]
        ).unlink()
