"""omnichannel_cc/tools/signature.py: HMAC-SHA256 webhook signatures, without Odoo.

The one harness of signature.py: the PBX webhooks (omnichannel_cc_voip) and
Meta's X-Hub-Signature-256 (omnichannel_cc_social, re-exported there as
``sign`` and ``verify_signature``) both sign with it; so does the Asterisk
bridge (omnichannel_cc_voip/scripts/ami_bridge.py), checked against it here.
"""

import hashlib
import hmac
import importlib.util
import json
import sys
import unittest
from unittest.mock import patch

import pytest

from tests.conftest import REPO_ROOT
from tests.unit._tools import load_tools

(signature,) = load_tools("signature")

SECRET = "s3cr3t-shared-with-the-pbx"
BODY = b'{"event": "ringing", "call_id": "1700000000.42", "timestamp": 1700000000}'
NOW = 1_700_000_000


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def test_sign_and_verify_round_trip():
    body = b'{"a": 1}'
    header = signature.sign("s3cret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature.verify("s3cret", body, header)
    assert signature.verify("s3cret", body, header.upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "secret, body, header",
    [
        ("s3cret", b'{"a": 2}', None),  # missing
        ("other", b'{"a": 1}', "use-real"),  # wrong key
        ("s3cret", b'{"a": 1} ', "use-real"),  # body changed by one byte
        ("", b'{"a": 1}', "sha256=00"),  # no secret configured
        ("s3cret", b'{"a": 1}', "sha256=zz\u00e9"),  # garbage, non-ASCII
        ("s3cret", b'{"a": 1}', 42),  # not a string
    ],
)
def test_verify_signature_refuses(secret, body, header):
    if header == "use-real":
        header = signature.sign("s3cret", b'{"a": 1}')
    assert not signature.verify(secret, body, header)


class TestSignature(unittest.TestCase):
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


# ----------------------------------------------------------------------
# L7 (c): the Asterisk bridge signs exactly what the server verifies
# ----------------------------------------------------------------------
def _bridge():
    path = REPO_ROOT / "omnichannel_cc_voip" / "scripts" / "ami_bridge.py"
    spec = importlib.util.spec_from_file_location("ami_bridge_signing_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv_extra", [[], ["--timestamp-header"]])
def test_l7c_ami_bridge_signature_is_accepted_by_the_server(argv_extra):
    """The bridge's request, with or without the former --timestamp-header,
    passes the server's verification (signature.verify) and carries the
    signed timestamp the server checks in the body."""
    bridge = _bridge()
    args = bridge._parser().parse_args(
        ["--ami-user", "u", "--odoo-url", "http://odoo", "--token", "t", *argv_extra]
    )
    poster = bridge.EventPoster(bridge.event_url(args.odoo_url, args.token), SECRET)
    event = {"event": "ringing", "call_id": "1700000000.42", "timestamp": NOW, "agent": "1001"}
    body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    request = poster._request(body)
    headers = {name.lower(): value for name, value in request.header_items()}
    assert request.data == body
    assert headers["content-type"] == "application/json"
    assert signature.verify(SECRET, request.data, headers["x-omnichannel-signature"])
    assert bridge.sign(SECRET, body) == signature.sign(SECRET, body)
    assert json.loads(request.data)["timestamp"] == NOW
    assert "x-omnichannel-timestamp" not in headers


def test_l7c_ami_bridge_takes_a_token_starting_with_a_dash():
    """Channels made before 2026-12-06 may have a token or secret starting
    with "-": the documented "--token=..." form reads it as a value."""
    args = (
        _bridge()
        ._parser()
        .parse_args(
            ["--ami-user", "u", "--odoo-url", "http://odoo", "--token=-abc", "--secret=-xyz"]
        )
    )
    assert (args.token, args.secret) == ("-abc", "-xyz")
