"""What a ``/route`` that decides now and writes later would cost: the
floor of the design ``docs/deploy.md`` describes (*`/route`: where its time
goes*), measured in-process beside today's ``/route`` on the same calls.

Today's ``/route`` creates the interaction, routes it and makes the offer
(interaction, offer, agent state, state periods, tracking, bus) before it
answers. The decision alone reads what the answer needs and reserves the
agent:

1. the call's key claimed (``omnichannel.event.key``, one INSERT);
2. the caller identified (``res.partner.omnichannel_identify``);
3. the customer's facts (the query of ``_routing_facts``), the company's
   routing rules (read once, as a registry cache would keep them), the
   decision (``tools.routing.decide``);
4. whether calls already wait in the queue; if not, the queue's agents and
   their loads, ordered by ``tools.routing.order_candidates``, the best one
   locked (``FOR UPDATE SKIP LOCKED``) and its load read again under the
   lock;
5. one event-inbox row holding the decision, and the agent's round-robin
   stamp.

Each call runs in its own transaction, rolled back (nothing is kept; a
commit costs ~0.4 ms more here). Both paths run on the same callers, the
same registry, with a cold record cache per call. The floor is the bare
statements; the feature built on it since 2026-12-06 is a line's "Answer
routing first" (``omnichannel.channel.voip_fast_route``:
``omnichannel.interaction._voip_route_fast``, the reservation in the agents'
loads, the inbox applier's ``_voip_route_apply``), which ``bench_route.py``
measures over HTTP beside the answer after writing.

    python3 tests/bench/bench_route_floor.py --db bench_route_1m --calls 200

Needs ``bench_route.py``'s database (its agents, queue and rules).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env
from tests.bench import bench_ingest as ingest
from tests.bench import bench_route as route_bench

KINDS = route_bench.KINDS
CHANNEL_NAME = "Bench ingest line"  # bench_ingest.setup_center's PBX channel


def decide_now(env, channel, values, rules, cti, routing):
    """The statements of a decide-now ``/route``; returns the agent's user id."""
    from odoo.tools import SQL

    cr = env.cr
    cr.execute(
        """INSERT INTO omnichannel_event_key (scope, key, create_date)
           VALUES (%s, %s, now() AT TIME ZONE 'UTC')
           ON CONFLICT (scope, key) DO NOTHING RETURNING id""",
        [f"interaction:{channel.id}", values["call_id"]],
    )
    if not cr.fetchone():
        return None
    Interaction = env["omnichannel.interaction"]
    number = Interaction._normalize_contact_address(channel, values["from"])
    partner = Interaction._voip_identify(number)
    queue = channel.queue_id
    probe = Interaction.new(
        {
            "channel_id": channel.id,
            "company_id": channel.company_id.id,
            "partner_id": partner.id,
            "queue_id": queue.id,
        }
    )
    facts = (
        probe._routing_facts(routing.facts_needed(rules)) if partner and rules else routing.Facts()
    )
    decision = routing.decide(rules, facts, queue.id)
    queue = env["omnichannel.queue"].browse(decision.queue_id or queue.id)
    cr.execute(
        "SELECT 1 FROM omnichannel_interaction WHERE queue_id = %s AND state = 'queued' LIMIT 1",
        [queue.id],
    )
    agent_user = None
    if not cr.fetchone() and not decision.preferred_agent_id:
        rows = queue._agent_rows()
        candidates = queue._candidates(probe, rows, declined=set()) if rows else []
        for candidate in routing.order_candidates(queue.strategy, candidates):
            cr.execute(
                """SELECT id FROM omnichannel_agent
                    WHERE user_id = %s AND state IN ('available', 'busy')
                    FOR UPDATE SKIP LOCKED""",
                [candidate.user_id],
            )
            locked = cr.fetchone()
            if not locked:
                continue
            loads = env["omnichannel.agent"]._loads_of_users([candidate.user_id])
            if sum(loads.get(candidate.user_id, {}).values()) >= candidate.load + 1:
                continue
            agent_user = candidate.user_id
            cr.execute(
                """UPDATE omnichannel_agent SET last_offer_date = now() AT TIME ZONE 'UTC',
                          rr_seq = nextval('omnichannel_agent_rr_seq') WHERE id = %s""",
                [locked[0]],
            )
            break
    payload = {
        "values": values,
        "partner_id": partner.id,
        "queue_id": queue.id,
        "agent_id": agent_user,
        "rule_ids": list(decision.rule_ids),
    }
    cr.execute(
        SQL(
            """INSERT INTO omnichannel_event_inbox
                      (channel_id, company_id, kind, conversation, scope, key, state,
                       payload, received_at, attempts)
               VALUES (%s, %s, 'route', %s, %s, %s, 'pending', %s, now() AT TIME ZONE 'UTC', 0)""",
            channel.id,
            channel.company_id.id,
            values["call_id"],
            f"voip:{channel.id}",
            f"route|{values['call_id']}",
            json.dumps(payload),
        )
    )
    return agent_user


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="bench_route_1m")
    parser.add_argument("--calls", type=int, default=200, help="per kind and path")
    args = parser.parse_args()
    callers = route_bench.sample_callers(args.db)
    rows = []
    with _env.environment(args.db) as env:
        from odoo import SUPERUSER_ID

        from odoo.addons.omnichannel_cc.tools import routing
        from odoo.addons.omnichannel_cc_voip.tools import cti

        env = env(user=SUPERUSER_ID, su=True)
        channel = env["omnichannel.channel"].search([("name", "=", CHANNEL_NAME)], limit=1)
        if not channel:
            sys.exit(f"{args.db} has no channel {CHANNEL_NAME!r}: run bench_route.py first")
        channel = channel.with_company(channel.company_id)
        Interaction = channel.env["omnichannel.interaction"]
        rules = Interaction._routing_rules(channel.company_id.id)
        env.cr.rollback()
        for kind in KINDS:
            samples = {"today's /route": [], "decide now": []}
            offered = {"today's /route": 0, "decide now": 0}
            for n in range(args.calls + 3):
                for path, timed in samples.items():
                    values = {
                        "call_id": f"floor{time.time_ns()}",
                        "from": cti.sip_user(route_bench.caller(callers, kind, n)),
                        "to": ingest.DID,
                        "timestamp": int(time.time()),
                    }
                    env.invalidate_all()
                    started = time.perf_counter()
                    if path == "decide now":
                        agent = decide_now(channel.env, channel, values, rules, cti, routing)
                    else:
                        agent = Interaction._voip_route(channel, values)["agent_id"]
                        env.flush_all()
                        env.cr.precommit.run()
                    elapsed = (time.perf_counter() - started) * 1000
                    env.cr.rollback()  # clears the pre- and post-commit hooks too
                    if n >= 3:  # warm-up calls
                        timed.append(elapsed)
                        offered[path] += bool(agent)
            for path, timed in samples.items():
                stats = _env.percentiles(timed)
                rows.append(
                    [
                        kind,
                        path,
                        f"{stats['p50']:.1f}",
                        f"{stats['p95']:.1f}",
                        f"{offered[path]}/{len(timed)}",
                    ]
                )
    _env.table(
        f"/route in-process on {args.db}, {args.calls} calls per kind and path, "
        "each rolled back (no commit):",
        rows,
        ["kind", "path", "p50 ms", "p95 ms", "offered"],
    )


if __name__ == "__main__":
    main()
