import hashlib
import hmac
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from odoo.addons.omnichannel_cc.tools import signature, webhook

SECRET = "s3cr3t-shared-with-the-pbx"
BODY = b'{"event": "ringing", "call_id": "1700000000.42", "timestamp": 1700000000}'
NOW = 1_700_000_000


@tagged("post_install", "-at_install")
class TestSignature(BaseCase):
    def test_sign_format(self):
        """sign() is 'sha256=' + lowercase hex HMAC-SHA256 of the raw body."""
        expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
        self.assertEqual(signature.sign(SECRET, BODY), "sha256=" + expected)
        self.assertEqual(signature.sign(SECRET.encode(), BODY), "sha256=" + expected)
        self.assertEqual(len(signature.sign(SECRET, BODY)), len("sha256=") + 64)

    def test_sign_needs_secret(self):
        with self.assertRaises(ValueError):
            signature.sign("", BODY)

    def test_verify_valid(self):
        header = signature.sign(SECRET, BODY)
        self.assertTrue(signature.verify(SECRET, BODY, header))
        self.assertTrue(signature.verify(SECRET, BODY, header.encode()))
        self.assertTrue(signature.verify(SECRET, BODY, header.upper().replace("SHA256", "sha256")))

    def test_verify_tampered(self):
        header = signature.sign(SECRET, BODY)
        self.assertFalse(signature.verify(SECRET, BODY + b" ", header))
        self.assertFalse(signature.verify("other-secret", BODY, header))
        self.assertFalse(signature.verify(SECRET, BODY, header[:-1] + "0"))
        self.assertFalse(signature.verify(SECRET, BODY, header.replace("sha256=", "sha1=")))

    def test_verify_garbage(self):
        header = signature.sign(SECRET, BODY)
        for bad_header in (None, "", "sha256=", "sha256=zzz", "ünïcode", b"\xff\xfe", 42):
            self.assertFalse(signature.verify(SECRET, BODY, bad_header), bad_header)
        self.assertFalse(signature.verify("", BODY, header))
        self.assertFalse(signature.verify(None, BODY, header))

    def test_is_fresh(self):
        self.assertTrue(signature.is_fresh(NOW, NOW))
        self.assertTrue(signature.is_fresh(NOW - 300, NOW))
        self.assertTrue(signature.is_fresh(NOW + 300, NOW))
        self.assertFalse(signature.is_fresh(NOW - 301, NOW))
        self.assertFalse(signature.is_fresh(NOW + 301, NOW))
        for bad in (None, "1700000000", True, [NOW]):
            self.assertFalse(signature.is_fresh(bad, NOW), bad)

    def test_verify_is_constant_time(self):
        """verify() delegates the comparison to hmac.compare_digest."""
        header = signature.sign(SECRET, BODY)
        with patch.object(signature.hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
            self.assertTrue(signature.verify(SECRET, BODY, header))
            self.assertFalse(signature.verify(SECRET, BODY, header[:-1] + "0"))
        self.assertEqual(spy.call_count, 2)


@tagged("post_install", "-at_install")
class TestWebhookTools(BaseCase):
    """The pure checks of the webhook preamble every signed endpoint shares
    (omnichannel_cc/tools/webhook.py)."""

    def _refused(self, func, *args, **kwargs):
        with self.assertRaises(webhook.WebhookError) as caught:
            func(*args, **kwargs)
        return caught.exception.status, caught.exception.message

    def test_size(self):
        webhook.check_size(None, 10)  # no Content-Length: the read body is checked
        webhook.check_size(10, 10)
        self.assertEqual(
            self._refused(webhook.check_size, 11, 10), (413, "The body is larger than 10 bytes.")
        )

    def test_json(self):
        self.assertEqual(webhook.load_json(b'{"a": 1}'), {"a": 1})
        status, message = self._refused(webhook.load_json, b"not json")
        self.assertEqual(status, 400)
        self.assertTrue(message.startswith("The body is not valid UTF-8 JSON"), message)
        self.assertEqual(self._refused(webhook.load_json, b"\xff\xfe")[0], 400)
        self.assertEqual(
            self._refused(webhook.load_json, b"[1, 2]"), (400, "The body must be a JSON object.")
        )

    def test_clock(self):
        webhook.check_clock(NOW - 300, NOW, sender="PBX")
        webhook.check_clock(NOW + 300, NOW, sender="PBX")
        for stamp in (NOW - 301, NOW + 301):
            self.assertEqual(
                self._refused(webhook.check_clock, stamp, NOW, sender="PBX"),
                (401, "The timestamp is more than 5 minutes off: check the PBX's clock."),
            )
        # a platform retrying for days: old is fine, ahead is not
        week = 7 * 86400
        webhook.check_clock(NOW - week, NOW, max_age=week)
        status, message = self._refused(
            webhook.check_clock, NOW - week - 1, NOW, max_age=week, sender="platform"
        )
        self.assertEqual(status, 401)
        self.assertIn("older than 7 days or ahead by more than 5 minutes", message)
        self.assertEqual(self._refused(webhook.check_clock, NOW + 301, NOW, max_age=week)[0], 401)
        for bad in (None, "1700000000", True):
            self.assertEqual(self._refused(webhook.check_clock, bad, NOW)[0], 401)
