"""Phone calls as interactions: CTI events and routing answers from the PBX,
click-to-dial, listen-in, recordings and voicemail."""

import dataclasses
import logging
import uuid
from datetime import UTC, datetime, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.models.omnichannel_interaction import (
    UNANSWERED_STATES,
    WAITING_STATES,
)
from odoo.addons.omnichannel_cc.tools import address as address_tools
from odoo.addons.omnichannel_cc.tools import routing

from ..tools import ami, cti
from .omnichannel_voip_command import DIALER_KINDS

_logger = logging.getLogger(__name__)
SPY_MODES = ("listen", "whisper", "barge")
# A "failed" call whose reason says the caller hung up before an agent
# answered (the example Kamailio configuration sends "caller hung up" for a
# CANCEL; SIP 487 Request Terminated): the customer left, not "no agent".
CALLER_LEFT_REASONS = ("caller hung up", "cancel", "487")


def _pbx_datetime(timestamp):
    """Naive UTC datetime (Odoo's storage) of the PBX's Unix timestamp."""
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    voip_call_state = fields.Selection(
        [
            ("ringing", "Ringing"),
            ("talking", "Talking"),
            ("held", "On hold"),
            ("ended", "Ended"),
            ("failed", "Failed"),
            ("voicemail", "Voicemail"),
        ],
        string="Call state",
        readonly=True,
        copy=False,
        help="Last state the PBX reported for this call.",
    )
    voip_last_event_at = fields.Datetime(
        string="Last PBX event", readonly=True, copy=False, help="PBX time of the last event."
    )
    voip_recording_count = fields.Integer(
        string="Recordings", compute="_compute_voip_recording_count"
    )

    def _compute_voip_recording_count(self):
        groups = self.env["ir.attachment"]._read_group(
            [
                ("res_model", "=", self._name),
                ("res_id", "in", self.ids),
                ("description", "=", "omnichannel_voip_recording"),
            ],
            ["res_id"],
            ["__count"],
        )
        counts = dict(groups)
        for rec in self:
            rec.voip_recording_count = counts.get(rec.id, 0)

    # ------------------------------------------------------------------
    # Watchdog (issue 19): a call whose end the PBX never sent
    # ------------------------------------------------------------------
    @api.model
    def _call_watchdog_domain(self, cutoff):
        """An active call with a PBX event since ``cutoff`` is alive; a call
        still waiting (inbound, a dialer's call, or a click-to-dial never
        reported) with no event since then is over too."""
        no_event = ["|", ("voip_last_event_at", "=", False), ("voip_last_event_at", "<", cutoff)]
        active = expression.AND([super()._call_watchdog_domain(cutoff), no_event])
        waiting = [
            ("channel_type", "=", "phone"),
            ("state", "in", WAITING_STATES),
            "|",
            ("external_id", "!=", False),
            ("state", "=", "new"),
            "|",
            ("voip_last_event_at", "<", cutoff),
            "&",
            ("voip_last_event_at", "=", False),
            ("create_date", "<", cutoff),
        ]
        return expression.OR([active, waiting])

    def _call_watchdog_last_sign(self):
        """The PBX's last event, when later than the answer."""
        last = super()._call_watchdog_last_sign()
        return max(last, self.voip_last_event_at) if self.voip_last_event_at else last

    def _watchdog_end_calls(self, minutes):
        """A dialer's call never reported: its dial failed, the contact's
        number is free for the next attempt."""
        # sudo: the watchdog's (a cron); dials are read by supervisors only
        dials = (
            self.env["omnichannel.campaign.dial"]
            .sudo()
            .search([("interaction_id", "in", self.ids), ("state", "in", ("dialing", "ringing"))])
        )
        dials._set_state("failed", guard=True)
        # sudo: as above; an answered dial never connected is abandoned
        waiting = (
            self.env["omnichannel.campaign.dial"]
            .sudo()
            .search([("interaction_id", "in", self.ids), ("state", "=", "waiting")])
        )
        waiting._abandon()
        return super()._watchdog_end_calls(minutes)

    # ------------------------------------------------------------------
    # Webhooks (called by the controller as superuser, in the channel's company)
    # ------------------------------------------------------------------
    @api.model
    def _voip_agent_by_extension(self, channel, extension):
        return self._voip_agents_by_extension(channel, extension).get(
            extension, self.env["res.users"]
        )

    @api.model
    def _voip_agents_by_extension(self, channel, *extensions):
        """``{extension: user}`` of the users of the channel's company with
        these extensions, in one query (the first user in search order wins,
        as a ``limit=1`` search per extension would give). Extensions are
        digits only (``res.users`` constraint): a caller's number such as
        +48221000300 cannot be one and is not looked up."""
        wanted = sorted({ext for ext in extensions if ext and ext.isascii() and ext.isdigit()})
        if not wanted:
            return {}
        # sudo: users of the channel's company, whatever the caller's company selection
        users = (
            self.env["res.users"]
            .sudo()
            .search_fetch(
                [
                    ("omnichannel_extension", "in", wanted),
                    ("company_id", "=", channel.company_id.id),
                ],
                ["omnichannel_extension"],
            )
        )
        found = {}
        for user in users:
            found.setdefault(user.omnichannel_extension, user)
        return found

    @api.model
    def _voip_find(self, channel, call_id):
        return self._api_inbound_find(channel, call_id)

    @api.model
    def _voip_claim(self, channel, scope, key, call_id):
        """Claim an event's idempotency key and find its call in one
        statement: ``(claimed, interaction)``. The interaction (empty for a new
        call) is stored with the key. Same guarantees as
        ``omnichannel.event.key._claim``: a key committed concurrently raises a
        serialization failure, Odoo retries the request, the retry sees it."""
        self.flush_model(["channel_id", "external_id"])
        self.env["omnichannel.event.key"].flush_model()
        self.env.cr.execute(
            SQL(
                """INSERT INTO omnichannel_event_key (scope, key, res_id, create_date)
                   SELECT %s, %s, (
                              SELECT id FROM omnichannel_interaction
                               WHERE channel_id = %s AND external_id = %s
                               ORDER BY id DESC LIMIT 1
                          ), now() AT TIME ZONE 'UTC'
                   ON CONFLICT (scope, key) DO NOTHING
                   RETURNING res_id""",
                scope,
                key,
                channel.id,
                call_id,
            ),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        if not row:
            return False, self._voip_find(channel, call_id)
        # sudo: the same environment as _voip_find's (another agent's call, any company)
        found = self.sudo().with_context(active_test=False)
        return True, found.browse(row[0] or ())

    @api.model
    def _voip_inbound(self, channel, values, known_new=False, decided=None):
        """The interaction of an inbound call, created and routed on first sight.

        ``known_new``: the caller has just searched this call in this
        transaction and found nothing; ``decided``: its routing decision and
        reserved agent, taken when ``/route`` was answered (see
        ``_inbound_once``)."""

        def create():
            when = _pbx_datetime(values["timestamp"])
            return self._api_inbound_create(
                {
                    "channel": channel,
                    "external_id": values["call_id"],
                    "contact_address": self._normalize_contact_address(channel, values["from"]),
                    "subject": False,
                    "body": False,
                    "date_queued": min(when, fields.Datetime.now()),
                }
            )

        return self._inbound_once(
            channel, values["call_id"], create, known_new=known_new, decided=decided
        )[0]

    @api.model
    def _voip_outbound(self, channel, values, agent):
        """An agent's outgoing call: bound to the click-to-dial interaction
        waiting for it (same agent and number, recent), else created."""
        existing = self._voip_find(channel, values["call_id"])
        if existing:
            return existing
        number = self._normalize_contact_address(channel, values["to"])
        pending = self.search(
            [
                ("channel_id", "=", channel.id),
                ("direction", "=", "outbound"),
                ("agent_id", "=", agent.id),
                ("external_id", "=", False),
                ("contact_address", "=", number),
                ("state", "=", "new"),
                ("create_date", ">=", fields.Datetime.now() - timedelta(minutes=10)),
            ],
            order="id desc",
            limit=1,
        )
        if pending:
            pending.write({"external_id": values["call_id"]})
            return pending
        # sudo: idempotency keys are technical records no user may write
        keys = self.env["omnichannel.event.key"].sudo()
        if not keys._claim(f"interaction:{channel.id}", values["call_id"]):
            return self._voip_find(channel, values["call_id"])
        partner = self._voip_identify(number)
        return self.create(
            {
                "channel_id": channel.id,
                "company_id": channel.company_id.id,
                "direction": "outbound",
                "external_id": values["call_id"],
                "contact_address": number,
                "partner_id": partner.id,
                "agent_id": agent.id,
                "queue_id": channel.queue_id.id,
                "state": "new",
            }
        )

    @api.model
    def _voip_identify(self, number):
        try:
            matches = self.env["res.partner"].omnichannel_identify(number, channel_type="phone")
        except UserError:
            matches = []
        return self.env["res.partner"].browse(matches[0]["id"] if matches else [])

    @api.model
    def _voip_route(self, channel, values):
        """Answer a PBX asking where to send an inbound call."""
        if channel.voip_fast_route:
            answer = self._voip_route_fast(channel, values)
            if answer is not None:
                return answer
        # searched before its key is claimed: a campaign's call was created by
        # the dialer with its call id and no key (the claim would not find it)
        interaction = self._voip_inbound(channel, values)
        offer = interaction.offer_ids.filtered(lambda o: o.state == "pending")[:1]
        agent = interaction.agent_id or offer.user_id
        answer = {
            "interaction_id": interaction.id,
            "queue": interaction.queue_id.name or None,
            "queue_id": interaction.queue_id.id or None,
            "agent": agent.omnichannel_extension or None,
            "agent_id": agent.id or None,
            "priority": interaction.priority,
            "state": interaction.state,
            "partner_id": interaction.partner_id.id or None,
        }
        return interaction._voip_route_answer(answer)

    @api.model
    def _voip_route_fast(self, channel, values):
        """Answer ``/route`` from a decision, and write the call afterwards.

        The caller is identified, the routing rules decide on the customer's
        facts (only those the rules test), and the queue's best free agent is
        locked and reserved (their free slots as read with the candidates, in
        the same snapshot); then one event-inbox row stores the
        decision and the reservation, and the answer goes out. The inbox's
        applier creates the interaction and its offer to that agent from the
        row (``_voip_route_apply``), before the call's own events, which are
        applied in order after it. Until then the reservation counts in the
        agent's load (``omnichannel.agent._loads_of_users``): no other
        request, node or ACD pass offers them more than they can take.

        None when the call takes the answer after writing (:meth:`_voip_route`):
        the call is written already (a campaign's, or a route applied), its
        queue is closed, rings every agent, or has calls waiting ahead of it
        that any agent may take, or an addon asks so
        (:meth:`_voip_route_fast_ok`)."""
        call_id = values["call_id"]
        scope, key = f"voip:{channel.id}", f"route|{call_id}"
        Inbox = self.env["omnichannel.event.inbox"]
        number = self._normalize_contact_address(channel, values["from"])
        partner = self._voip_identify(number)
        queue = channel.queue_id
        # sudo: the routing runs as superuser, as _route
        Routing = self.sudo()
        rules = Routing._routing_rules(channel.company_id.id)
        probe = Routing.new(
            {
                "channel_id": channel.id,
                "company_id": channel.company_id.id,
                "partner_id": partner.id,
                "queue_id": queue.id,
            }
        )
        facts = probe._routing_facts(routing.facts_needed(rules)) if rules else routing.Facts()
        decision = routing.decide(rules, facts, queue.id)
        queue = Routing.env["omnichannel.queue"].browse(decision.queue_id or queue.id)
        preferred = decision.preferred_agent_id if decision.preferred_timeout > 0 else False
        if (
            not queue._is_open()
            or queue.strategy == routing.RING_ALL
            or not self._voip_route_fast_ok(channel, queue)
        ):
            # the call takes the answer after writing, unless this route was
            # answered before (then it gets that answer again)
            answered = self._voip_route_state(channel, call_id, scope, key)[1]
            return self._voip_route_fast_answer(Inbox.browse(answered)) if answered else None
        written, answered, waiting, rows, loads = self._voip_route_state(
            channel, call_id, scope, key, queue, preferred
        )
        if written:
            return None
        if answered:
            return self._voip_route_fast_answer(Inbox.browse(answered))
        if waiting:
            return None
        probe.queue_id = queue
        probe.required_skill_id = decision.skill_id or False
        user_id, extension = self._voip_route_reserve(queue, probe, rows, loads)
        answer = {
            "interaction_id": None,
            "queue": queue.name,
            "queue_id": queue.id,
            "agent": extension or None,
            "agent_id": user_id or None,
            "priority": decision.priority,
            "state": "offered" if user_id else "queued",
            "partner_id": partner.id or None,
        }
        answer = probe._voip_route_answer(answer)
        payload = {
            "values": values,
            "decision": dataclasses.asdict(decision),
            "agent_id": user_id,
            "answer": answer,
        }
        reservation = (user_id, channel.channel_type) if user_id else None
        inbox_id, duplicate = Inbox._receive(
            channel, "_voip_route_apply", scope, key, call_id, payload, reservation=reservation
        )
        if duplicate:
            return self._voip_route_fast_answer(Inbox.browse(inbox_id))
        return dict(answer, inbox_id=inbox_id)

    @api.model
    def _voip_route_state(self, channel, call_id, scope, key, queue=None, preferred=False):
        """What a ``/route`` answered first depends on, read in one statement
        (each one costs about a millisecond of the PBX's wait):
        ``(written, answered, waiting, rows, loads)``.

        ``written``: the call's interaction id, when it exists already;
        ``answered``: the inbox row of this route answered before. With a
        ``queue``, also whether calls wait in it ahead of this one that any
        agent may take (``waiting``; not those waiting for their case owner,
        nor when the call goes to its ``preferred`` agent: the ACD orders
        them with this one), and its dispatchable agents
        (``omnichannel.queue._agent_rows``, or the preferred agent's) with
        their loads (``omnichannel.agent._loads_of_users``), in the same
        snapshot."""
        Inbox = self.env["omnichannel.event.inbox"]
        self.flush_model(["channel_id", "external_id", "queue_id", "state", "preferred_until"])
        Inbox.flush_model(["scope", "key"])
        seen = SQL(
            """(SELECT id FROM omnichannel_interaction
                 WHERE channel_id = %s AND external_id = %s),
               (SELECT id FROM omnichannel_event_inbox
                 WHERE scope = %s AND key = %s)""",
            channel.id,
            call_id,
            scope,
            key,
        )
        cr = self.env.cr
        if not queue:
            cr.execute(SQL("SELECT %s", seen))
            written, answered = cr.fetchone()
            return written, answered, False, [], {}
        waiting = SQL("FALSE")
        if not preferred:
            waiting = SQL(
                """EXISTS (SELECT 1 FROM omnichannel_interaction
                            WHERE queue_id = %s AND state = 'queued'
                              AND (preferred_until IS NULL OR preferred_until <= %s))""",
                queue.id,
                fields.Datetime.now(),
            )
        agents = queue._agent_rows_sql(user_ids=[preferred] if preferred else None)
        loads = self.env["omnichannel.agent"]._loads_sql(SQL("(SELECT user_id FROM candidate)"))
        cr.execute(
            SQL(
                """WITH candidate AS (%s), load AS (%s)
                   SELECT head.*, candidate.*,
                          ARRAY(SELECT load.channel_type FROM load
                                 WHERE load.user_id = candidate.user_id),
                          ARRAY(SELECT load.n FROM load WHERE load.user_id = candidate.user_id)
                     FROM (SELECT %s, %s) head
                     LEFT JOIN candidate ON TRUE""",
                agents,
                loads,
                seen,
                waiting,
            )
        )
        result = cr.fetchall()
        written, answered, waiting = result[0][:3]
        rows, load_rows = [], []
        for row in result:
            if row[3] is None:  # no agent (the LEFT JOIN's one row)
                continue
            rows.append(row[3:-2])
            load_rows.extend(
                (row[3], channel_type, n) for channel_type, n in zip(*row[-2:], strict=True)
            )
        loads = self.env["omnichannel.agent"]._loads_from_rows(load_rows)
        return written, answered, waiting, rows, loads

    @api.model
    def _voip_route_fast_answer(self, row):
        """The answer a ``/route`` inbox row holds (a repeated question gets it again)."""
        # sudo: the inbox is the managers'; the PBX reads its own answer
        return dict(row.sudo().payload["answer"], inbox_id=row.id)

    @api.model
    def _voip_route_reserve(self, queue, probe, rows, loads):
        """The agent a new call of ``queue`` goes to, locked and stamped as
        offered (round robin): ``(user id, extension)``, or ``(False, None)``.
        The best free agent of ``rows`` (the queue's agents, or the
        preferred agent alone: ``_voip_route_state``) by the queue's
        strategy, with ``loads`` read with them."""
        if not rows:
            return False, None
        candidates = queue._candidates(probe, rows, declined=set(), loads=loads)
        ordered = routing.order_candidates(
            queue.strategy, candidates, required_skill=bool(probe.required_skill_id)
        )
        savepoint = SQL.identifier(f"reserve_{uuid.uuid4().hex}")
        set_savepoint = SQL("SAVEPOINT %s;", savepoint)
        for candidate in ordered:
            # Locked, checked and stamped for the round robin in one statement
            # (returning the extension the PBX rings). The free slots are those
            # read with the candidates: the transaction is REPEATABLE READ, so
            # a read under the lock would see the same snapshot; what another
            # transaction offered or reserved the agent since stamped their
            # row, and the lock fails on it instead (a serialization failure:
            # the next agent, as a locked row is skipped). The savepoint that
            # failure rolls back to is set in the same round trip as the
            # first lock (a savepoint stays one after a rollback to it), and
            # not released: the transaction's one statement left (the inbox
            # row) runs in it and the commit ends both. Each round trip costs
            # about a millisecond of the PBX's wait.
            row = queue._try_lock(
                SQL(
                    """%s
                       UPDATE omnichannel_agent agent
                          SET last_offer_date = %s,
                              rr_seq = nextval('omnichannel_agent_rr_seq')
                         FROM res_users u
                        WHERE agent.id = (%s)
                          AND u.id = agent.user_id
                    RETURNING agent.id, u.omnichannel_extension""",
                    set_savepoint,
                    fields.Datetime.now(),
                    queue._lock_agent_sql(candidate.user_id),
                ),
                savepoint=savepoint,
            )
            set_savepoint = SQL()
            if row:
                self.env["omnichannel.agent"].browse(row[0]).invalidate_recordset(
                    ["last_offer_date", "rr_seq"]
                )
                return candidate.user_id, row[1]
        return False, None

    @api.model
    def _voip_route_fast_ok(self, channel, queue):
        """Extension point: whether a new call of ``queue`` may be answered
        before it is written (:meth:`_voip_route_fast`)."""
        return True

    @api.model
    def _voip_route_apply(self, channel, payload):
        """The event inbox's application of a ``/route`` answered first: the
        interaction created with the decision of the answer and offered to
        the agent reserved then (``omnichannel.interaction._route_decided``)."""
        values = payload["values"]
        existing = self._voip_find(channel, values["call_id"])
        if existing:
            return {"interaction_id": existing.id, "state": existing.state, "duplicate": True}
        decision = routing.Decision(**payload["decision"])
        interaction = self._voip_inbound(
            channel, values, known_new=True, decided=(decision, payload["agent_id"])
        )
        return {"interaction_id": interaction.id, "state": interaction.state, "duplicate": False}

    def _voip_route_answer(self, answer):
        """Extension point: the ``/route`` answer of this call (a dict),
        returned with the keys an addon adds (the survey addon: whether the
        PBX plays the keypad survey after the call)."""
        self.ensure_one()
        return answer

    @api.model
    def _voip_event(self, channel, values):
        """Apply one CTI event; a repeated event changes nothing."""
        # sudo: idempotency keys are technical records no user may write
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"voip:{channel.id}"
        key = cti.event_key(values)
        claimed, existing = self._voip_claim(channel, scope, key, values["call_id"])
        if not claimed:
            return {
                "interaction_id": existing.id or None,
                "state": existing.state or None,
                "duplicate": True,
            }
        agents = self._voip_agents_by_extension(channel, values["from"], values["agent"])
        no_user = self.env["res.users"]
        agent = agents.get(values["agent"], no_user) if values["agent"] else no_user
        if values["agent"] and not agent and values["event"] in cti.AGENT_EVENTS:
            # refused (400), the key claimed above rolled back with it
            raise UserError(
                _(
                    "No user of %(company)s has the extension %(ext)s: set it on the agent's "
                    "user (Phone extension).",
                    company=channel.company_id.name,
                    ext=values["agent"],
                )
            )
        if values["event"] in cti.KNOWN_CALL_EVENTS:
            # about a call that took place: never creates one (refused, 400,
            # the key claimed above rolled back with it)
            if not existing:
                raise UserError(
                    _("No call %(call_id)s on this channel.", call_id=values["call_id"])
                )
            result = {"interaction_id": existing.id, "state": existing.state, "duplicate": False}
            result.update(getattr(existing, "_voip_on_" + values["event"])(values, agent) or {})
            return result
        caller_agent = agents.get(values["from"], no_user)
        if existing:
            interaction = existing
        elif caller_agent and values["event"] in ("ringing", "answered", "hangup", "failed"):
            interaction = self._voip_outbound(channel, values, caller_agent)
        else:
            interaction = self._voip_inbound(channel, values, known_new=True)
        handled, directive = False, None
        if interaction.campaign_contact_id:
            # a call of the campaign dialer: its outcome first (answering machine, ACD, abandon)
            handled, directive = self.env["omnichannel.campaign.dial"]._voip_event(
                interaction, values, agent
            )
        if not handled:
            getattr(interaction, "_voip_on_" + values["event"])(values, agent)
        when = _pbx_datetime(values["timestamp"])
        if not interaction.voip_last_event_at or when >= interaction.voip_last_event_at:
            interaction.voip_last_event_at = when
        if not existing:
            keys._set_res_id(scope, key, interaction.id)
        result = {"interaction_id": interaction.id, "state": interaction.state, "duplicate": False}
        if directive:
            result["dialer"] = directive
        return result

    # ------------------------------------------------------------------
    # One handler per event; each accepts events out of order
    # ------------------------------------------------------------------
    def _voip_note(self, body):
        """An internal note: logged without the notification machinery of
        ``message_post`` (an internal note notifies nobody anyway)."""
        self._message_log(body=body)

    def _voip_on_ringing(self, values, agent):
        if self.state in WAITING_STATES:
            self.voip_call_state = "ringing"
        if agent:
            self._voip_note(
                _("Ringing at %(agent)s (%(ext)s).", agent=agent.name, ext=values["agent"])
            )

    def _voip_on_answered(self, values, agent):
        when = _pbx_datetime(values["timestamp"])
        agent = agent or self.agent_id
        refresh = True
        if self.state in WAITING_STATES:
            offers = self.offer_ids.filtered(lambda o: o.state == "pending")
            mine = offers.filtered(lambda o: o.user_id == agent)[:1]
            # the agent who held the offer holds the call: the same load, the same state
            refresh = not mine
            if mine:
                mine._set_state("accepted", date_response=fields.Datetime.now())
            (offers - mine)._close("cancelled", requeue=False)
            # state and agent are tracked: the chatter shows who answered, no note needed
            self._set_state(
                "active",
                agent_id=agent.id or self.agent_id.id,
                date_answered=when,
                voip_call_state="talking",
            )
        elif self.state in UNANSWERED_STATES and self.date_ended and when <= self.date_ended:
            # the hang-up came first: the call was in fact answered
            self._set_state(
                "wrapup",
                end_reason=False,
                agent_id=agent.id or self.agent_id.id,
                date_answered=when,
                date_closed=False,
            )
            self._cancel_callbacks()
            self._voip_note(_("Answered by %(agent)s (reported late).", agent=agent.name))
        else:
            # answered again after a transfer, or the agent took it in Odoo first
            vals = {"date_answered": min(when, self.date_answered or when)}
            if self.state == "active":
                vals["voip_call_state"] = "talking"
            self.write(vals)
        if agent and refresh:
            self.env["omnichannel.agent"]._for_user(agent)._refresh_state()

    def _voip_on_held(self, values, agent):
        if self.state == "active" and not self.hold_since:
            self.write(
                {"hold_since": _pbx_datetime(values["timestamp"]), "voip_call_state": "held"}
            )

    def _voip_on_resumed(self, values, agent):
        if self.hold_since:
            when = _pbx_datetime(values["timestamp"])
            held = max(int((when - self.hold_since).total_seconds()), 0)
            vals = {"hold_since": False, "hold_duration": self.hold_duration + held}
            if self.state == "active":
                vals["voip_call_state"] = "talking"
            self.write(vals)

    def _voip_on_transferred(self, values, agent):
        previous = self.agent_id
        if self.state != "active" or agent == previous:
            return
        self.write(
            {"agent_id": agent.id, "transfer_count": self.transfer_count + 1, "hold_since": False}
        )
        self._voip_note(
            _(
                "Transferred on the PBX from %(old)s to %(new)s.",
                old=previous.name or _("(nobody)"),
                new=agent.name,
            )
        )
        agents = self.env["omnichannel.agent"].search([("user_id", "in", (previous | agent).ids)])
        agents._refresh_state()

    def _voip_on_survey_answer(self, values, agent):
        """Extension point: the customer's keypad answer (``values["digits"]``)
        to the survey played after the call; returns keys added to the
        answer. Applied by ``omnichannel_cc_survey_voip``; without it, 400."""
        raise UserError(
            _(
                "No survey addon installed: the keypad answer of %(name)s is refused.",
                name=self.name,
            )
        )

    def _voip_on_hangup(self, values, agent):
        when = _pbx_datetime(values["timestamp"])
        if self.state in WAITING_STATES:
            if self.direction == "outbound":
                self._set_state(
                    "missed", date_ended=when, date_closed=when, voip_call_state="ended"
                )
                return
            self.write({"date_ended": when})
            self.action_abandon()
            self.write({"date_ended": when, "date_closed": when, "voip_call_state": "ended"})
            self._schedule_callback(
                _("%(number)s hung up after waiting.", number=self.contact_address)
            )
        elif self.state == "active":
            hold = self.hold_since
            vals = {"date_ended": when, "voip_call_state": "ended"}
            if hold:
                vals.update(
                    hold_since=False,
                    hold_duration=self.hold_duration + max(int((when - hold).total_seconds()), 0),
                )
            self._set_state("wrapup", **vals)
            agent_record = self._agent_record()
            if agent_record:
                # the agent's state after the call: wrap-up, or busy / available
                agent_record._start_wrapup(self.queue_id.wrapup_seconds)
        elif self.state in ("wrapup", "done"):
            vals = {}
            if self.voip_call_state != "ended":
                # the agent closed the contact in Odoo before the PBX hung up
                # (or took the offer in Odoo while the PBX still rang): the
                # call itself is over now
                vals["voip_call_state"] = "ended"
            if self.date_ended and when > self.date_ended:
                # a later hang-up of the same call (e.g. the other leg): it lasted longer
                vals["date_ended"] = when
            if vals:
                self.write(vals)

    def _voip_on_failed(self, values, agent):
        when = _pbx_datetime(values["timestamp"])
        reason = values.get("reason") or _("no reason given")
        if self.state not in WAITING_STATES:
            return
        self.write({"voip_call_state": "failed"})
        if self.direction == "outbound":
            self._set_state("missed", date_ended=when, date_closed=when)
            self._voip_note(_("The call failed: %(reason)s.", reason=reason))
            return
        # the caller gave up first (CANCEL: the PBX says so), or the PBX did
        # (no agent free, nobody answered in time)
        caller_left = any(mark in reason.lower() for mark in CALLER_LEFT_REASONS)
        self._abandon("customer" if caller_left else "no_agent")
        self._set_state("missed", date_ended=when, date_closed=when)
        self._schedule_callback(
            _(
                "Missed call from %(number)s: %(reason)s.",
                number=self.contact_address,
                reason=reason,
            )
        )

    def _voip_on_voicemail(self, values, agent):
        when = _pbx_datetime(values["timestamp"])
        self._voip_attach_recording(values, voicemail=True)
        if self.state in WAITING_STATES:
            self._abandon("voicemail")
            self._set_state(
                "missed", date_ended=when, date_closed=when, voip_call_state="voicemail"
            )
        self._schedule_callback(
            _("Voicemail from %(number)s: listen to it and call back.", number=self.contact_address)
        )

    def _voip_on_recording(self, values, agent):
        self._voip_attach_recording(values)

    def _voip_attach_recording(self, values, voicemail=False):
        """Link the recording where the PBX keeps it; the attachment is readable
        by exactly those who may read this interaction."""
        url = values["recording_url"]
        # sudo: the PBX links the recording on anyone's call; the attachment follows the
        # interaction's access (res_model, res_id)
        Attachment = self.env["ir.attachment"].sudo()
        if Attachment.search_count(
            [("res_model", "=", self._name), ("res_id", "=", self.id), ("url", "=", url)]
        ):
            return
        kind = _("Voicemail") if voicemail else _("Recording")
        name = f"{kind} {self.name}"
        attachment = Attachment.create(
            {
                "name": name,
                "type": "url",
                "url": url,
                "res_model": self._name,
                "res_id": self.id,
                "description": "omnichannel_voip_recording",
            }
        )
        self.message_post(
            body=_("%(kind)s received from the PBX.", kind=kind),
            attachment_ids=attachment.ids,
            subtype_xmlid="mail.mt_note",
        )

    # ------------------------------------------------------------------
    # Click-to-dial
    #
    # Nothing reaches the PBX inside the request's transaction: a desk-phone
    # call (AMI Originate) and a listen-in (ChanSpy) are PBX commands
    # (omnichannel.voip.command) sent after the commit; the browser
    # softphone is told over the bus, which sends on commit too. The user
    # sees "calling..." at once; a failure arrives after, in the chatter
    # and as a notification.
    # ------------------------------------------------------------------
    @api.model
    def _voip_dial(self, partner, number=None, links=None):
        """Outbound call by the current user: an interaction, then the call is
        placed through their softphone (bus) or desk phone (PBX command)."""
        user = self.env.user
        if not user.has_group("omnichannel_cc.group_omnichannel_agent"):
            raise AccessError(_("Only contact center agents can place calls from Odoo."))
        if not user.omnichannel_extension:
            raise UserError(
                _("Set your phone extension in your preferences before calling from Odoo.")
            )
        # sudo: agents may not read the PBX settings (manager-only) of the company's phone line
        channel = (
            self.env["omnichannel.channel"]
            .sudo()
            .search(
                [("channel_type", "=", "phone"), ("company_id", "=", self.env.company.id)],
                limit=1,
            )
        )
        if not channel:
            raise UserError(
                _(
                    "No phone channel in %(company)s: create one first.",
                    company=self.env.company.name,
                )
            )
        raw = number or partner.mobile or partner.phone
        if not raw:
            raise UserError(_("%(name)s has no phone number.", name=partner.display_name))
        region = (partner.country_id or channel.company_id.country_id).code
        try:
            e164 = address_tools.phone_candidates(raw, [region] if region else [])[0]
        except address_tools.AddressError as error:
            raise UserError(
                _("%(number)s cannot be dialled: %(error)s", number=raw, error=error)
            ) from error
        desk_phone = channel.voip_pbx_type == "asterisk" and not user.omnichannel_softphone
        if desk_phone:
            # missing AMI settings: said now, not after the commit
            channel._voip_ami_settings()
            # sudo: agents do not read PBX commands, they only ask for them
            command = (
                self.env["omnichannel.voip.command"]
                .sudo()
                ._enqueue(f"dial:{user.id}:{e164}", "dial", channel, user)
            )
            if not command:
                return self._voip_notification(
                    _("A call to %(number)s is already on its way to your phone.", number=e164),
                    "warning",
                )
        vals = {
            "channel_id": channel.id,
            "company_id": channel.company_id.id,
            "direction": "outbound",
            "contact_address": e164,
            "partner_id": partner.id,
            "agent_id": user.id,
            "queue_id": channel.queue_id.id,
            "state": "new",
        }
        vals.update(links or {})
        # sudo: the agent's own call (checked above), created as the PBX's calls are, on a
        # channel whose PBX settings are manager-only
        interaction = self.sudo().create(vals)
        if desk_phone:
            # shown on the desk phone: one line, no quotes
            caller_name = " ".join(partner.display_name.replace('"', "").split())
            try:
                action = ami.originate_action(
                    user.omnichannel_extension,
                    e164,
                    channel.voip_ami_context or "from-internal",
                    caller_id=f'"{caller_name}" <{e164}>',
                    variables={ami.INTERACTION_VARIABLE: interaction.id},
                )
            except ValueError as error:
                raise UserError(
                    _("The PBX cannot place this call: %(error)s", error=error)
                ) from error
            command._prepare(interaction, action)
        else:
            user._bus_send(
                "omnichannel_voip/dial",
                {
                    "interaction_id": interaction.id,
                    "number": e164,
                    "name": partner.display_name,
                    "sent_at": fields.Datetime.now().timestamp(),
                },
            )
            interaction.message_post(
                body=_("Call to %(number)s placed by %(agent)s.", number=e164, agent=user.name),
                subtype_xmlid="mail.mt_note",
            )
        return self._voip_notification(
            _("Calling %(name)s (%(number)s)…", name=partner.display_name, number=e164)
        )

    @api.model
    def _voip_notification(self, message, kind="info"):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": kind, "message": message, "sticky": False},
        }

    def action_voip_dial(self):
        """Call the customer back from an interaction."""
        self.ensure_one()
        self.check_access("read")
        if not self.partner_id and not self.contact_address:
            raise UserError(_("This interaction has no number to call."))
        links = {"case_id": self.case_id.id, "sale_order_id": self.sale_order_id.id}
        links.update(invoice_id=self.invoice_id.id)
        return self._voip_dial(
            self.partner_id or self.env["res.partner"],
            number=self.contact_address if self.channel_type == "phone" else None,
            links=links,
        )

    # ------------------------------------------------------------------
    # Listen-in, whisper, barge
    # ------------------------------------------------------------------
    def action_voip_spy(self, mode="listen"):
        """Supervisor joins the agent's call: a PBX command, sent after the commit."""
        self.ensure_one()
        if mode not in SPY_MODES:
            raise UserError(_("Unknown listening mode %(mode)s.", mode=mode))
        self._check_supervisor()
        # sudo: the supervisor (checked above) reads the agent's call and extension, and the
        # channel's PBX settings (manager-only)
        rec = self.sudo()
        if rec.channel_type != "phone" or rec.state != "active" or not rec.agent_id:
            raise UserError(_("%(name)s is not a call in progress.", name=rec.name))
        supervisor = self.env.user
        if not supervisor.omnichannel_extension:
            raise UserError(_("Set your phone extension in your preferences to listen in."))
        if not rec.agent_id.omnichannel_extension:
            raise UserError(_("%(agent)s has no phone extension.", agent=rec.agent_id.name))
        channel = rec.channel_id
        if channel.voip_pbx_type != "asterisk":
            raise UserError(
                _(
                    "The PBX of %(channel)s only sends events: listening in needs a PBX Odoo "
                    "can drive (Asterisk over AMI). Use the PBX's own spy feature instead.",
                    channel=channel.name,
                )
            )
        channel._voip_ami_settings()
        try:
            action = ami.spy_action(
                supervisor.omnichannel_extension, rec.agent_id.omnichannel_extension, mode
            )
        except ValueError as error:
            raise UserError(_("The PBX cannot do this: %(error)s", error=error)) from error
        # sudo: supervisors do not read PBX commands, they only ask for them
        command = (
            self.env["omnichannel.voip.command"]
            .sudo()
            ._enqueue(f"{mode}:{rec.id}:{supervisor.id}", mode, channel, supervisor)
        )
        if not command:
            return self._voip_notification(
                _("Your phone is already being called for this."), "warning"
            )
        command._prepare(rec, action)
        _logger.info(
            "Supervisor %s (%s) on interaction %s of agent %s",
            supervisor.login,
            mode,
            rec.id,
            rec.agent_id.login,
        )
        return self._voip_notification(
            _(
                "Your phone (%(extension)s) rings in a moment: answer it to join the call "
                "of %(agent)s.",
                extension=supervisor.omnichannel_extension,
                agent=rec.agent_id.name,
            )
        )

    # ------------------------------------------------------------------
    # Outcome of PBX commands (after the commit, see omnichannel.voip.command)
    # ------------------------------------------------------------------
    def _voip_command_done(self, command):
        """Note in the chatter what a finished PBX command did; a desk-phone
        call that could not be placed is missed."""
        if not self:
            return
        self.ensure_one()
        user = command.user_id
        if command.kind in DIALER_KINDS:
            dial = self.env["omnichannel.campaign.dial"].search(
                [("interaction_id", "=", self.id)], limit=1
            )
            dial._command_done(command)
            return
        if command.kind == "dial":
            if command.state == "sent":
                self._voip_note(
                    _(
                        "Call to %(number)s placed by %(agent)s on their desk phone.",
                        number=self.contact_address,
                        agent=user.name,
                    )
                )
                return
            if self.state in WAITING_STATES:
                now = fields.Datetime.now()
                self._set_state("missed", date_ended=now, date_closed=now, voip_call_state="failed")
            self._voip_note(
                _(
                    "The call to %(number)s could not be placed: %(error)s",
                    number=self.contact_address,
                    error=command.error,
                )
            )
        elif command.state == "sent":
            labels = {"listen": _("listens in"), "whisper": _("whispers"), "barge": _("barges in")}
            self._voip_note(
                _(
                    "%(supervisor)s %(mode)s on the call of %(agent)s.",
                    supervisor=user.name,
                    mode=labels[command.kind],
                    agent=self.agent_id.name,
                )
            )
