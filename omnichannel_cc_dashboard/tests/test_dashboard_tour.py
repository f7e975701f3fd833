from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import make_contact


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        group = "omnichannel_cc.group_omnichannel_"
        cls.supervisor = new_test_user(
            cls.env, "dash_tour_supervisor", groups=group + "supervisor", tz="UTC"
        )
        agent = new_test_user(cls.env, "dash_tour_agent", groups=group + "agent")
        queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Dash tour queue",
                "member_ids": [Command.set(agent.ids)],
                "supervisor_ids": [Command.set(cls.supervisor.ids)],
            }
        )
        channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Dash tour line",
                "channel_type": "phone",
                "address": "+48 22 555 07 07",
                "queue_id": queue.id,
            }
        )
        # now: in the period filter's default month, whatever the browser's zone
        now = fields.Datetime.now()
        for wait in (5, 10, 60):  # within, within, outside the 20 s threshold
            make_contact(cls.env, channel, queue, now, "done", wait, 120, 10, agent)

    def test_supervisor_opens_the_dashboard(self):
        self.start_tour("/odoo", "omnichannel_cc_dashboard_tour", login=self.supervisor.login)

    def test_supervisor_without_contacts_sees_the_sample(self):
        newcomer = new_test_user(
            self.env, "dash_tour_newcomer", groups="omnichannel_cc.group_omnichannel_supervisor"
        )
        self.start_tour("/odoo", "omnichannel_cc_dashboard_sample_tour", login=newcomer.login)
