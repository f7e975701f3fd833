import hashlib
import hmac
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from ..tools import signature

SECRET = "s3cr3t-shared-with-the-pbx"
BODY = b'{"event": "ringing", "call_id": "1700000000.42"}'
NOW = 1_700_000_000


@tagged("post_install", "-at_install")
class TestSignature(BaseCase):
    def test_sign_format(self):
        """sign() is 'sha256=' + lowercase hex HMAC-SHA256 of '<ts>.' + body."""
        header = signature.sign(SECRET, BODY, NOW)
        expected = hmac.new(SECRET.encode(), b"%d." % NOW + BODY, hashlib.sha256).hexdigest()
        self.assertEqual(header, "sha256=" + expected)
        self.assertEqual(len(header), len("sha256=") + 64)

    def test_sign_without_timestamp(self):
        expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
        self.assertEqual(signature.sign(SECRET, BODY), "sha256=" + expected)
        self.assertEqual(signature.sign(SECRET.encode(), BODY), "sha256=" + expected)

    def test_sign_needs_secret(self):
        with self.assertRaises(ValueError):
            signature.sign("", BODY)

    def test_verify_valid(self):
        header = signature.sign(SECRET, BODY, NOW)
        self.assertTrue(signature.verify(SECRET, BODY, header, NOW, NOW))
        self.assertTrue(signature.verify(SECRET, BODY, header, str(NOW), NOW + 299))
        self.assertTrue(signature.verify(SECRET, BODY, header.encode(), NOW, NOW - 300))

    def test_verify_tampered(self):
        header = signature.sign(SECRET, BODY, NOW)
        self.assertFalse(signature.verify(SECRET, BODY + b" ", header, NOW, NOW))
        self.assertFalse(signature.verify("other-secret", BODY, header, NOW, NOW))
        self.assertFalse(signature.verify(SECRET, BODY, header[:-1] + "0", NOW, NOW))
        self.assertFalse(
            signature.verify(SECRET, BODY, header.replace("sha256=", "sha1="), NOW, NOW)
        )

    def test_verify_replay_with_new_timestamp(self):
        """The timestamp is signed: a fresh timestamp on an old signature fails."""
        old_header = signature.sign(SECRET, BODY, NOW)
        later = NOW + 3600
        self.assertFalse(signature.verify(SECRET, BODY, old_header, later, later))

    def test_verify_expired(self):
        header = signature.sign(SECRET, BODY, NOW)
        self.assertFalse(signature.verify(SECRET, BODY, header, NOW, NOW + 301))
        self.assertFalse(signature.verify(SECRET, BODY, header, NOW, NOW - 301))
        self.assertTrue(signature.verify(SECRET, BODY, header, NOW, NOW + 1000, tolerance=1000))

    def test_verify_garbage(self):
        header = signature.sign(SECRET, BODY, NOW)
        for bad_header in (None, "", "sha256=", "sha256=zzz", "ünïcode", b"\xff\xfe", 42):
            self.assertFalse(signature.verify(SECRET, BODY, bad_header, NOW, NOW), bad_header)
        for bad_timestamp in (None, "", "yesterday", "1.5e9"):
            self.assertFalse(signature.verify(SECRET, BODY, header, bad_timestamp, NOW))
        self.assertFalse(signature.verify("", BODY, header, NOW, NOW))
        self.assertFalse(signature.verify(None, BODY, header, NOW, NOW))

    def test_verify_is_constant_time(self):
        """verify() delegates the comparison to hmac.compare_digest."""
        header = signature.sign(SECRET, BODY, NOW)
        with patch.object(signature.hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
            self.assertTrue(signature.verify(SECRET, BODY, header, NOW, NOW))
            self.assertFalse(signature.verify(SECRET, BODY, header[:-1] + "0", NOW, NOW))
        self.assertEqual(spy.call_count, 2)
