"""The ACD under real concurrency: a server with several workers, many
simultaneous requests, and the invariants that must hold afterwards.

- an interaction is never offered to two agents at once (ring-all aside);
- with ring-all, exactly one accept wins;
- no agent ever holds more than their capacity.
"""

import uuid
from collections import Counter

import pytest

from tests.e2e.conftest import run_parallel

pytestmark = pytest.mark.e2e

AGENTS = 6
CALLS = 40
THREADS = 8
# a burst not over by then has a stuck request: fail, do not hang
BURST_TIMEOUT = 600


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def center(odoo_server, poland):
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    group = rpc.ref("omnichannel_cc.group_omnichannel_agent")
    agents = []
    for index in range(AGENTS):
        login = unique(f"race-agent-{index}")
        user_id = rpc.call(
            "res.users",
            "create",
            {"name": login, "login": login, "password": login, "groups_id": [(6, 0, [group])]},
        )
        agents.append((user_id, login))
    # log in before the races: ServerProxy objects are not thread-safe
    uids = {login: rpc.login(login, login) for _user_id, login in agents}
    user_ids = [user_id for user_id, _login in agents]
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique("Race"), "ring_timeout": 300, "member_ids": [(6, 0, user_ids)]},
    )
    number = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Race line", "channel_type": "phone", "address": number, "queue_id": queue},
    )
    for user_id in user_ids:
        rpc.call("omnichannel.agent", "create", {"user_id": user_id, "capacity_voice": 1})
    return {
        "queue": queue,
        "channel": number,
        "channel_id": channel,
        "agents": agents,
        "uids": uids,
    }


def holdings(rpc, user_ids):
    """Interactions each agent holds (offered or active) and pending offers."""
    held = rpc.call(
        "omnichannel.interaction",
        "search_read",
        [("agent_id", "in", user_ids), ("state", "in", ["offered", "active"])],
        fields=["agent_id"],
    )
    offers = rpc.call(
        "omnichannel.offer",
        "search_read",
        [("user_id", "in", user_ids), ("state", "=", "pending")],
        fields=["user_id", "interaction_id"],
    )
    return (
        Counter(row["agent_id"][0] for row in held),
        Counter(row["user_id"][0] for row in offers),
        Counter(row["interaction_id"][0] for row in offers),
    )


def test_concurrent_arrivals_and_agents_becoming_free(odoo_server, center):
    rpc = odoo_server
    user_ids = [user_id for user_id, _login in center["agents"]]

    def push(external_id):
        return lambda: rpc.call(
            "omnichannel.interaction",
            "api_inbound",
            {
                "channel_type": "phone",
                "channel": center["channel"],
                "from": "+48 601 000 111",
                "external_id": external_id,
            },
        )

    def available(user_id, login):
        uid = center["uids"][login]
        return lambda: rpc.call(
            "omnichannel.agent", "action_my_state", "available", uid=uid, password=login
        )

    # calls arrive while every agent logs in as available, all at once
    jobs = [push(unique("race-call")) for _ in range(CALLS)]
    jobs += [available(user_id, login) for user_id, login in center["agents"]]
    results, errors = run_parallel(jobs, THREADS, timeout=BURST_TIMEOUT)
    assert not errors, errors[:3]
    assert len(results) == CALLS + AGENTS

    # a sweep catches what the events may have left (as the cron does)
    rpc.call("omnichannel.queue", "search", [])
    held, pending_by_agent, pending_by_interaction = holdings(rpc, user_ids)
    assert max(held.values(), default=0) <= 1, held
    assert max(pending_by_agent.values(), default=0) <= 1, pending_by_agent
    assert max(pending_by_interaction.values(), default=0) <= 1, pending_by_interaction
    waiting = rpc.call(
        "omnichannel.interaction",
        "search_count",
        [("queue_id", "=", center["queue"]), ("state", "=", "queued")],
    )
    offered = rpc.call(
        "omnichannel.interaction",
        "search_count",
        [("queue_id", "=", center["queue"]), ("state", "=", "offered")],
    )
    assert offered + waiting == CALLS
    # every agent got exactly one call: nobody idles while calls wait
    assert offered == AGENTS, (offered, held)

    # agents accept their offers concurrently; each accept succeeds once
    offers = rpc.call(
        "omnichannel.offer",
        "search_read",
        [("user_id", "in", user_ids), ("state", "=", "pending")],
        fields=["user_id"],
    )
    logins = dict(center["agents"])

    def accept(offer):
        login = logins[offer["user_id"][0]]
        uid = center["uids"][login]
        return lambda: rpc.call(
            "omnichannel.offer", "action_accept", [offer["id"]], uid=uid, password=login
        )

    results, errors = run_parallel(
        [accept(offer) for offer in offers], THREADS, timeout=BURST_TIMEOUT
    )
    assert not errors, errors[:3]
    assert {result["state"] for result in results} == {"active"}
    held, _pending, _by_interaction = holdings(rpc, user_ids)
    assert max(held.values()) == 1


def test_ring_all_exactly_one_accept_wins(odoo_server, center):
    rpc = odoo_server
    agents = center["agents"][:5]
    user_ids = [user_id for user_id, _login in agents]
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {
            "name": unique("Ring all"),
            "strategy": "ring_all",
            "ring_timeout": 300,
            "member_ids": [(6, 0, user_ids)],
        },
    )
    # free the agents from the previous test's calls: out of the other
    # queues first (a freed agent is offered the next waiting call at once)
    others = rpc.call(
        "omnichannel.queue.member",
        "search",
        [("user_id", "in", user_ids), ("queue_id", "!=", queue)],
    )
    rpc.call("omnichannel.queue.member", "write", others, {"logged_in": False})
    for states, action in (
        (["queued", "offered"], "action_abandon"),
        (["active", "wrapup"], "action_close"),
    ):
        ids = rpc.call("omnichannel.interaction", "search", [("state", "in", states)])
        if ids:
            rpc.call("omnichannel.interaction", action, ids)
    number = f"+4822{uuid.uuid4().int % 10**7:07d}"
    rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Ring line", "channel_type": "phone", "address": number, "queue_id": queue},
    )
    result = rpc.call(
        "omnichannel.interaction",
        "api_inbound",
        {
            "channel_type": "phone",
            "channel": number,
            "from": "+48 601 000 222",
            "external_id": unique("ring"),
        },
    )
    interaction_id = result["interaction_id"]
    offers = rpc.call(
        "omnichannel.offer",
        "search_read",
        [("interaction_id", "=", interaction_id), ("state", "=", "pending")],
        fields=["user_id"],
    )
    assert len(offers) == len(agents)
    logins = dict(agents)

    def accept(offer):
        login = logins[offer["user_id"][0]]
        uid = center["uids"][login]
        return lambda: rpc.call(
            "omnichannel.offer", "action_accept", [offer["id"]], uid=uid, password=login
        )

    results, errors = run_parallel(
        [accept(offer) for offer in offers], len(offers), timeout=BURST_TIMEOUT
    )
    assert len(results) == 1, (results, errors)
    assert len(errors) == len(offers) - 1
    assert all("went elsewhere" in error or "first" in error for error in errors), errors
    interaction = rpc.call(
        "omnichannel.interaction", "read", [interaction_id], ["state", "agent_id"]
    )[0]
    assert interaction["state"] == "active"
    accepted = rpc.call(
        "omnichannel.offer",
        "search_read",
        [("interaction_id", "=", interaction_id), ("state", "=", "accepted")],
        fields=["user_id"],
    )
    assert len(accepted) == 1
    assert accepted[0]["user_id"][0] == interaction["agent_id"][0]
