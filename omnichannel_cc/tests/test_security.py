from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestSecurity(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Interaction = cls.env["omnichannel.interaction"]
        cls.waiting_sales = Interaction.browse(
            cls._inbound("s-1", "+48609876543")["interaction_id"]
        )
        cls.mine_sales = Interaction.browse(cls._inbound("s-2", "+48609876543")["interaction_id"])
        cls.mine_sales.write({"agent_id": cls.agent_sales.id, "state": "active"})
        cls.other_agent_sales = Interaction.browse(
            cls._inbound("s-3", "+48609876543")["interaction_id"]
        )
        cls.other_agent_sales.write({"agent_id": cls.supervisor_sales.id, "state": "active"})
        cls.waiting_claims = Interaction.browse(
            cls._inbound("c-1", "jan.testowy@tartak-test.example", channel=cls.channel_email)[
                "interaction_id"
            ]
        )
        cls.case_claims = cls.env["omnichannel.case"].create(
            {
                "subject": "Claim",
                "partner_id": cls.customer_contact.id,
                "queue_id": cls.queue_claims.id,
                "user_id": cls.agent_claims.id,
            }
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Sp. z o.o."})
        cls.all_test = (
            cls.waiting_sales | cls.mine_sales | cls.other_agent_sales | cls.waiting_claims
        )

    def _visible(self):
        return self.env["omnichannel.interaction"].search([("id", "in", self.all_test.ids)])

    @users("occ_agent_sales")
    def test_agent_sees_own_and_waiting_in_their_queues(self):
        self.assertEqual(self._visible(), (self.waiting_sales | self.mine_sales).with_env(self.env))
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(self.waiting_claims.id).read(["name"])
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(self.other_agent_sales.id).read(["name"])
        # cases: not the claims queue's
        self.assertFalse(self.env["omnichannel.case"].search([("id", "=", self.case_claims.id)]))
        # queues: only their own
        self.assertEqual(
            self.env["omnichannel.queue"].search(
                [("id", "in", (self.queue_sales | self.queue_claims).ids)]
            ),
            self.queue_sales.with_env(self.env),
        )

    @users("occ_agent_sales")
    def test_agent_works_on_their_interaction_but_configures_nothing(self):
        mine = self.env["omnichannel.interaction"].browse(self.mine_sales.id)
        mine.notes = "Klient prosi o ofertę"
        with self.assertRaises(AccessError):
            mine.unlink()
        with self.assertRaises(AccessError):
            self.env["omnichannel.channel"].create(
                {
                    "name": "x",
                    "channel_type": "phone",
                    "address": "+48225550199",
                    "queue_id": self.queue_sales.id,
                }
            )
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue"].browse(self.queue_sales.id).name = "Renamed"

    @users("occ_agent_claims")
    def test_case_owner_sees_case(self):
        self.assertEqual(
            self.env["omnichannel.case"].search([("id", "=", self.case_claims.id)]).id,
            self.case_claims.id,
        )

    @users("occ_supervisor_sales")
    def test_supervisor_sees_their_team(self):
        self.assertEqual(
            self._visible(),
            (self.waiting_sales | self.mine_sales | self.other_agent_sales).with_env(self.env),
        )
        queue = self.env["omnichannel.queue"].browse(self.queue_sales.id)
        queue.member_ids = [Command.link(self.agent_claims.id)]
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue"].browse(self.queue_claims.id).name = "Renamed"

    @users("occ_manager")
    def test_manager_sees_everything_in_their_company(self):
        self.assertEqual(self._visible(), self.all_test.with_env(self.env))
        other_company = self.other_company
        self.assertNotIn(other_company, self.env.user.company_ids)
        queue = (
            self.env["omnichannel.queue"]
            .sudo()
            .create({"name": "Other", "company_id": other_company.id})
        )
        foreign = (
            self.env["omnichannel.interaction"]
            .sudo()
            .create(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": queue.id,
                    "company_id": other_company.id,
                    "state": "queued",
                }
            )
        )
        self.assertFalse(self.env["omnichannel.interaction"].search([("id", "=", foreign.id)]))
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(foreign.id).read(["name"])

    @users("occ_plain")
    def test_plain_user_sees_nothing(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].search([])
        with self.assertRaises(AccessError):
            self.env["omnichannel.case"].search([])
