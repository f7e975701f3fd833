"""omnichannel_cc/tools/script.py: call scripts (steps, branches, answers), without Odoo."""

import sys
import unittest
from datetime import date

from tests.unit._tools import load_tools

(st,) = load_tools("script")


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


class TestScriptLogic(unittest.TestCase):
    """tools/script.py without a database."""

    def setUp(self):
        super().setUp()
        car, truck = st.Choice(21, "Car"), st.Choice(22, "Truck")
        self.steps = [
            st.Step(1, 10, "Greeting"),
            st.Step(
                2,
                20,
                "Vehicle",
                st.CHOICE,
                True,
                (car, truck),
                (st.Branch(st.CHOICE_IS, 5, choice_id=22),),
            ),
            st.Step(
                3,
                30,
                "Injured?",
                st.YES_NO,
                True,
                branches=(st.Branch(st.YES, 4), st.Branch(st.NO, 6)),
            ),
            st.Step(4, 40, "How many injured", st.NUMBER, True, branches=(st.Branch(st.ANY, 6),)),
            st.Step(
                5,
                50,
                "Tonnage",
                st.NUMBER,
                True,
                branches=(
                    st.Branch(st.RANGE, 55, min_value=12.0),
                    st.Branch(st.RANGE, 6, min_value=3.5, max_value=12.0),
                ),
            ),
            st.Step(55, 55, "Heavy vehicle note"),
            st.Step(6, 60, "Date", st.DATE, True),
            st.Step(7, 70, "Notes", st.TEXT),
        ]
        self.flow = st.Flow(self.steps)
        self.by_id = {s.id: s for s in self.steps}

    def answer(self, step_id, value):
        return st.parse_answer(self.by_id[step_id], value)

    def test_valid_script(self):
        self.assertEqual(self.flow.problems(), [])
        self.assertEqual(self.flow.first, 1)

    def test_branch_on_choice(self):
        self.assertEqual(self.flow.next_step(2, self.answer(2, "truck")), 5)
        self.assertEqual(self.flow.next_step(2, self.answer(2, 21)), 3)  # falls through
        self.assertEqual(self.flow.next_step(2, self.answer(2, "22")), 5)

    def test_branch_on_yes_no(self):
        self.assertEqual(self.flow.next_step(3, self.answer(3, True)), 4)
        self.assertEqual(self.flow.next_step(3, self.answer(3, "nie")), 6)
        self.assertEqual(self.flow.next_step(3, self.answer(3, False)), 6)

    def test_branch_on_number_ranges(self):
        self.assertEqual(self.flow.next_step(5, self.answer(5, "12")), 55)
        self.assertEqual(self.flow.next_step(5, self.answer(5, "40,5")), 55)
        self.assertEqual(self.flow.next_step(5, self.answer(5, 7.5)), 6)
        self.assertEqual(self.flow.next_step(5, self.answer(5, 3.5)), 6)
        # below every range: the next step by sequence
        self.assertEqual(self.flow.next_step(5, self.answer(5, 2)), 55)
        # the last step ends the script
        self.assertEqual(self.flow.next_step(7, self.answer(7, "")), st.END)

    def test_answers_are_checked(self):
        cases = [
            (2, "Bicycle", "unknown_choice"),
            (2, 99, "unknown_choice"),
            (2, None, "required"),
            (3, "maybe", "not_yes_no"),
            (3, "", "required"),
            (4, "a few", "not_number"),
            (4, "nan", "not_number"),
            (4, True, "not_number"),
            (6, "31.02.2025", "not_date"),
            (6, "2025-02-30", "not_date"),
            (6, False, "required"),
            (7, "x" * (st.MAX_TEXT + 1), "too_long"),
        ]
        for step_id, value, code in cases:
            with self.subTest(step=step_id, value=value):
                with self.assertRaises(st.ScriptError) as caught:
                    self.answer(step_id, value)
                self.assertEqual(caught.exception.code, code)
                self.assertIn(self.by_id[step_id].name, str(caught.exception))

    def test_answers_are_normalised(self):
        self.assertEqual(self.answer(4, "1 234,50").value, 1234.5)
        self.assertEqual(self.answer(4, "1.234,50").display, "1234.5")
        self.assertEqual(self.answer(4, 3).display, "3")
        self.assertEqual(self.answer(6, "2025-03-01").value, date(2025, 3, 1))
        self.assertEqual(self.answer(3, "Tak").value, True)
        self.assertEqual(self.answer(2, " car ").display, "Car")
        self.assertTrue(self.answer(7, "  ").empty)  # optional, left empty
        self.assertTrue(self.answer(1, "anything").empty)  # a text to read

    def test_walk_and_progress(self):
        answers = {1: self.answer(1, None), 2: self.answer(2, "Truck"), 5: self.answer(5, 20)}
        passed, waiting = self.flow.walk(answers)
        self.assertEqual((passed, waiting), ([1, 2, 5], 55))
        self.assertEqual(self.flow.remaining(55), (3, 3))
        self.assertEqual(self.flow.remaining(1), (5, 6))
        self.assertEqual(st.progress(3, 3), 50)

    def test_problems(self):
        loop = self.steps[:6] + [
            st.Step(6, 60, "Date", st.DATE, True, branches=(st.Branch(st.ANY, 3),)),
            self.steps[7],
        ]
        codes = [e.code for e in st.Flow(loop).problems()]
        self.assertIn("cycle", codes)
        self.assertIn("unreachable", codes)  # Notes: Date now always loops back

        broken = [
            st.Step(1, 10, "A", st.YES_NO, True, branches=(st.Branch(st.CHOICE_IS, 2),)),
            st.Step(2, 20, "B", st.NUMBER, branches=(st.Branch(st.RANGE, 3),)),
            st.Step(3, 30, "C", st.CHOICE, branches=(st.Branch(st.ANY, 99),)),
            st.Step(
                4,
                40,
                "D",
                st.NUMBER,
                branches=(
                    st.Branch(st.RANGE, 0, min_value=5.0, max_value=1.0),
                    st.Branch(st.EQUALS, 0, value="five"),
                ),
            ),
        ]
        codes = sorted(e.code for e in st.Flow(broken).problems())
        self.assertEqual(
            codes,
            [
                "bad_equals_value",
                "bad_range",
                "bad_range",
                "condition_mismatch",
                "no_choices",
                "unknown_target",
            ],
        )

    def test_exhaustive_steps_do_not_fall_through(self):
        # Injured? has a yes and a no branch: How many injured is only reached by yes
        self.assertEqual(self.flow.targets(3), [4, 6])
        optional = st.Step(3, 30, "Injured?", st.YES_NO, False, (), self.by_id[3].branches)
        flow = st.Flow([optional if s.id == 3 else s for s in self.steps])
        self.assertEqual(flow.targets(3), [4, 6])  # an empty answer falls through to 4
        self.assertFalse(flow.exhaustive(optional))

    def test_render_escapes_values(self):
        html = st.render("<p>Dzień dobry, {customer}. {agent}</p>", {"customer": "<b>Jan</b>"})
        self.assertEqual(str(html), "<p>Dzień dobry, &lt;b&gt;Jan&lt;/b&gt;. {agent}</p>")
