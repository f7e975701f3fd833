"""Routing decisions of the ACD: pure functions fed plain data.

The models gather facts (ERP figures of the customer, agents' states and
loads) with a few indexed queries and call in here; nothing in this module
touches the database, so every decision is tested without one.
"""

from dataclasses import dataclass, field

# Agent strategies of a queue
LONGEST_IDLE = "longest_idle"
LEAST_BUSY = "least_busy"
ROUND_ROBIN = "round_robin"
SKILLS = "skills"
RING_ALL = "ring_all"
STRATEGIES = (LONGEST_IDLE, LEAST_BUSY, ROUND_ROBIN, SKILLS, RING_ALL)

# Preferred-agent modes of a routing rule
PREFER_NONE = "none"
PREFER_CASE_OWNER = "case_owner"
PREFER_LAST_AGENT = "last_agent"
PREFER_USER = "user"


@dataclass(frozen=True)
class Facts:
    """What is known of one interaction and its customer when it is queued."""

    channel_id: int = 0
    channel_type: str = ""
    lang: str = ""
    country_id: int = 0
    category_ids: frozenset = frozenset()
    overdue_amount: float = 0.0
    unpaid_count: int = 0
    open_order_count: int = 0
    customer_rank: int = 0
    case_owner_id: int = 0
    last_agent_id: int = 0
    last_agent_age_days: float = 0.0
    identified: bool = False


@dataclass(frozen=True)
class Rule:
    """A routing rule: every condition that is set must hold."""

    id: int
    channel_ids: frozenset = frozenset()
    channel_types: frozenset = frozenset()
    langs: frozenset = frozenset()
    country_ids: frozenset = frozenset()
    category_ids: frozenset = frozenset()
    min_overdue_amount: float = 0.0
    require_unpaid: bool = False
    require_open_order: bool = False
    min_customer_rank: int = 0
    require_open_case: bool = False
    sticky_days: int = 0
    # actions
    queue_id: int = 0
    priority: int = 0
    skill_id: int = 0
    prefer: str = PREFER_NONE
    preferred_user_id: int = 0
    preferred_timeout: int = 0
    stop: bool = True


@dataclass
class Decision:
    queue_id: int = 0
    priority: int = 0
    skill_id: int = 0
    preferred_agent_id: int = 0
    preferred_timeout: int = 0
    rule_ids: list = field(default_factory=list)


def rule_matches(rule, facts):
    if rule.channel_ids and facts.channel_id not in rule.channel_ids:
        return False
    if rule.channel_types and facts.channel_type not in rule.channel_types:
        return False
    if rule.langs and facts.lang not in rule.langs:
        return False
    if rule.country_ids and facts.country_id not in rule.country_ids:
        return False
    if rule.category_ids and not (rule.category_ids & set(facts.category_ids)):
        return False
    if rule.min_overdue_amount and facts.overdue_amount < rule.min_overdue_amount:
        return False
    if rule.require_unpaid and not facts.unpaid_count:
        return False
    if rule.require_open_order and not facts.open_order_count:
        return False
    if rule.min_customer_rank and facts.customer_rank < rule.min_customer_rank:
        return False
    if rule.require_open_case and not facts.case_owner_id:
        return False
    served_recently = facts.last_agent_id and facts.last_agent_age_days <= rule.sticky_days
    return not (rule.sticky_days and not served_recently)


# The customer's facts that cost a sub-query to read (the others come with
# the customer's row): only those some rule tests are read
FACT_OVERDUE = "overdue"
FACT_UNPAID = "unpaid"
FACT_OPEN_ORDERS = "open_orders"
FACT_CASE_OWNER = "case_owner"
FACT_LAST_AGENT = "last_agent"
FACT_CATEGORIES = "categories"
ALL_FACTS = frozenset(
    (
        FACT_OVERDUE,
        FACT_UNPAID,
        FACT_OPEN_ORDERS,
        FACT_CASE_OWNER,
        FACT_LAST_AGENT,
        FACT_CATEGORIES,
    )
)


def facts_needed(rules):
    """The facts of ``ALL_FACTS`` that ``rules`` test or prefer an agent by:
    :func:`decide` gives the same decision when the others are left at
    their defaults."""
    needed = set()
    for rule in rules:
        if rule.min_overdue_amount:
            needed.add(FACT_OVERDUE)
        if rule.require_unpaid:
            needed.add(FACT_UNPAID)
        if rule.require_open_order:
            needed.add(FACT_OPEN_ORDERS)
        if rule.require_open_case or rule.prefer == PREFER_CASE_OWNER:
            needed.add(FACT_CASE_OWNER)
        if rule.sticky_days or rule.prefer == PREFER_LAST_AGENT:
            needed.add(FACT_LAST_AGENT)
        if rule.category_ids:
            needed.add(FACT_CATEGORIES)
    return frozenset(needed)


