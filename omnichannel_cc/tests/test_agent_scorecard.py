from datetime import date, datetime, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged, users
from odoo.tools.safe_eval import safe_eval

from ..tools import scorecard
from .common import OmnichannelCommon

DAY = datetime(2025, 3, 3)  # a Monday; company and agents in UTC unless a test says otherwise
SCORE_FIGURES = [
    "nbr:sum",
    "handled:sum",
    "handle_total:sum",
    "handle_duration:avg",
    "answer_wait:avg",
    "offers:sum",
    "missed_offers:sum",
    "logged_in_duration:sum",
    "available_duration:sum",
    "handling_duration:sum",
    "productive_duration:sum",
    "break_duration:sum",
    "occupancy:avg",
    "handling_occupancy:avg",
    "break_taken:sum",
    "break_allowed:sum",
    "break_overrun:sum",
    "break_adherence:avg",
]


def at(hour, minute=0, second=0, day=DAY):
    return day.replace(hour=hour, minute=minute, second=second)


@tagged("post_install", "-at_install")
class TestAgentScorecard(OmnichannelCommon):
    """Two agents, two channels, a day of state history with break overruns."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "UTC"
        (cls.agent_sales | cls.agent_claims | cls.supervisor_sales).tz = "UTC"
        Reason = cls.env["omnichannel.break.reason"]
        cls.coffee = Reason.create({"name": "T coffee", "max_minutes": 20, "max_duration": 15})
        cls.lunch = Reason.create({"name": "T lunch", "max_minutes": 30})
        cls.training = Reason.create({"name": "T training", "productive": True})
        cls.disposition = cls.env["omnichannel.disposition"].create(
            {"name": "T sold", "code": "T_SOLD"}
        )

        sales, claims = cls.queue_sales, cls.queue_claims
        a, b = cls.agent_sales, cls.agent_claims
        with freeze_time(at(18)):
            cls.a_phone_1 = cls._contact(sales, at(9), 10, 180, 30, a, disposition=cls.disposition)
            cls.a_phone_2 = cls._contact(sales, at(9, 10), 30, 120, 0, a)
            cls.a_missed = cls._contact(sales, at(9, 40), 25, agent=a, state="missed")
            cls.a_email = cls._contact(claims, at(11), 100, 300, 0, a, cls.channel_email)
            cls.b_email = cls._contact(claims, at(10), 60, 240, 60, b, cls.channel_email)
            cls.b_phone = cls._contact(sales, at(12), 20, 100, 20, b)
        cls.contacts = (
            cls.a_phone_1 | cls.a_phone_2 | cls.a_missed | cls.a_email | cls.b_email | cls.b_phone
        )

        Offer = cls.env["omnichannel.offer"]
        cls.offers = Offer.create(
            [
                {
                    "interaction_id": interaction.id,
                    "user_id": user.id,
                    "state": state,
                    "date_offered": when,
                }
                for interaction, user, state, when in (
                    (cls.a_phone_1, a, "accepted", at(9, 0, 5)),
                    (cls.a_phone_2, a, "timeout", at(9, 10, 5)),
                    (cls.a_phone_2, a, "accepted", at(9, 10, 25)),
                    (cls.a_missed, a, "rejected", at(9, 40, 5)),
                    (cls.a_missed, a, "cancelled", at(9, 40, 20)),  # the customer left
                    (cls.b_phone, b, "timeout", at(12, 0, 5)),
                    (cls.b_phone, b, "accepted", at(12, 0, 15)),
                )
            ]
        )

        Agent = cls.env["omnichannel.agent"]
        cls.agent_a = Agent._for_user(a)
        cls.agent_b = Agent._for_user(b)
        periods_a = [
            ("available", at(8), at(9), False),
            ("busy", at(9), at(9, 30), False),
            ("wrapup", at(9, 30), at(9, 31), False),
            ("break", at(9, 31), at(9, 56), cls.coffee),  # 25 min: 10 over the break's 15
            ("available", at(9, 56), at(10), False),
            ("break", at(10), at(10, 10), cls.coffee),  # the day: 35 min, 15 over its 20
            ("busy", at(10, 10), at(11, 10), False),
            ("break", at(12), at(12, 50), cls.lunch),  # 50 min: 20 over the day's 30
            ("break", at(12, 50), at(13, 20), cls.training),  # productive, no limit
            ("offline", at(13, 20), at(23), False),
        ]
        periods_b = [
            ("available", at(8), at(12), False),
            ("break", at(12), at(12, 10), cls.coffee),
            ("busy", at(12, 10), at(12, 30), False),
            ("offline", at(12, 30), at(23), False),
        ]
        Log = cls.env["omnichannel.agent.state.log"]
        cls.logs_a, cls.logs_b = (
            Log.create(
                [
                    {
                        "agent_id": agent.id,
                        "state": state,
                        "date_start": start,
                        "date_end": end,
                        "break_reason_id": reason.id if reason else False,
                    }
                    for state, start, end, reason in periods
                ]
            )
            for agent, periods in ((cls.agent_a, periods_a), (cls.agent_b, periods_b))
        )

        # an agent of another company, with a day of their own
        cls.other_company = cls.env["res.company"].create({"name": "Scorecard Other Co"})
        cls.foreign_user = new_test_user(
            cls.env,
            "occ_scorecard_foreign",
            groups="omnichannel_cc.group_omnichannel_agent",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
            tz="UTC",
        )
        cls.foreign_agent = Agent.create(
            {"user_id": cls.foreign_user.id, "company_id": cls.other_company.id}
        )
        Log.create(
            {
                "agent_id": cls.foreign_agent.id,
                "state": "available",
                "date_start": at(8),
                "date_end": at(9),
            }
        )
        cls.foreign_manager = new_test_user(
            cls.env,
            "occ_scorecard_foreign_manager",
            groups="omnichannel_cc.group_omnichannel_manager",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.users = a | b | cls.foreign_user
        a.groups_id += cls.env.ref("base.group_allow_export")
        cls.env.flush_all()

    @classmethod
    def _contact(
        cls,
        queue,
        queued,
        wait=0,
        talk=0,
        wrap=0,
        agent=None,
        channel=None,
        state="done",
        disposition=None,
    ):
        """An interaction with known timestamps: wait, talk and wrap-up in seconds."""
        vals = {
            "channel_id": (channel or cls.channel_phone).id,
            "queue_id": queue.id,
            "state": state,
            "date_queued": queued,
            "agent_id": agent.id if agent else False,
            "disposition_id": disposition.id if disposition else False,
        }
        if state == "done":
            answered = queued + timedelta(seconds=wait)
            ended = answered + timedelta(seconds=talk)
            vals.update(
                date_answered=answered,
                date_ended=ended,
                date_closed=ended + timedelta(seconds=wrap),
            )
        else:
            ended = queued + timedelta(seconds=wait)
            vals.update(date_ended=ended, date_closed=ended, end_reason="customer")
        interaction = cls.env["omnichannel.interaction"].create(vals)
        interaction.flush_recordset()
        cls.env.cr.execute(
            "UPDATE omnichannel_interaction SET create_date = %s WHERE id = %s",
            (queued, interaction.id),
        )
        interaction.invalidate_recordset(["create_date"])
        return interaction

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _scores(self, domain=(), groupby=()):
        """{group key: {measure: value}} of the test users' scorecard rows."""
        self.env.flush_all()
        rows = self.env["omnichannel.agent.scorecard"]._read_group(
            [("user_id", "in", self.users.ids), *domain],
            groupby=list(groupby),
            aggregates=SCORE_FIGURES,
        )
        count = len(groupby)
        return {
            tuple(row[:count]): dict(
                zip([a.split(":")[0] for a in SCORE_FIGURES], row[count:], strict=True)
            )
            for row in rows
        }

    def _rows(self):
        self.env.flush_all()
        return self.env["omnichannel.agent.scorecard"].search([("user_id", "in", self.users.ids)])

    # ------------------------------------------------------------------
    # figures
    # ------------------------------------------------------------------
    def test_contacts_per_channel(self):
        scores = self._scores([("date", "=", DAY.date())], ["user_id", "channel_type"])
        phone = scores[self.agent_sales, "phone"]
        self.assertEqual((phone["nbr"], phone["handled"], phone["handle_total"]), (3, 2, 210 + 120))
        self.assertAlmostEqual(phone["handle_duration"], 165.0)  # the missed one is no average
        self.assertAlmostEqual(phone["answer_wait"], 20.0)
        self.assertEqual((phone["offers"], phone["missed_offers"]), (4, 2))  # not the cancelled
        email = scores[self.agent_sales, "email"]
        self.assertEqual((email["nbr"], email["handled"], email["handle_total"]), (1, 1, 300))
        self.assertEqual((email["offers"], email["missed_offers"]), (0, 0))
        b_phone = scores[self.agent_claims, "phone"]
        self.assertEqual((b_phone["handled"], b_phone["handle_duration"]), (1, 120.0))
        self.assertEqual((b_phone["offers"], b_phone["missed_offers"]), (2, 1))
        # time has no channel
        self.assertEqual(phone["logged_in_duration"], 0)
        self.assertEqual(scores[self.agent_sales, False]["handled"], 0)

    def test_contacts_equal_the_interaction_report(self):
        scores = self._scores([("date", "=", DAY.date())], ["user_id", "channel_type"])
        report = self.env["omnichannel.interaction.report"]._read_group(
            [
                ("interaction_id", "in", self.contacts.ids),
                ("date", ">=", DAY),
                ("date", "<", DAY + timedelta(days=1)),
            ],
            groupby=["agent_id", "channel_type"],
            aggregates=[
                "nbr:sum",
                "answered:sum",
                "handle_total:sum",
                "handle_duration:avg",
                "answer_wait:avg",
            ],
        )
        self.assertEqual(len(report), 4)
        for user, channel_type, nbr, answered, handle, aht, asa in report:
            score = scores[user, channel_type]
            self.assertEqual(
                (score["nbr"], score["handled"], score["handle_total"]), (nbr, answered, handle)
            )
            self.assertAlmostEqual(score["handle_duration"], aht)
            self.assertAlmostEqual(score["answer_wait"], asa)

    def test_time_equals_the_state_report(self):
        scores = self._scores([("date", "=", DAY.date())], ["user_id", "date:day"])
        measures = [
            "logged_in_duration",
            "available_duration",
            "handling_duration",
            "productive_duration",
            "break_duration",
        ]
        report = self.env["omnichannel.agent.state.report"]._read_group(
            [("user_id", "in", self.users.ids), ("date", "=", DAY.date())],
            groupby=["user_id", "date:day"],
            aggregates=[f"{measure}:sum" for measure in measures],
        )
        self.assertEqual(len(report), 3)
        for user, day, *sums in report:
            score = scores[user, day]
            self.assertEqual([score[measure] for measure in measures], sums)
            self.assertAlmostEqual(score["occupancy"], scorecard.occupancy(sums[3], sums[1]))
        a = scores[self.agent_sales, DAY.date()]
        # 1 h 4 min available; 1 h 30 busy, 1 min wrap-up; 35 + 50 min limited
        # breaks and 30 min training (productive)
        self.assertEqual(
            [a[measure] for measure in measures],
            [
                3600 + 1800 + 60 + 1500 + 240 + 600 + 3600 + 3000 + 1800,
                3840,
                5460,
                5460 + 1800,
                1500 + 600 + 3000 + 1800,
            ],
        )

    def test_occupancy_of_a_group_is_from_its_sums(self):
        a = self._scores([("user_id", "=", self.agent_sales.id)])[()]
        self.assertAlmostEqual(a["occupancy"], 100 * 7260 / (7260 + 3840))
        self.assertAlmostEqual(a["handling_occupancy"], 100 * 5460 / (5460 + 3840))
        # per row it is the row's own ratio: an average of rows would differ
        rows = self._rows().filtered(
            lambda row: row.user_id == self.agent_sales and row.logged_in_duration
        )
        busy = rows.filtered(lambda row: row.state == "busy")
        self.assertEqual(set(busy.mapped("occupancy")), {100.0})
        available = rows.filtered(lambda row: row.state == "available")
        self.assertEqual(set(available.mapped("occupancy")), {0.0})
        per_row = [
            row.occupancy for row in rows if row.productive_duration or row.available_duration
        ]
        self.assertNotAlmostEqual(sum(per_row) / len(per_row), a["occupancy"], places=1)

    def test_break_adherence(self):
        scores = self._scores([("date", "=", DAY.date())], ["user_id", "break_reason_id"])
        coffee = scorecard.break_figures([1500, 600], max_minutes=20, max_duration=15)
        lunch = scorecard.break_figures([3000], max_minutes=30)
        self.assertEqual((coffee, lunch), ((2100, 1200, 900), (3000, 1800, 1200)))
        for reason, figures in ((self.coffee, coffee), (self.lunch, lunch)):
            score = scores[self.agent_sales, reason]
            self.assertEqual(
                (score["break_taken"], score["break_allowed"], score["break_overrun"]),
                tuple(figures),
            )
            self.assertAlmostEqual(
                score["break_adherence"], scorecard.adherence(figures.overrun, figures.allowed)
            )
        # no limit: no figure
        training = scores[self.agent_sales, self.training]
        self.assertEqual(training["break_allowed"], 0)
        self.assertIs(training["break_adherence"], False)  # NULL, not 0 %
        # the day: 2100 s over 3000 s allowed, 30 %, not the mean of 25 % and 33 %
        day = self._scores([("date", "=", DAY.date())], ["user_id"])
        self.assertAlmostEqual(day[(self.agent_sales,)]["break_adherence"], 30.0)
        self.assertEqual(day[(self.agent_sales,)]["break_overrun"], 2100)
        self.assertAlmostEqual(day[(self.agent_claims,)]["break_adherence"], 100.0)
        # the limits are read when the scorecard is: lifting them lifts the overrun
        self.coffee.write({"max_minutes": 0, "max_duration": 0})
        day = self._scores([("date", "=", DAY.date())], ["user_id"])
        self.assertEqual(day[(self.agent_sales,)]["break_overrun"], 1200)
        self.assertIs(day[(self.agent_claims,)]["break_adherence"], False)

    def test_day_is_the_agents_own(self):
        with freeze_time(at(23, 40)):
            late = self._contact(self.queue_sales, at(23, 30), 5, 60, 0, self.agent_claims)
        self.agent_claims.tz = "Europe/Warsaw"  # UTC+1 in March: already Tuesday
        self.env.flush_all()
        row = self.env["omnichannel.agent.scorecard"].search(
            [("user_id", "=", self.agent_claims.id), ("handled", "=", 1)], order="date desc"
        )[0]
        self.assertEqual((row.date, row.handle_total), (date(2025, 3, 4), 60))
        self.assertTrue(late)

    # ------------------------------------------------------------------
    # access
    # ------------------------------------------------------------------
    @users("occ_agent_sales")
    def test_agent_sees_only_own_rows(self):
        rows = self._rows()
        self.assertTrue(rows)
        self.assertEqual(rows.user_id, self.agent_sales)
        self.assertEqual(set(self._scores([], ["user_id"])), {(self.agent_sales,)})
        total = self._scores()[()]
        self.assertEqual((total["handled"], total["missed_offers"]), (3, 2))
        # another agent's row, by id: refused
        # sudo: the test looks up the id the agent must not read
        others = (
            self.env["omnichannel.agent.scorecard"]
            .sudo()
            .search([("user_id", "=", self.agent_claims.id)])
        )
        self.assertTrue(others)
        with self.assertRaises(AccessError):
            self.env["omnichannel.agent.scorecard"].browse(others.ids).read(["handled"])
        with self.assertRaises(AccessError):
            self.env["omnichannel.agent.scorecard"].browse(others.ids).export_data(["handled"])
        exported = self.env["omnichannel.agent.scorecard"].search([]).export_data(["user_id/id"])
        self.assertEqual(
            {line[0] for line in exported["datas"]},
            {self.agent_sales.get_external_id()[self.agent_sales.id]},
        )

    @users("occ_supervisor_sales")
    def test_supervisor_sees_their_team(self):
        # agent_sales is in the supervised Sales queue, agent_claims is not
        self.assertEqual(self._rows().user_id, self.agent_sales)
        self.assertEqual(set(self._scores([], ["user_id"])), {(self.agent_sales,)})

    @users("occ_manager")
    def test_manager_sees_all_of_their_companies(self):
        self.assertEqual(self._rows().user_id, self.agent_sales | self.agent_claims)
        self.assertNotIn(self.other_company, self.env.user.company_ids)

    @users("occ_scorecard_foreign_manager")
    def test_other_company_manager_sees_only_theirs(self):
        rows = self._rows()
        self.assertEqual(rows.user_id, self.foreign_user)
        self.assertEqual(rows.company_id, self.other_company)
        self.assertEqual(self._scores()[()]["available_duration"], 3600)

    @users("occ_plain")
    def test_plain_user_sees_nothing(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.agent.scorecard"].search([])

    def test_my_scorecard_and_the_agent_form(self):
        my = self.env.ref("omnichannel_cc.omnichannel_agent_scorecard_action_my")
        Scorecard = self.env["omnichannel.agent.scorecard"]
        self.env.flush_all()
        # "My scorecard" keeps a supervisor's own rows only, not their team's
        for user, expected in ((self.agent_sales, True), (self.supervisor_sales, False)):
            domain = safe_eval(my.domain, {"uid": user.id})
            rows = Scorecard.with_user(user).search(domain)
            self.assertEqual(bool(rows), expected)
            self.assertLessEqual(rows.user_id, user)
        # the agent form's button opens the scorecard with the agent's filter
        arch = self.env["omnichannel.agent"].get_view(
            self.env.ref("omnichannel_cc.omnichannel_agent_view_form").id
        )["arch"]
        action = self.env.ref("omnichannel_cc.omnichannel_agent_scorecard_action")
        self.assertIn(f'name="{action.id}"', arch)
        self.assertIn("search_default_agent_id", arch)


@tagged("post_install", "-at_install")
class TestAgentScorecardUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        group = "omnichannel_cc.group_omnichannel_agent"
        cls.agent = new_test_user(
            cls.env, "occ_scorecard_tour_agent", groups=group, name="Scorecard Tour Agent"
        )
        colleague = new_test_user(
            cls.env, "occ_scorecard_tour_colleague", groups=group, name="Scorecard Tour Colleague"
        )
        queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Scorecard tour queue",
                "member_ids": [Command.set((cls.agent | colleague).ids)],
            }
        )
        channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Scorecard tour line",
                "channel_type": "phone",
                "address": "+48 22 555 77 77",
                "queue_id": queue.id,
            }
        )
        now = fields.Datetime.now()
        cls.env["omnichannel.interaction"].create(
            [
                {
                    "channel_id": channel.id,
                    "queue_id": queue.id,
                    "state": "done",
                    "agent_id": user.id,
                    "date_queued": now - timedelta(minutes=10),
                    "date_answered": now - timedelta(minutes=9),
                    "date_ended": now - timedelta(minutes=5),
                    "date_closed": now - timedelta(minutes=4),
                }
                for user in (cls.agent, cls.agent, colleague)
            ]
        )

    def test_agent_opens_my_scorecard(self):
        self.start_tour("/odoo", "omnichannel_cc_agent_scorecard_tour", login=self.agent.login)
