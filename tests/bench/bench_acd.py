"""ACD throughput: offers per second with many agents and a long queue, in
one process, next to im_livechat's operator choice for the same agents.
Concurrency across workers is proven by tests/e2e/test_acd_race.py.

    python3 tests/bench/bench_acd.py --agents 200 --waiting 5000
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env


def setup_center(env, agents, waiting):
    env = env(
        context=dict(
            env.context,
            tracking_disable=True,
            mail_create_nolog=True,
            mail_create_nosubscribe=True,
            mail_notrack=True,
        )
    )
    group = env.ref("omnichannel_cc.group_omnichannel_agent")
    started = time.perf_counter()
    users = env["res.users"]
    for start in range(0, agents, 50):
        users |= env["res.users"].create(
            [
                {
                    "name": f"Bench agent {i}",
                    "login": f"bench-agent-{i}-{time.time_ns()}",
                    "groups_id": [(6, 0, group.ids)],
                }
                for i in range(start, min(start + 50, agents))
            ]
        )
        _env.progress(len(users), agents, started, "agents")
    queue = queue_with_waiting_calls(
        env, users, waiting, {"name": "Bench", "ring_timeout": 600}, "Bench line", "bench"
    )
    return queue, users


def queue_with_waiting_calls(env, users, waiting, queue_values, line_name, id_prefix):
    """A queue of ``users`` (offline agents, one call each) behind a new phone
    line, with ``waiting`` calls already queued (created by 500, progress shown)."""
    queue = env["omnichannel.queue"].create(dict(queue_values, member_ids=[(6, 0, users.ids)]))
    channel = env["omnichannel.channel"].create(
        {
            "name": line_name,
            "channel_type": "phone",
            "address": f"+4822{time.time_ns() % 10**7:07d}",
            "queue_id": queue.id,
        }
    )
    env["omnichannel.agent"].create(
        [{"user_id": user.id, "capacity_voice": 1, "state": "offline"} for user in users]
    )
    started = time.perf_counter()
    created = 0
    while created < waiting:
        n = min(500, waiting - created)
        env["omnichannel.interaction"].create(
            [
                {
                    "channel_id": channel.id,
                    "queue_id": queue.id,
                    "state": "queued",
                    "external_id": f"{id_prefix}-{created + i}",
                }
                for i in range(n)
            ]
        )
        created += n
        _env.progress(created, waiting, started, "waiting calls")
    env.flush_all()
    return queue


def livechat_choice(env, users, rounds):
    """im_livechat picks an operator among online users (no claim, no offer)."""
    channel = env["im_livechat.channel"].create(
        {"name": "Bench livechat", "user_ids": [(6, 0, users.ids)]}
    )
    env.cr.execute(
        """INSERT INTO bus_presence (user_id, last_poll, last_presence, status)
           SELECT id, now() at time zone 'UTC', now() at time zone 'UTC', 'online'
             FROM res_users WHERE id IN %s
           ON CONFLICT DO NOTHING""",
        [tuple(users.ids)],
    )
    env.invalidate_all()
    samples = []
    chosen = 0
    for _i in range(rounds):
        channel.invalidate_recordset()
        t0 = time.perf_counter()
        operator = channel._get_operator()
        samples.append((time.perf_counter() - t0) * 1000)
        chosen += bool(operator)
    return _env.percentiles(samples), chosen


def main():
    p = _env.parser(__doc__, "omnichannel_bench_acd")
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--waiting", type=int, default=5000)
    p.add_argument("--seconds", type=float, default=60.0, help="length of the turnover phase")
    args = p.parse_args()
    _env.ensure_db(args.db, args.reset)
    with _env.environment(args.db) as env:
        print(f"setting up {args.agents} agents and {args.waiting:,} waiting calls...", flush=True)
        queue, users = setup_center(env, args.agents, args.waiting)
        Agent = env["omnichannel.agent"]
        agents = Agent.search([("user_id", "in", users.ids)])
        agents.write({"state": "available", "state_since": env.cr.now()})

        # 1. every agent free at once, 5,000 waiting: one dispatch pass
        t0 = time.perf_counter()
        offered = queue._dispatch(max_offers=args.agents * 2)
        env.flush_all()
        first_pass = time.perf_counter() - t0

        # 2. turnover: agents accept and close; each close offers the next call
        Offer = env["omnichannel.offer"]
        handled = 0
        latencies = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            pending = Offer.search(
                [("state", "=", "pending"), ("queue_id", "=", queue.id)], limit=50
            )
            if not pending:
                break
            for offer in pending:
                offer.action_accept()
                interaction = offer.interaction_id
                t1 = time.perf_counter()
                interaction.action_close()  # frees the agent: next offer at once
                latencies.append((time.perf_counter() - t1) * 1000)
                handled += 1
        turnover = time.perf_counter() - t0
        env.flush_all()

        env.cr.execute(
            """SELECT count(*) FROM (
                   SELECT interaction_id FROM omnichannel_offer
                    WHERE state IN ('pending', 'accepted') AND NOT ring_all
                    GROUP BY interaction_id HAVING count(*) > 1) d"""
        )
        doubles = env.cr.fetchone()[0]
        env.cr.execute(
            """SELECT count(*) FROM (
                   SELECT agent_id FROM omnichannel_interaction
                    WHERE state IN ('offered', 'active') AND queue_id = %s
                    GROUP BY agent_id HAVING count(*) > 1) d""",
            [queue.id],
        )
        over_capacity = env.cr.fetchone()[0]
        close_to_offer = _env.percentiles(latencies) if latencies else None
        livechat, chosen = livechat_choice(env, users, 200)

        _env.table(
            f"ACD, {args.agents} agents, {args.waiting:,} waiting ({_env.machine()}, one process)",
            [
                [
                    "first pass: offers",
                    offered,
                    f"{first_pass:.2f} s",
                    f"{offered / first_pass:,.0f} offers/s",
                ],
                [
                    "turnover: accept + close + next offer",
                    handled,
                    f"{turnover:.2f} s",
                    f"{handled / turnover:,.0f} assignments/s",
                ],
                [
                    "close-to-next-offer latency",
                    close_to_offer["n"] if close_to_offer else 0,
                    f"p50 {close_to_offer['p50']:.1f} ms" if close_to_offer else "-",
                    f"p95 {close_to_offer['p95']:.1f} ms" if close_to_offer else "-",
                ],
                [
                    "im_livechat _get_operator (choice only)",
                    livechat["n"],
                    f"p50 {livechat['p50']:.1f} ms",
                    f"p95 {livechat['p95']:.1f} ms ({chosen} chosen)",
                ],
            ],
            ["measure", "count", "time", "rate / latency"],
        )
        print(f"\ndouble assignments: {doubles}   agents above capacity: {over_capacity}")
        env.cr.rollback()


if __name__ == "__main__":
    main()
