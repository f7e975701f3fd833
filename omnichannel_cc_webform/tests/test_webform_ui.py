from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestWebformUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, "occ_wf_tour_manager", groups="omnichannel_cc.group_omnichannel_manager"
        )
        queue = cls.env["omnichannel.queue"].create({"name": "Tour forms"})
        cls.form = cls.env["omnichannel.channel"].create(
            {
                "name": "Tour form",
                "channel_type": "webform",
                "address": "tour-form",
                "queue_id": queue.id,
            }
        )

    def test_manager_sees_embed_snippet(self):
        self.start_tour(
            f"/odoo/action-omnichannel_cc.omnichannel_channel_action/{self.form.id}",
            "omnichannel_cc_webform_channel_tour",
            login="occ_wf_tour_manager",
        )
