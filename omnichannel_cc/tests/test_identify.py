from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged, users

from ..models.res_partner import normalize_email
from ..tools.address import AddressError
from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestIdentify(OmnichannelCommon):
    def test_stored_e164_uses_partner_country(self):
        self.assertEqual(self.customer_contact.mobile_e164, "+48609876543")
        self.assertEqual(self.customer_company.phone_e164, "+48123998877")
        german = self.env["res.partner"].create(
            {"name": "Hans", "country_id": self.env.ref("base.de").id, "phone": "030 1234567"}
        )
        self.assertEqual(german.phone_e164, "+49301234567")
        german.country_id = self.poland
        self.assertNotEqual(german.phone_e164, "+49301234567")

    def test_country_falls_back_to_company_then_main_company(self):
        Partner = self.env["res.partner"]
        german_company = self.env["res.company"].create(
            {"name": "GmbH", "country_id": self.env.ref("base.de").id}
        )
        of_company = Partner.create(
            {"name": "Firmowy", "phone": "030 1234567", "company_id": german_company.id}
        )
        self.assertEqual(of_company.phone_e164, "+49301234567")
        self.env.ref("base.main_company").country_id = self.poland
        no_country = Partner.create({"name": "Bez kraju", "phone": "601 000 111"})
        self.assertEqual(no_country.phone_e164, "+48601000111")
        # never the current user's company (Polish here): the stored value
        # does not depend on who saved the record
        self.assertEqual(self.env.company.country_id, self.poland)
        self.env.ref("base.main_company").country_id = self.env.ref("base.de")
        same = Partner.create({"name": "B", "phone": "030 1234567"})
        self.assertEqual(same.phone_e164, "+49301234567")

    def test_unparsable_number_is_not_stored(self):
        partner = self.env["res.partner"].create({"name": "X", "phone": "call me maybe"})
        self.assertFalse(partner.phone_e164)

    @users("occ_agent_sales")
    def test_identify_any_notation(self):
        Partner = self.env["res.partner"]
        for text in (
            "+48 609-876-543",
            "0048609876543",
            "609 876 543",
            "(609) 876-543",
            "+48.609.876.543",
        ):
            matches = Partner.omnichannel_identify(text)
            self.assertEqual([m["id"] for m in matches], [self.customer_contact.id], text)
            self.assertEqual(matches[0]["commercial_partner_id"], self.customer_company.id)
            self.assertEqual(matches[0]["name"], self.customer_contact.display_name)

    def test_best_match_first(self):
        # a colleague shares the company's switchboard number: persons first
        colleague = self.env["res.partner"].create(
            {
                "name": "Maria Testowa",
                "parent_id": self.customer_company.id,
                "country_id": self.poland.id,
                "phone": "+48 12 399 88 77",
            }
        )
        ids = [m["id"] for m in self.env["res.partner"].omnichannel_identify("123998877")]
        self.assertEqual(ids, [colleague.id, self.customer_company.id])

    def test_identify_email_any_case(self):
        matches = self.env["res.partner"].omnichannel_identify(
            "JAN.TESTOWY@tartak-test.EXAMPLE", channel_type="email"
        )
        self.assertEqual([m["id"] for m in matches], [self.customer_contact.id])
        matches = self.env["res.partner"].omnichannel_identify(
            "Jan <jan.testowy@tartak-test.example>"
        )
        self.assertEqual([m["id"] for m in matches], [self.customer_contact.id])

    def test_nobody_matches(self):
        self.assertEqual(self.env["res.partner"].omnichannel_identify("+48 700 000 000"), [])
        self.assertEqual(self.env["res.partner"].omnichannel_identify("nobody@example.org"), [])

    def test_bad_address_is_refused(self):
        Partner = self.env["res.partner"]
        for text in ("hello", "12", "", "jan@", "++--"):
            with self.assertRaises(ValidationError, msg=text):
                Partner.omnichannel_identify(text)
        with self.assertRaises(ValidationError):
            Partner.omnichannel_identify("609 876 543", channel_type="email")

    def test_lookup_uses_the_indexes(self):
        self.env.cr.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'res_partner' "
            "AND indexname IN ('res_partner__phone_e164_index', 'res_partner__mobile_e164_index', "
            "'res_partner_email_normalized_occ_idx')"
        )
        self.assertEqual(len(self.env.cr.fetchall()), 3)

    def test_candidate_regions_follow_the_company_country(self):
        # cached per company set: a company moving country must be seen
        company = self.env.company
        company.country_id = self.poland
        self.assertEqual(self.env["res.partner"]._omnichannel_candidate_regions()[0], "PL")
        company.country_id = self.env.ref("base.de")
        self.assertEqual(self.env["res.partner"]._omnichannel_candidate_regions()[0], "DE")
        german = self.env["res.partner"].create({"name": "Hans", "phone": "+49 30 1234567"})
        self.assertEqual(
            self.env["res.partner"].omnichannel_identify("030 1234567")[0]["id"], german.id
        )


@tagged("post_install", "-at_install")
class TestEmailNormalization(TransactionCase):
    """Identification normalises e-mail addresses exactly as Odoo fills
    ``email_normalized``, so a customer is found by any notation of their address."""

    def test_same_as_email_normalized(self):
        for text in (
            "jan.kowalski@example.com",
            "Jan.Kowalski@Example.COM",
            "  JAN@EXAMPLE.COM ",
            "Jan Kowalski <Jan.Kowalski@Example.com>",
            '"Kowalski, Jan" <JAN@example.com>',
            "<anna+cc@sub.example.pl>",
        ):
            partner = self.env["res.partner"].create({"name": "N", "email": text})
            self.assertEqual(normalize_email(text), partner.email_normalized, text)
            found = self.env["res.partner"].omnichannel_identify(text, channel_type="email")
            self.assertIn(partner.id, [match["id"] for match in found], text)

    def test_garbage_is_refused(self):
        for text in ("", None, "hello", "jan@", "@example.com", "jan@example", "Jan <>"):
            with self.assertRaises(AddressError, msg=text):
                normalize_email(text)
