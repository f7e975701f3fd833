from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from .common import OmnichannelSurveyCommon

NOON = datetime(2026, 3, 10, 12, 0)


@tagged("post_install", "-at_install")
class TestSurveyBoard(OmnichannelSurveyCommon):
    """Today's score on the wallboard tile, the answer in the screen-pop history."""

    def _answered(self, value, partner=None):
        interaction = self._closed(**({"partner": partner} if partner else {}))
        result = self.env["omnichannel.interaction"]._survey_record_answer(
            interaction.id, None, value, channel="phone"
        )
        self.assertTrue(result["recorded"])
        return interaction

    def _tile(self, queue):
        board = self.env["omnichannel.queue"].with_user(self.supervisor).wallboard_data()
        return next(row for row in board["queues"] if row["id"] == queue.id)

    def test_wallboard_today_score_per_queue(self):
        self.queue_without_survey.supervisor_ids = self.supervisor
        with freeze_time(NOON - timedelta(days=1)):
            self._answered(0)  # yesterday's: not today's score
        with freeze_time(NOON):
            for value in (10, 9, 3):
                self._answered(value)
            tile = self._tile(self.queue)
            self.assertEqual(
                tile["extra"],
                [
                    {
                        "key": "satisfaction",
                        "label": "NPS today",
                        "value": "33",  # 2 promoters, 1 detractor of 3
                        "detail": "3 answers",
                    }
                ],
            )
            self.assertEqual(self._tile(self.queue_without_survey)["extra"], [])

    def test_wallboard_no_answer_today(self):
        with freeze_time(NOON):
            self.assertEqual(
                [(f["value"], f["detail"]) for f in self._tile(self.queue)["extra"]],
                [("–", "0 answers")],
            )

    def test_wallboard_one_query_for_the_scores(self):
        """The scores of all queues in one query; none when no queue measures."""
        Queue = self.env["omnichannel.queue"].with_user(self.supervisor)
        with freeze_time(NOON):
            self._answered(9)

            def count():
                Queue.wallboard_data()  # warm the caches of groups and labels
                self.env.invalidate_all()
                before = self.env.cr.sql_log_count
                Queue.wallboard_data()
                return self.env.cr.sql_log_count - before

            measured = count()
            self.queue.satisfaction_kind = False
            self.assertEqual(measured, count() + 1)

    def test_screen_pop_history_shows_the_answer(self):
        customer = self._new_customer("Pop customer")
        answered = self._answered(9, partner=customer)
        unanswered = self._closed(partner=customer)
        pop = customer.with_user(self.agent).omnichannel_screen_pop()
        extras = {row["id"]: row["extra"] for row in pop["interactions"]}
        self.assertEqual(extras[answered.id], [{"key": "satisfaction", "label": "NPS", "value": 9}])
        self.assertEqual(extras[unanswered.id], [])