def _preferred_agent(rule, facts):
    if rule.prefer == PREFER_CASE_OWNER:
        return facts.case_owner_id
    if rule.prefer == PREFER_LAST_AGENT:
        if rule.sticky_days and facts.last_agent_age_days > rule.sticky_days:
            return 0
        return facts.last_agent_id
    if rule.prefer == PREFER_USER:
        return rule.preferred_user_id
    return 0


def decide(rules, facts, default_queue_id):
    """Apply ordered rules to the facts.

    The first matching rule that names a queue sets it; priorities add up;
    the first skill and the first preferred agent found win. A rule with
    ``stop`` ends the evaluation.
    """
    decision = Decision(queue_id=default_queue_id)
    queue_set = False
    for rule in rules:
        if not rule_matches(rule, facts):
            continue
        decision.rule_ids.append(rule.id)
        if rule.queue_id and not queue_set:
            decision.queue_id = rule.queue_id
            queue_set = True
        decision.priority += rule.priority
        if rule.skill_id and not decision.skill_id:
            decision.skill_id = rule.skill_id
        preferred = _preferred_agent(rule, facts)
        if preferred and not decision.preferred_agent_id:
            decision.preferred_agent_id = preferred
            decision.preferred_timeout = rule.preferred_timeout
        if rule.stop:
            break
    return decision


@dataclass(frozen=True)
class Candidate:
    """An agent who could take an interaction now."""

    user_id: int
    tier: int = 0  # lower tiers first; a higher tier only when nobody is free above
    penalty: int = 0
    skill_level: int = 0  # of the required skill, 0 when none is required
    idle_seconds: float = 0.0  # since the agent's last interaction ended
    load: int = 0  # interactions the agent holds now, all channels
    free_slots: int = 1  # capacity left for this channel type
    last_assigned_seq: int = 0  # round robin memory: higher = served more recently


def eligible(candidates, required_skill=False):
    return [c for c in candidates if c.free_slots > 0 and (not required_skill or c.skill_level > 0)]


def order_candidates(strategy, candidates, required_skill=False):
    """Agents in the order they are offered the interaction.

    Only the best tier that has a free agent is returned: a lower tier is
    tried only when nobody is free in the upper one.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    pool = eligible(candidates, required_skill)
    if not pool:
        return []
    best_tier = min(c.tier for c in pool)
    pool = [c for c in pool if c.tier == best_tier]
    if strategy in (LONGEST_IDLE, RING_ALL):
        key = lambda c: (c.penalty, -c.idle_seconds, c.user_id)
    elif strategy == LEAST_BUSY:
        key = lambda c: (c.penalty, c.load, -c.idle_seconds, c.user_id)
    elif strategy == ROUND_ROBIN:
        key = lambda c: (c.penalty, c.last_assigned_seq, c.user_id)
    else:  # SKILLS: best level first, then longest idle
        key = lambda c: (-c.skill_level, c.penalty, -c.idle_seconds, c.user_id)
    return sorted(pool, key=key)


def waiting_score(priority, wait_seconds, aging_seconds):
    """Higher is served first. Every ``aging_seconds`` of waiting is worth
    one priority point, so low-priority work is not starved."""
    aging = wait_seconds / aging_seconds if aging_seconds else 0.0
    return priority + aging


def order_waiting(items, aging_seconds):
    """items: (id, priority, wait_seconds); best first, ties by longest wait."""
    return sorted(
        items,
        key=lambda item: (-waiting_score(item[1], item[2], aging_seconds), -item[2], item[0]),
    )


# Channel types grouped by how an agent's capacity is counted
CHANNEL_CLASS = {
    "phone": "voice",
    "video": "voice",
    "chat": "chat",
    "social": "chat",
    "sms": "chat",
    "email": "email",
    "webform": "email",
    "fax": "email",
}
CHANNEL_CLASSES = ("voice", "chat", "email")


def derived_state(state, load, wrapup_left_seconds):
    """Presence an agent shows from their chosen state and their work.

    offline and break are chosen by the agent and kept; otherwise the agent
    is in wrap-up while its timer runs, busy while holding work, else
    available.
    """
    if state in ("offline", "break"):
        return state
    if wrapup_left_seconds > 0:
        return "wrapup"
    return "busy" if load else "available"
