"""omnichannel_cc/tools/routing.py: routing rules, agent ordering and queue order, without Odoo."""

import sys
import unittest

from tests.unit._tools import load_tools

(routing,) = load_tools("routing")
Candidate, Facts, Rule = routing.Candidate, routing.Facts, routing.Rule


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


class TestRoutingLogic(unittest.TestCase):
    """Routing decisions without a database."""

    def test_debtor_rule_beats_default_queue(self):
        rules = [
            Rule(
                id=1, channel_ids=frozenset({7}), min_overdue_amount=0.01, queue_id=20, priority=10
            ),
            Rule(id=2, queue_id=30),
        ]
        debtor = Facts(channel_id=7, overdue_amount=120.0)
        self.assertEqual(routing.decide(rules, debtor, 10).queue_id, 20)
        self.assertEqual(routing.decide(rules, debtor, 10).priority, 10)
        payer = Facts(channel_id=7, overdue_amount=0.0)
        self.assertEqual(routing.decide(rules, payer, 10).queue_id, 30)
        other_line = Facts(channel_id=8, overdue_amount=500.0)
        self.assertEqual(routing.decide(rules, other_line, 10).rule_ids, [2])

    def test_no_rule_keeps_default(self):
        decision = routing.decide([], Facts(), 10)
        self.assertEqual((decision.queue_id, decision.priority, decision.rule_ids), (10, 0, []))

    def test_case_owner_and_sticky(self):
        rules = [
            Rule(
                id=1, require_open_case=True, prefer=routing.PREFER_CASE_OWNER, preferred_timeout=60
            ),
            Rule(id=2, sticky_days=7, prefer=routing.PREFER_LAST_AGENT, preferred_timeout=20),
        ]
        with_case = Facts(case_owner_id=5, last_agent_id=6, last_agent_age_days=1)
        decision = routing.decide(rules, with_case, 10)
        self.assertEqual((decision.preferred_agent_id, decision.preferred_timeout), (5, 60))
        recent = Facts(last_agent_id=6, last_agent_age_days=3)
        self.assertEqual(routing.decide(rules, recent, 10).preferred_agent_id, 6)
        old = Facts(last_agent_id=6, last_agent_age_days=9)
        self.assertEqual(routing.decide(rules, old, 10).preferred_agent_id, 0)

    def test_conditions(self):
        rule = Rule(
            id=1,
            channel_types=frozenset({"phone"}),
            langs=frozenset({"pl_PL"}),
            country_ids=frozenset({1}),
            category_ids=frozenset({3, 4}),
            min_customer_rank=2,
            require_unpaid=True,
            require_open_order=True,
        )
        good = Facts(
            channel_type="phone",
            lang="pl_PL",
            country_id=1,
            category_ids=frozenset({4}),
            customer_rank=5,
            unpaid_count=1,
            open_order_count=2,
        )
        self.assertTrue(routing.rule_matches(rule, good))
        for change in (
            {"channel_type": "email"},
            {"lang": "en_US"},
            {"country_id": 2},
            {"category_ids": frozenset({9})},
            {"customer_rank": 1},
            {"unpaid_count": 0},
            {"open_order_count": 0},
        ):
            facts = Facts(**dict(good.__dict__, **change))
            self.assertFalse(routing.rule_matches(rule, facts), change)

    def test_non_stop_rules_accumulate(self):
        rules = [
            Rule(id=1, priority=5, skill_id=3, stop=False),
            Rule(id=2, priority=2, queue_id=40, stop=False),
            Rule(id=3, queue_id=50),
            Rule(id=4, queue_id=60),
        ]
        decision = routing.decide(rules, Facts(), 10)
        self.assertEqual(
            (decision.queue_id, decision.priority, decision.skill_id, decision.rule_ids),
            (40, 7, 3, [1, 2, 3]),
        )

    def test_facts_needed_decide_alike(self):
        """Only the facts the rules test are read (``facts_needed``): on
        random rules and customers, leaving the others at their defaults
        never changes the decision."""
        import dataclasses
        import random

        rnd = random.Random(20261207)
        # each costly fact, the Facts fields it fills
        fields_of = {
            routing.FACT_OVERDUE: ("overdue_amount",),
            routing.FACT_UNPAID: ("unpaid_count",),
            routing.FACT_OPEN_ORDERS: ("open_order_count",),
            routing.FACT_CASE_OWNER: ("case_owner_id",),
            routing.FACT_LAST_AGENT: ("last_agent_id", "last_agent_age_days"),
            routing.FACT_CATEGORIES: ("category_ids",),
        }
        self.assertEqual(set(fields_of), routing.ALL_FACTS)
        defaults = Facts()

        def some(values):
            return rnd.choice(values)

        for _round in range(3000):
            rules = [
                Rule(
                    id=n,
                    category_ids=frozenset(some([(), (1,), (1, 2)])),
                    min_overdue_amount=some([0, 0, 50.0]),
                    require_unpaid=some([False, False, True]),
                    require_open_order=some([False, False, True]),
                    require_open_case=some([False, False, True]),
                    sticky_days=some([0, 0, 7]),
                    queue_id=some([0, 20, 30]),
                    priority=some([0, 5]),
                    prefer=some(
                        [routing.PREFER_NONE, routing.PREFER_CASE_OWNER, routing.PREFER_LAST_AGENT]
                    ),
                    preferred_timeout=30,
                    stop=some([True, False]),
                )
                for n in range(some([1, 2, 3]))
            ]
            facts = Facts(
                category_ids=frozenset(some([(), (2,), (3,)])),
                overdue_amount=some([0.0, 80.0]),
                unpaid_count=some([0, 2]),
                open_order_count=some([0, 1]),
                case_owner_id=some([0, 41]),
                last_agent_id=some([0, 42]),
                last_agent_age_days=some([0.0, 3.0, 30.0]),
                identified=True,
            )
            needed = routing.facts_needed(rules)
            unread = {
                fname: getattr(defaults, fname)
                for fact, fnames in fields_of.items()
                if fact not in needed
                for fname in fnames
            }
            partial = dataclasses.replace(facts, **unread)
            self.assertEqual(routing.decide(rules, facts, 10), routing.decide(rules, partial, 10))

    def test_strategies(self):
        a = Candidate(user_id=1, idle_seconds=100, load=2, last_assigned_seq=9, skill_level=2)
        b = Candidate(user_id=2, idle_seconds=300, load=1, last_assigned_seq=5, skill_level=5)
        c = Candidate(user_id=3, idle_seconds=50, load=0, last_assigned_seq=7, skill_level=3)
        pool = [a, b, c]

        def ids(strategy, required_skill=False):
            return [x.user_id for x in routing.order_candidates(strategy, pool, required_skill)]

        self.assertEqual(ids(routing.LONGEST_IDLE), [2, 1, 3])
        self.assertEqual(ids(routing.LEAST_BUSY), [3, 2, 1])
        self.assertEqual(ids(routing.ROUND_ROBIN), [2, 3, 1])
        self.assertEqual(ids(routing.SKILLS, True), [2, 3, 1])
        self.assertEqual(ids(routing.RING_ALL), [2, 1, 3])
        with self.assertRaises(ValueError):
            routing.order_candidates("random", pool)

    def test_tiers_penalties_capacity_skills(self):
        tier1_full = Candidate(user_id=1, tier=1, free_slots=0, idle_seconds=999)
        tier1_free = Candidate(user_id=2, tier=1, penalty=5, idle_seconds=10)
        tier1_free_low_penalty = Candidate(user_id=3, tier=1, penalty=0, idle_seconds=1)
        tier2 = Candidate(user_id=4, tier=2, idle_seconds=5000)
        ordered = routing.order_candidates(
            routing.LONGEST_IDLE, [tier1_full, tier1_free, tier1_free_low_penalty, tier2]
        )
        self.assertEqual([c.user_id for c in ordered], [3, 2])
        ordered = routing.order_candidates(routing.LONGEST_IDLE, [tier1_full, tier2])
        self.assertEqual([c.user_id for c in ordered], [4])
        unskilled = Candidate(user_id=5, skill_level=0)
        self.assertEqual(
            routing.order_candidates(routing.SKILLS, [unskilled], required_skill=True), []
        )

    def test_waiting_order_with_aging(self):
        # (id, priority, waited seconds)
        items = [(1, 0, 600), (2, 5, 10), (3, 0, 30), (4, 5, 60)]
        self.assertEqual([i[0] for i in routing.order_waiting(items, 60)], [1, 4, 2, 3])
        # strict priority without aging
        self.assertEqual([i[0] for i in routing.order_waiting(items, 0)], [4, 2, 1, 3])

    def test_derived_state(self):
        self.assertEqual(routing.derived_state("available", 0, 0), "available")
        self.assertEqual(routing.derived_state("available", 1, 0), "busy")
        self.assertEqual(routing.derived_state("busy", 0, 12), "wrapup")
        self.assertEqual(routing.derived_state("break", 2, 12), "break")
        self.assertEqual(routing.derived_state("offline", 0, 0), "offline")
