"""Record rules of interactions and offers checked in SQL
(``omnichannel.rules.sql.mixin``) decide exactly as Odoo's in-memory
evaluation of the same rules, for every role, operation and record."""

from odoo import Command, models
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestRulesSql(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Interaction = cls.env["omnichannel.interaction"]

        def inbound(external_id, sender, channel=None):
            return Interaction.browse(
                cls._inbound(external_id, sender, channel=channel)["interaction_id"]
            )

        cls.waiting_sales = inbound("rs-1", "+48609876543")
        cls.mine_sales = inbound("rs-2", "+48609876543")
        cls.mine_sales.write({"agent_id": cls.agent_sales.id, "state": "active"})
        cls.other_agent_sales = inbound("rs-3", "+48609876543")
        cls.other_agent_sales.write({"agent_id": cls.supervisor_sales.id, "state": "active"})
        cls.waiting_claims = inbound("rc-1", "jan.testowy@tartak-test.example", cls.channel_email)
        cls.other_company = cls.env["res.company"].create({"name": "Inna Sp. z o.o."})
        foreign_queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Foreign",
                "code": "T_FOREIGN",
                "company_id": cls.other_company.id,
                "member_ids": [Command.set(cls.agent_sales.ids)],
            }
        )
        cls.foreign = Interaction.create(
            {
                "channel_id": cls.channel_phone.id,
                "company_id": cls.other_company.id,
                "queue_id": foreign_queue.id,
                "contact_address": "+48221112233",
                "state": "queued",
            }
        )
        cls.agent_sales.company_ids += cls.other_company
        cls.interactions = (
            cls.waiting_sales
            | cls.mine_sales
            | cls.other_agent_sales
            | cls.waiting_claims
            | cls.foreign
        )
        Offer = cls.env["omnichannel.offer"]
        cls.offers = Offer.create(
            [
                {"interaction_id": cls.waiting_sales.id, "user_id": cls.agent_sales.id},
                {"interaction_id": cls.waiting_claims.id, "user_id": cls.agent_claims.id},
                {"interaction_id": cls.foreign.id, "user_id": cls.agent_sales.id},
            ]
        )
        cls.outsider = new_test_user(
            cls.env, "occ_rules_outsider", groups="omnichannel_cc.group_omnichannel_agent"
        )

    def _compare(self, records):
        """For each record alone and for all at once: the SQL check forbids
        exactly what Odoo's in-memory evaluation forbids."""
        for operation in ("read", "write"):
            for subset in [*records, records]:
                in_sql = subset._check_access(operation)
                in_memory = models.BaseModel._check_access(subset, operation)
                self.assertEqual(
                    in_sql[0] if in_sql else subset.browse(),
                    in_memory[0] if in_memory else subset.browse(),
                    f"{self.env.user.login} {operation} {subset}",
                )

    def test_same_decision_for_every_role(self):
        users = (
            self.agent_sales,
            self.agent_claims,
            self.supervisor_sales,
            self.manager,
            self.outsider,
        )
        for user in users:
            companies = user.company_ids
            env = self.env(user=user, context={"allowed_company_ids": companies.ids})
            with self.subTest(user=user.login):
                self._compare(self.interactions.with_env(env))
                self._compare(self.offers.with_env(env))

    def test_agent_refused_with_odoo_error(self):
        """The agent of Sales may not write Claims' contact, nor another
        agent's: refused with Odoo's own error; her own stays writable."""
        for contact in (self.waiting_claims, self.other_agent_sales):
            with self.assertRaises(AccessError) as refused:
                contact.with_user(self.agent_sales).check_access("write")
            self.assertIn("omnichannel.interaction", str(refused.exception))
        self.mine_sales.with_user(self.agent_sales).check_access("write")

    def test_superuser_and_new_records_use_odoo_evaluation(self):
        Interaction = self.env["omnichannel.interaction"]
        self.assertIsNone(Interaction.sudo().browse(self.waiting_claims.ids)._check_access("write"))
        draft = Interaction.with_user(self.agent_sales).new({"state": "new"})
        self.assertIsNone(draft._check_access("read"))

    def test_one_query_for_many_records(self):
        """The rules of five interactions are one SQL query, whatever the
        number of members of their queues."""
        self.queue_sales.member_ids = [
            Command.link(
                new_test_user(
                    self.env,
                    f"occ_rules_member_{n}",
                    groups="omnichannel_cc.group_omnichannel_agent",
                ).id
            )
            for n in range(30)
        ]
        records = self.interactions.with_user(self.supervisor_sales)
        records.env.invalidate_all()
        records._check_access("write")  # rules and access rights cached
        records.env.invalidate_all()
        with self.assertQueryCount(1):
            records._check_access("write")
