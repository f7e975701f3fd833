from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import freeze_time, tagged

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestDemoHistory(OmnichannelCommon):
    """setup/run's simulated weeks of history: written where the reports,
    the wallboard charts and the staffing plan read it, consistently."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Warsaw"
        cls.env["omnichannel.agent"].create(
            [{"user_id": cls.agent_sales.id}, {"user_id": cls.agent_claims.id}]
        )

    def generate(self, **kwargs):
        seen = []
        with freeze_time(datetime(2026, 11, 18, 13, 0)):  # a Wednesday, 14:00 in Warsaw
            before = self.env["omnichannel.interaction"].search([]).ids
            counts = (
                self.env["omnichannel.interaction"]
                .sudo()
                ._demo_generate_history(
                    days=7,
                    daily=30,
                    progress=lambda done, total: seen.append((done, total)),
                    **kwargs,
                )
            )
        created = self.env["omnichannel.interaction"].search([("id", "not in", before)])
        return counts, created, seen

    def test_history_written_with_its_own_dates(self):
        counts, created, seen = self.generate()
        self.assertEqual(len(created), counts["interactions"])
        self.assertGreater(len(created), 50)
        self.assertEqual(seen[-1][0], seen[-1][1], "progress ends at the total")
        self.assertEqual(set(created.mapped("state")), {"done", "abandoned"})
        self.assertEqual(set(created.mapped("direction")), {"inbound"})
        for interaction in created:
            # the reports date a contact by its creation: when it arrived
            self.assertEqual(interaction.create_date, interaction.date_queued)
            self.assertLessEqual(interaction.date_closed, datetime(2026, 11, 18, 13, 0))
            self.assertGreaterEqual(interaction.create_date, datetime(2026, 11, 10, 0, 0))
            if interaction.state == "done":
                self.assertTrue(interaction.agent_id)
                self.assertIn(interaction.agent_id, interaction.queue_id.member_ids)
                self.assertEqual(
                    interaction.wait_duration,
                    int((interaction.date_answered - interaction.date_queued).total_seconds()),
                )
            else:
                self.assertFalse(interaction.agent_id)
                self.assertEqual(interaction.end_reason, "customer")
        # business hours, local time: nothing before 8:00 or on Sunday
        report = self.env["omnichannel.interaction.report"].search(
            [("interaction_id", "in", created.ids)]
        )
        self.assertEqual(len(report), len(created))
        self.assertFalse(report.filtered(lambda r: int(r.hour_of_day) < 8 or r.weekday == "7"))
        service_level = report.read_group([("id", "in", report.ids)], ["service_level:avg"], [])
        self.assertTrue(0 < service_level[0]["service_level"] < 100)

    def test_agent_periods_match_the_contacts(self):
        _counts, created, _seen = self.generate()
        logs = self.env["omnichannel.agent.state.log"].search(
            [("agent_id.user_id", "in", created.agent_id.ids)]
        )
        self.env.flush_all()
        # no two periods of one agent overlap
        self.env.cr.execute(
            """SELECT count(*) FROM omnichannel_agent_state_log a
                 JOIN omnichannel_agent_state_log b
                   ON a.agent_id = b.agent_id AND a.id < b.id
                  AND tsrange(a.date_start, COALESCE(a.date_end, 'infinity'))
                      && tsrange(b.date_start, COALESCE(b.date_end, 'infinity'))
                WHERE a.id = ANY(%s)""",
            [logs.ids],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        for user in created.agent_id:
            talk = sum(created.filtered(lambda i, u=user: i.agent_id == u).mapped("talk_duration"))
            busy = sum(
                logs.filtered(lambda log, u=user: log.user_id == u and log.state == "busy").mapped(
                    "duration"
                )
            )
            # whole seconds on both sides: one second per contact at most
            self.assertAlmostEqual(busy, talk, delta=len(created))
            agent_logs = logs.filtered(lambda log, u=user: log.user_id == u)
            self.assertEqual(len(agent_logs.filtered(lambda log: not log.date_end)), 1)
            self.assertEqual(agent_logs.sorted("date_start")[-1].state, "offline")
        self.assertTrue(logs.filtered(lambda log: log.state == "break").break_reason_id)

    def test_same_seed_same_history(self):
        with self.env.cr.savepoint(flush=True) as savepoint:
            _counts, first, _seen = self.generate(seed=3)
            first_key = [(i.queue_id.id, i.create_date, i.state) for i in first]
            savepoint.rollback()
        self.env.invalidate_all()
        _counts, again, _seen = self.generate(seed=3)
        self.assertEqual([(i.queue_id.id, i.create_date, i.state) for i in again], first_key)

    def test_only_the_set_up_writes_history(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].with_user(self.manager)._demo_generate_history(
                days=1
            )
