from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env,
            "occ_tour_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Tour Agent",
        )
        queue = cls.env["omnichannel.queue"].create(
            {"name": "Tour queue", "member_ids": [Command.set(cls.agent.ids)]}
        )
        cls.env.company.country_id = cls.env.ref("base.pl")
        phone = cls.env["omnichannel.channel"].create(
            {
                "name": "Tour line",
                "channel_type": "phone",
                "address": "+48 22 555 77 77",
                "queue_id": queue.id,
            }
        )
        email = cls.env["omnichannel.channel"].create(
            {
                "name": "Tour mail",
                "channel_type": "email",
                "address": "tour@example.com",
                "queue_id": queue.id,
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Jan Tour",
                "country_id": cls.env.ref("base.pl").id,
                "mobile": "601 777 888",
                "email": "jan.tour@example.com",
            }
        )
        Interaction = cls.env["omnichannel.interaction"]
        cls.call = Interaction.browse(
            Interaction.api_inbound(
                {
                    "channel_id": phone.id,
                    "from": "+48 601 777 888",
                    "external_id": "tour-call",
                    "subject": "Tour call",
                }
            )["interaction_id"]
        )
        cls.mail = Interaction.browse(
            Interaction.api_inbound(
                {"channel_id": email.id, "from": "JAN.TOUR@example.com", "external_id": "tour-mail"}
            )["interaction_id"]
        )
        cls.mail.write({"agent_id": cls.agent.id, "state": "active"})

    def test_agent_handles_interaction(self):
        self.assertEqual(self.call.partner_id, self.customer)
        self.start_tour("/odoo", "omnichannel_cc_interaction_tour", login="occ_tour_agent")
        self.call.invalidate_recordset()
        self.assertEqual(self.call.state, "done")
        self.assertEqual(self.call.agent_id, self.agent)
        self.assertEqual(
            self.call.disposition_id, self.env.ref("omnichannel_cc.disposition_resolved")
        )
        self.assertEqual(self.call.notes, "Klient zadowolony")
        self.assertTrue(self.call.date_answered and self.call.date_closed)

    def test_partner_contact_history(self):
        self.start_tour(
            f"/odoo/action-contacts.action_contacts/{self.customer.id}",
            "omnichannel_cc_partner_history_tour",
            login="occ_tour_agent",
        )
