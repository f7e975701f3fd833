from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCallbackUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.pl")
        cls.agent = new_test_user(
            cls.env,
            "occ_cb_tour_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Callback Agent",
        )
        cls.manager = new_test_user(
            cls.env, "occ_cb_tour_manager", groups="omnichannel_cc.group_omnichannel_manager"
        )
        queue = cls.env["omnichannel.queue"].create(
            {"name": "Tour call-backs", "member_ids": [Command.set(cls.agent.ids)]}
        )
        cls.env["omnichannel.channel"].create(
            {
                "name": "Tour call-back line",
                "channel_type": "phone",
                "address": "+48 22 555 66 66",
                "queue_id": queue.id,
            }
        )
        cls.callback = cls.env["omnichannel.callback"]._request("509 333 444", queue, "manual")

    def test_agent_calls_back_now(self):
        self.start_tour("/odoo", "omnichannel_cc_callback_tour", login="occ_cb_tour_agent")
        self.callback.invalidate_recordset()
        self.assertEqual(self.callback.state, "in_progress")
        self.assertEqual(self.callback.interaction_ids.direction, "outbound")
