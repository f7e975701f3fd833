"""omnichannel_cc/tools/pacing.py: the dialer's pacing, without Odoo, and a small
simulated day through it (tests/bench/_dialer_sim.py)."""

import json
import random
import sys
import unittest

from tests.bench import _dialer_sim as sim
from tests.unit._tools import load_tools

(pacing,) = load_tools("pacing", addon="omnichannel_cc")
Settings = pacing.PacingSettings
Input = pacing.PacingInput
T0 = 1_000_000.0


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def warmed(settings, live=1000, abandoned=0, at=T0):
    """A state whose window already holds ``live`` answered calls, ``abandoned`` of them
    abandoned, reported an hour before ``at`` (outside the control window)."""
    state = pacing.PacingState(settings)
    for i in range(live):
        outcome = "abandoned" if i < abandoned else "connected"
        state.record_attempt(at - 3600 - live + i, outcome, 12.0)
    return state


def run_controller(state, start, seconds, live_per_minute=10, abandon_every=0):
    """Decisions every 5 s for ``seconds``, with live answers reported as they come;
    every ``abandon_every``-th of them abandoned. Returns the levels decided."""
    levels = []
    count = 0
    for second in range(0, seconds, 5):
        now = start + second
        if second % (60 // live_per_minute) == 0:
            count += 1
            abandoned = abandon_every and count % abandon_every == 0
            state.record_attempt(now, "abandoned" if abandoned else "connected", 12.0)
        levels.append(state.decide(Input(now, agents_available=4)).level)
    return levels


class TestValidation(unittest.TestCase):
    def assertRefused(self, fragment, **values):
        with self.assertRaises(pacing.PacingError) as caught:
            Settings(**values)
        self.assertIn(fragment, str(caught.exception))
        return caught.exception

    def test_modes(self):
        self.assertRefused("Unknown dial mode 'robo'", mode="robo")
        self.assertRefused("Preview campaigns are dialed by the agent", mode="preview")
        for mode in pacing.MODES:
            self.assertEqual(Settings(mode).mode, mode)

    def test_power_ratio(self):
        error = self.assertRefused("between 1.0 and 3.0", mode="power", power_ratio=0.9)
        self.assertIn("got 0.9", str(error))
        self.assertRefused("got 3.5", mode="power", power_ratio=3.5)
        self.assertEqual(Settings("power", power_ratio=3.0).power_ratio, 3.0)
        self.assertEqual(Settings("power", power_ratio=1.0).power_ratio, 1.0)
        self.assertIsInstance(pacing.PacingError("x"), ValueError)

    def test_target_window_and_limits(self):
        self.assertRefused("(got 0.0 %)", mode="predictive", abandon_target=0.0)
        self.assertRefused("(got 12.0 %)", mode="predictive", abandon_target=0.12)
        self.assertRefused("24 hours (86400 s) or 30 days", mode="predictive", window_seconds=3600)
        self.assertEqual(
            Settings("predictive", window_seconds=pacing.WINDOW_30D).window_seconds, 2592000
        )
        self.assertRefused("maximum dial level", mode="predictive", max_level=0.5)
        self.assertRefused("cannot be negative", mode="predictive", ki=-1)
        self.assertRefused("setpoint ratio", mode="predictive", setpoint_ratio=1.5)
        self.assertRefused("look-ahead", mode="predictive", lookahead=-1)
        self.assertRefused("shorter than one bucket", mode="predictive", control_window=30)

    def test_inputs(self):
        with self.assertRaisesRegex(pacing.PacingError, "Agents available must be a whole"):
            Input(T0, agents_available=-1)
        with self.assertRaisesRegex(pacing.PacingError, r"Calls ringing .*got 1\.5"):
            Input(T0, agents_available=1, calls_ringing=1.5)
        with self.assertRaisesRegex(pacing.PacingError, "Calls waiting"):
            Input(T0, agents_available=1, calls_waiting=True)
        with self.assertRaisesRegex(pacing.PacingError, "Wrap-up seconds left"):
            Input(T0, agents_available=1, wrapup_seconds_left=[3, -2])
        state = pacing.PacingState(Settings("predictive"))
        with self.assertRaisesRegex(pacing.PacingError, "Unknown call outcome 'voicemail'"):
            state.record_attempt(T0, "voicemail")
        with self.assertRaisesRegex(pacing.PacingError, "cannot be negative"):
            state.record_handled(T0, -1, 5)


class TestProgressiveAndPower(unittest.TestCase):
    def test_progressive_one_line_per_free_agent(self):
        state = pacing.PacingState(Settings("progressive"))
        decision = state.decide(Input(T0, agents_available=5, wrapup_seconds_left=(1, 2)))
        self.assertEqual((decision.calls, decision.lines_allowed), (5, 5))
        self.assertEqual((decision.reason, decision.level), ("progressive", 1.0))
        self.assertFalse(decision.guard)  # the guard is the predictive mode's
        # lines in progress count against the free agents; never negative
        decision = state.decide(Input(T0, agents_available=5, calls_ringing=3, calls_waiting=1))
        self.assertEqual(decision.calls, 1)
        self.assertEqual(state.decide(Input(T0, 2, calls_ringing=4)).calls, 0)
        # agents in wrap-up are not free yet, whatever is left of it
        decision = state.decide(Input(T0, agents_available=0, wrapup_seconds_left=(0.5,)))
        self.assertEqual((decision.calls, decision.reason), (0, "no_agents"))

    def test_power_fixed_ratio(self):
        cases = [(1.5, 1, 0, 1), (1.5, 2, 0, 3), (1.5, 4, 2, 4), (2.0, 3, 0, 6), (3.0, 3, 5, 4)]
        for ratio, agents, ringing, calls in cases:
            state = pacing.PacingState(Settings("power", power_ratio=ratio))
            decision = state.decide(Input(T0, agents, calls_ringing=ringing))
            self.assertEqual(decision.calls, calls, (ratio, agents, ringing))
            self.assertEqual((decision.reason, decision.level), ("power", ratio))
        state = pacing.PacingState(Settings("power", power_ratio=3.0))
        self.assertEqual(state.decide(Input(T0, 0, wrapup_seconds_left=(1,))).calls, 0)

    def test_no_mode_exceeds_its_lines(self):
        rng = random.Random(7)
        modes = [
            Settings("progressive"),
            Settings("power", power_ratio=1.7),
            Settings("predictive"),
        ]
        for settings in modes:
            state = warmed(settings)
            for step in range(2000):
                inputs = Input(
                    T0 + step,
                    agents_available=rng.randint(0, 12),
                    wrapup_seconds_left=[rng.uniform(0, 60) for _ in range(rng.randint(0, 6))],
                    calls_ringing=rng.randint(0, 20),
                    calls_waiting=rng.randint(0, 3),
                )
                decision = state.decide(inputs)
                in_progress = inputs.calls_ringing + inputs.calls_waiting
                self.assertGreaterEqual(decision.calls, 0)
                if decision.calls:
                    self.assertLessEqual(
                        in_progress + decision.calls, sim.mode_limit(settings, inputs)
                    )
                    self.assertEqual(in_progress + decision.calls, decision.lines_allowed)


class TestPredictive(unittest.TestCase):
    def test_counts_agents_soon_free_and_caps_the_level(self):
        state = warmed(Settings("predictive", lookahead=10.0, max_level=2.0))
        state.level = 1.5
        state.last_adapt = T0  # no adaptation in this decision
        decision = state.decide(Input(T0, 2, wrapup_seconds_left=(3.0, 10.0, 25.0)))
        self.assertEqual((decision.reason, decision.agents_soon_free), ("predictive", 2))
        self.assertEqual((decision.lines_allowed, decision.calls), (6, 6))  # 1.5 * (2 + 2)
        self.assertEqual(state.decide(Input(T0, 2, (3.0,), calls_ringing=4)).calls, 1)
        # nobody free yet, one agent nearly done: dialing for it ahead of time
        self.assertEqual(state.decide(Input(T0, 0, (2.0,))).calls, 2)
        # the controller never goes past the maximum level
        run_controller(state, T0 + 1, 7200)
        self.assertEqual(state.level, 2.0)

    def test_lookahead_from_the_window(self):
        state = pacing.PacingState(Settings("predictive"))
        self.assertEqual(state.lookahead, pacing.DEFAULT_LOOKAHEAD)
        state.record_attempt(T0, "connected", 8.0)
        state.record_attempt(T0, "abandoned", 14.0)
        state.record_attempt(T0, "machine", 40.0)  # machines do not count
        self.assertEqual(state.lookahead, 11.0)

    def test_guard_falls_back_to_progressive_until_back_under(self):
        # 4 abandoned in 130 live answers (3.1 %): over the 3 % target
        state = warmed(Settings("predictive"), live=130, abandoned=4)
        state.level = 2.5
        inputs = Input(T0, 3, wrapup_seconds_left=(1.0, 2.0))
        decision = state.decide(inputs)
        self.assertTrue(decision.guard)
        self.assertEqual((decision.reason, decision.calls, decision.level), ("guard", 3, 1.0))
        self.assertAlmostEqual(decision.abandon_rate, 4 / 130)
        # under the target but one more abandoned call would cross it: still guarded
        for i in range(35):
            state.record_attempt(T0 - 100 + i, "connected")
        self.assertTrue(state.decide(inputs).guard)  # 5 / 166 > 3 %
        state.record_attempt(T0 - 50, "connected")
        decision = state.decide(inputs)  # 5 / 167 <= 3 %
        self.assertFalse(decision.guard)
        self.assertEqual(decision.reason, "predictive")
        self.assertGreater(decision.calls, 3)

    def test_new_window_starts_progressive(self):
        state = pacing.PacingState(Settings("predictive"))
        self.assertEqual(state.decide(Input(T0, 4, (1.0,))).reason, "guard")
        for i in range(33):
            state.record_attempt(T0 + i, "connected")
        self.assertEqual(state.decide(Input(T0 + 40, 4, (1.0,))).reason, "predictive")

    def test_controller_raises_the_level_while_nothing_is_abandoned(self):
        state = warmed(Settings("predictive"))
        levels = run_controller(state, T0, 3600)
        self.assertGreater(levels[-1], 1.5)
        self.assertGreater(levels[-1], levels[len(levels) // 2])
        # adapted every 15 s, not every decision
        self.assertLessEqual(len(set(levels)), 3600 // 15 + 1)

    def test_controller_lowers_the_level_when_abandonment_rises(self):
        state = warmed(Settings("predictive"), live=4000)
        high = run_controller(state, T0, 3600)[-1]
        # one live answer in ten abandoned (10 %) in the control window
        levels = run_controller(state, T0 + 3600, 1800, abandon_every=10)
        self.assertLess(levels[-1], high - 0.5)
        self.assertEqual(levels[-1], 1.0)
        # and climbs again once the abandonment has fallen
        levels = run_controller(state, T0 + 5400, 5400)
        self.assertGreater(levels[-1], levels[0] + 0.3)

    def test_anti_windup(self):
        settings = Settings("predictive", max_level=2.0)
        state = warmed(settings)
        run_controller(state, T0, 4 * 3600)
        self.assertEqual(state.level, 2.0)
        # the integral stopped when the output saturated: it cannot hold the
        # level at the maximum long after abandonment starts
        self.assertLessEqual(state.integral, 2.0 - 1.0 + 1e-9)
        levels = run_controller(state, T0 + 4 * 3600, 900, abandon_every=5)
        self.assertLess(levels[-1], 1.6)

    def test_level_held_without_measurement_or_under_guard(self):
        state = warmed(Settings("predictive"))
        state.level, state.integral = 1.8, 0.7
        # no live answers in the control window: nothing to measure, level held
        for second in range(0, 3600, 5):
            state.decide(Input(T0 + second, 2))
        self.assertEqual((state.level, state.integral), (1.8, 0.7))
        # under the guard the integral does not wind up
        guarded = warmed(Settings("predictive"), live=100, abandoned=5)
        guarded.integral = 0.2
        levels = run_controller(guarded, T0, 1800)
        self.assertTrue(guarded.guard)
        self.assertEqual(guarded.integral, 0.2)
        self.assertLessEqual(max(levels), 1.0)


class TestWindowAndRecords(unittest.TestCase):
    def test_statistics(self):
        stats = pacing.SlidingStats(3600, 60)
        for outcome in ("no_answer", "busy", "failed", "machine", "connected", "abandoned"):
            stats.record_attempt(T0, outcome, 10.0)
        stats.record_attempt(T0 + 30, "connected", 20.0)
        stats.record_handled(T0 + 200, 120.0, 20.0)
        stats.record_handled(T0 + 260, 60.0, 40.0)
        self.assertAlmostEqual(stats.answer_rate, 4 / 7)
        self.assertAlmostEqual(stats.live_rate, 3 / 7)
        self.assertAlmostEqual(stats.abandon_rate, 1 / 3)
        self.assertAlmostEqual(stats.mean_answer_seconds, 40 / 3)
        self.assertEqual((stats.mean_talk_seconds, stats.mean_wrap_seconds), (90.0, 30.0))
        summary = stats.summary()
        self.assertEqual((summary["attempts"], summary["handled"]), (7, 2))

    def test_window_slides_and_ignores_late_reports(self):
        stats = pacing.SlidingStats(3600, 60)
        stats.record_attempt(T0, "abandoned")
        stats.record_attempt(T0 + 1800, "connected")
        self.assertEqual(stats.abandon_rate, 0.5)
        stats.expire(T0 + 3600 + 120)  # the first report is out, whole buckets
        self.assertEqual((stats.totals["live"], stats.abandon_rate), (1, 0.0))
        stats.record_attempt(T0 + 10, "abandoned")  # reported too late for the window
        self.assertEqual(stats.totals["abandoned"], 0)
        stats.expire(T0 + 2 * 3600)
        self.assertEqual(stats.totals, dict.fromkeys(pacing.SlidingStats.FIELDS, 0))
        self.assertEqual(stats.buckets, {})

    def test_thirty_days_in_bounded_buckets(self):
        stats = pacing.SlidingStats(pacing.WINDOW_30D, 60)
        for minute in range(0, 40 * 24 * 60, 7):
            stats.record_attempt(T0 + minute * 60, "connected")
        self.assertLessEqual(len(stats.buckets), pacing.WINDOW_30D // 60 + 2)
        self.assertEqual(stats.totals["live"], len(stats.buckets))

    def test_decision_record_and_state_round_trip(self):
        state = warmed(Settings("predictive"), live=200, abandoned=1)
        run_controller(state, T0, 600)
        decision = state.decide(Input(T0 + 600, 3, (4.0,), calls_ringing=2, calls_waiting=1))
        record = json.loads(json.dumps(decision.as_dict()))
        for key in ("time", "mode", "level", "calls", "reason", "agents_available"):
            self.assertIn(key, record)
        self.assertEqual(
            (record["time"], record["calls_ringing"], record["calls_waiting"]), (T0 + 600, 2, 1)
        )
        copy = pacing.PacingState.from_dict(json.loads(json.dumps(state.to_dict())))
        self.assertEqual(copy.stats.totals, state.stats.totals)
        self.assertEqual(
            (copy.level, copy.integral, copy.guard), (state.level, state.integral, state.guard)
        )
        later = Input(T0 + 700, 3, (4.0,))
        self.assertEqual(copy.decide(later), state.decide(later))


class TestSimulatedDay(unittest.TestCase):
    """A small day through the real pacing: the invariants, not the figures."""

    CONFIG = sim.SimConfig(agents=5, contacts=500, seed=11, retry_seconds=900)

    @classmethod
    def setUpClass(cls):
        cls.plans = sim.draw_contacts(cls.CONFIG)
        cls.results = {
            label: sim.simulate(cls.CONFIG, settings, label, cls.plans)
            for label, settings in sim.default_modes()
        }

    def test_every_mode_within_its_lines(self):
        for label, result in self.results.items():
            self.assertEqual(result.over_limit, 0, label)
            self.assertGreater(result.decisions, 1000, label)
            self.assertGreater(result.connected, 100, label)
            self.assertLessEqual(result.connected + result.abandoned, result.live, label)

    def test_progressive_abandons_nothing_and_predictive_stays_near_target(self):
        self.assertEqual(self.results["progressive"].abandoned, 0)
        predictive = self.results["predictive"]
        # the guard leaves at most one abandoned call over the target, plus
        # calls already ringing when it trips
        self.assertLessEqual(predictive.abandon_rate, 0.03 + 0.01)
        self.assertLess(predictive.mean_wait, self.results["progressive"].mean_wait)

    def test_deterministic_with_the_seed(self):
        def figures(result):
            return (result.placed, result.live, result.connected, result.abandoned, result.end)

        settings = sim.default_modes()[-1][1]
        again = sim.simulate(self.CONFIG, settings, plans=sim.draw_contacts(self.CONFIG))
        self.assertEqual(figures(again), figures(self.results["predictive"]))
        other = sim.SimConfig(agents=5, contacts=500, seed=12, retry_seconds=900)
        self.assertNotEqual(figures(sim.simulate(other, settings)), figures(again))
