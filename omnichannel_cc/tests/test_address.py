from odoo.tests import BaseCase, tagged

from ..tools import address


@tagged("post_install", "-at_install")
class TestAddressTools(BaseCase):
    """Pure normalisation logic: no database."""

    def test_phone_notations(self):
        for text in ("+48 601-234-567", "0048601234567", "+48 (601) 234 567", "+48.601.234.567"):
            self.assertEqual(address.phone_candidates(text, []), ["+48601234567"], text)
        self.assertEqual(address.phone_candidates("601 234 567", ["PL"]), ["+48601234567"])
        self.assertEqual(address.phone_candidates("48601234567", []), ["+48601234567"])

    def test_national_number_reads_in_each_region(self):
        self.assertEqual(
            address.phone_candidates("601 234 567", ["PL", "DE", "PL"]),
            ["+48601234567", "+49601234567"],
        )

    def test_garbage_is_refused(self):
        for text in ("hello", "12", "", "++--", "601abc234"):
            with self.assertRaises(address.AddressError, msg=text):
                address.phone_candidates(text, ["PL"])

    def test_email(self):
        self.assertEqual(
            address.normalize_email("Jan <JAN.Kowalski@Example.PL>"), "jan.kowalski@example.pl"
        )
        with self.assertRaises(address.AddressError):
            address.normalize_email("jan@")
        self.assertEqual(address.classify("a@b.pl"), "email")
        self.assertEqual(address.classify("+48 22 1"), "phone")
        self.assertIsNone(address.classify("just text"))
