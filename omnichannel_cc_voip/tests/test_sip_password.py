"""SIP passwords across companies (issue 19, access matrix).

Odoo's res.users rule shows every internal user to every internal user, so
the field's groups alone let a manager of company B read the SIP passwords
of company A's agents. The password is checked record by record: its user,
and the managers of the user's company, read and change it; nobody else, by
any path (read, search, export, a template).
"""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

# managers who may export (the export is one more path to the password)
MANAGER = "omnichannel_cc.group_omnichannel_manager,base.group_allow_export"
PASSWORD = "s1p-pa55-7301"


@tagged("post_install", "-at_install")
class TestSipPasswordCompanies(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "SIP company B"})
        cls.manager_a = cls._new_manager("occ_sip_manager_a", cls.company)
        cls.manager_b = cls._new_manager("occ_sip_manager_b", cls.company_b)
        cls.manager_ab = cls._new_manager("occ_sip_manager_ab", cls.company | cls.company_b)
        cls.agent_sales.write(
            {"omnichannel_extension": "7301", "omnichannel_sip_password": PASSWORD}
        )

    @classmethod
    def _new_manager(cls, login, companies):
        """A manager allowed in ``companies``, working in the first one."""
        return new_test_user(
            cls.env,
            login,
            groups=MANAGER,
            company_id=companies[0].id,
            company_ids=[Command.set(companies.ids)],
        )

    def test_stored_for_administrators_only(self):
        self.assertEqual(self.agent_sales.sudo().omnichannel_sip_secret, PASSWORD)
        for user in (self.manager, self.manager_b, self.agent_sales):
            with self.assertRaises(AccessError):
                self.agent_sales.with_user(user).read(["omnichannel_sip_secret"])
            with self.assertRaises(AccessError):
                self.env["res.users"].with_user(user).search(
                    [("omnichannel_sip_secret", "=", PASSWORD)]
                )

    def test_manager_of_the_users_company_reads_it(self):
        as_manager = self.agent_sales.with_user(self.manager_a)
        self.assertEqual(
            as_manager.read(["omnichannel_sip_password"])[0]["omnichannel_sip_password"], PASSWORD
        )
        Users = self.env["res.users"].with_user(self.manager_a)
        self.assertEqual(
            Users.search([("omnichannel_sip_password", "=", PASSWORD)]), self.agent_sales
        )
        exported = as_manager.export_data(["omnichannel_sip_password"])["datas"]
        self.assertEqual(exported, [[PASSWORD]])

    def test_manager_of_another_company_gets_nothing(self):
        as_b = self.agent_sales.with_user(self.manager_b)
        # the user is visible (Odoo's rule), the password is not
        self.assertEqual(as_b.read(["name"])[0]["name"], self.agent_sales.name)
        self.assertFalse(as_b.read(["omnichannel_sip_password"])[0]["omnichannel_sip_password"])
        self.assertFalse(
            as_b.web_read({"omnichannel_sip_password": {}})[0]["omnichannel_sip_password"]
        )
        exported = as_b.export_data(["omnichannel_sip_password"])["datas"]
        self.assertEqual(len(exported), 1)
        self.assertNotIn(PASSWORD, str(exported))
        Users = self.env["res.users"].with_user(self.manager_b)
        self.assertFalse(Users.search([("omnichannel_sip_password", "=", PASSWORD)]), "no oracle")
        self.assertFalse(Users.search([("omnichannel_sip_password", "in", [PASSWORD])]))
        with self.assertRaises(UserError):
            Users.search([("omnichannel_sip_password", "ilike", PASSWORD[:4])])
        with self.assertRaises(AccessError):
            as_b.write({"omnichannel_sip_password": "stolen"})
        self.assertEqual(self.agent_sales.sudo().omnichannel_sip_secret, PASSWORD)
        # a template rendered as her shows nothing either (or is refused)
        Render = self.env["mail.render.mixin"].with_user(self.manager_b)
        try:
            rendered = Render._render_template(
                "{{ object.omnichannel_sip_password }}",
                "res.users",
                self.agent_sales.ids,
                engine="inline_template",
            )
        except AccessError:
            rendered = {}
        self.assertNotIn(PASSWORD, str(rendered))

    def test_manager_of_both_companies_follows_the_selected_ones(self):
        as_ab = self.agent_sales.with_user(self.manager_ab)
        both = as_ab.with_context(allowed_company_ids=(self.company | self.company_b).ids)
        self.assertEqual(both.omnichannel_sip_password, PASSWORD)
        only_b = as_ab.with_context(allowed_company_ids=self.company_b.ids)
        self.assertFalse(only_b.omnichannel_sip_password)

    def test_the_user_reads_her_own_other_agents_do_not(self):
        as_agent = self.agent_sales.with_user(self.agent_sales)
        self.assertEqual(
            as_agent.read(["omnichannel_sip_password"])[0]["omnichannel_sip_password"], PASSWORD
        )
        as_agent.write({"omnichannel_sip_password": "m1ne-7301"})
        self.assertEqual(self.agent_sales.sudo().omnichannel_sip_secret, "m1ne-7301")
        with self.assertRaises(AccessError):
            self.agent_sales.with_user(self.agent_claims).read(["omnichannel_sip_password"])
        with self.assertRaises(AccessError):
            self.agent_sales.with_user(self.agent_claims).write({"omnichannel_sip_password": "x"})
