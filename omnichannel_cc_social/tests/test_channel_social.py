"""The social messenger channel over real HTTP: webhook checks, conversations,
media, identities, agents' replies and access.

The platforms' APIs (Graph API, Bot API) have no peer inside an Odoo test:
here ``SocialAdapter._transport`` (the adapters' only HTTP call) is patched
with a recorder answering as the platform would, and
``SocialAdapter._resolve`` (their only host lookup) with the public address
of the platforms' hosts. The repository's e2e test
(tests/e2e/test_social_e2e.py) runs the same flow against WireMock.

Replies are sent after the commit (postcommit hooks). An Odoo test never
commits: :meth:`_after_commit` runs the hooks as a commit would.
"""

import json
import logging
import time
from datetime import timedelta

import psycopg2.errors
import requests
import urllib3
from markupsafe import Markup

from odoo import api, fields
from odoo.exceptions import AccessError
from odoo.service.model import retrying
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon
from odoo.addons.omnichannel_cc.tests.inbox import apply_inbox

from ..models import omnichannel_interaction as social_model
from ..tools import social as social_tools

API = "https://graph.example.invalid/v19.0"
TELEGRAM_API = "https://telegram.example.invalid"
# where the Cloud API and Messenger serve media (default media hosts)
WHATSAPP_MEDIA_URL = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=m1"
# a picture as the platforms serve it (its content is checked, not only its type)
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR"
MESSENGER_MEDIA_URL = "https://scontent.xx.fbcdn.net/v/t1.15752-9/fb1.png?oh=00_A"
PUBLIC_ADDRESS = "157.240.0.35"
BOT_TOKEN = "4242:BOT-secret_token"
OPEN = ("new", "queued", "offered", "active")


def _response(status, payload, content_type="application/json"):
    response = requests.Response()
    response.status_code = status
    response._content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response._content_consumed = True
    response.headers["Content-Type"] = content_type
    return response


@tagged("post_install", "-at_install")
class TestChannelSocial(OmnichannelCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Channel = cls.env["omnichannel.channel"]
        cls.channel = Channel.create(
            {
                "name": "WhatsApp sales",
                "channel_type": "social",
                "social_platform": "whatsapp",
                "address": "PN1",
                "queue_id": cls.queue_sales.id,
                "social_api_url": API,
                "social_app_secret": "app-secret",
                "social_access_token": "ACCESS",
                "social_verify_token": "verify-me",
            }
        )
        cls.telegram = Channel.create(
            {
                "name": "Telegram bot",
                "channel_type": "social",
                "social_platform": "telegram",
                "address": "4242",
                "queue_id": cls.queue_sales.id,
                "social_api_url": TELEGRAM_API,
                "social_app_secret": "tg-secret",
                "social_access_token": BOT_TOKEN,
            }
        )

    def setUp(self):
        super().setUp()
        self.calls = []
        self.routes = {
            ("GET", f"{API}/MEDIA1"): _response(
                200, {"url": WHATSAPP_MEDIA_URL, "mime_type": "image/jpeg"}
            ),
            ("GET", WHATSAPP_MEDIA_URL): _response(200, b"\xff\xd8\xffJPEG", "image/jpeg"),
            ("POST", f"{API}/PN1/messages"): _response(200, {"messages": [{"id": "wamid.OUT1"}]}),
            ("POST", f"{TELEGRAM_API}/bot{BOT_TOKEN}/sendMessage"): _response(
                200, {"ok": True, "result": {"message_id": 77}}
            ),
        }

        def transport(adapter, method, url, **kwargs):
            self.calls.append(
                {
                    "method": method,
                    "url": url,
                    "headers": kwargs.get("headers") or {},
                    "json": kwargs.get("json"),
                }
            )
            # (a Response of status >= 400 is falsy: no `or` here)
            answer = self.routes.get((method, url), _response(404, {"error": {"message": url}}))
            if isinstance(answer, Exception):
                raise answer
            return answer

        self.patch(social_tools.SocialAdapter, "_transport", transport)
        # host -> addresses; every other host resolves to a public address
        self.addresses = {}
        self.patch(
            social_tools.SocialAdapter,
            "_resolve",
            lambda adapter, host, port: self.addresses.get(host, [PUBLIC_ADDRESS]),
        )

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _after_commit(self):
        """What a commit does once the data is written: run the postcommit
        hooks (they see the test's data: fresh cursors are test cursors)."""
        self.env.flush_all()
        self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def _reply(self, interaction, body, user=None):
        return interaction.with_user(user or self.agent_sales).message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def _sends(self):
        return [c for c in self.calls if c["method"] == "POST"]

    def _token(self, channel=None):
        return (channel or self.channel).sudo().social_webhook_token

    def _whatsapp(self, message_id, text=None, image=None, sender="48509333444", name="Zofia"):
        message = {"from": sender, "id": message_id, "timestamp": str(int(time.time()))}
        if image:
            message.update(type="image", image={"id": image, "mime_type": "image/jpeg"})
        else:
            message.update(type="text", text={"body": text})
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "PN1"},
                                "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                                "messages": [message],
                            },
                        }
                    ],
                }
            ],
        }

    def _post(self, payload, token=None, secret="app-secret", raw=None, headers=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json"}
        if secret:
            all_headers[social_tools.SIGNATURE_HEADER] = social_tools.sign(secret, body)
        all_headers.update(headers or {})
        response = self.url_open(
            f"/omnichannel/social/{token or self._token()}", data=body, headers=all_headers
        )
        # stored in the event inbox at once: its outcome once applied
        return apply_inbox(self.env, response)

    def _counts(self):
        return (
            self.env["omnichannel.interaction"].search_count([]),
            self.env["omnichannel.event.key"].sudo().search_count([]),
            self.env["omnichannel.social.identity"].sudo().search_count([]),
            self.env["mail.message"]
            .sudo()
            .search_count([("model", "=", "omnichannel.interaction")]),
        )

    def _conversation(self, channel=None, sender="48509333444"):
        identity = (
            self.env["omnichannel.social.identity"]
            .sudo()
            .search(
                [("channel_id", "=", (channel or self.channel).id), ("external_id", "=", sender)]
            )
        )
        return identity, identity.interaction_id

    def _customer_messages(self, interaction):
        return interaction.message_ids.filtered(
            lambda m: m.omnichannel_social_state == "received"
        ).sorted("id")

    # ------------------------------------------------------------------
    # webhook checks
    # ------------------------------------------------------------------
    def test_handshake(self):
        url = f"/omnichannel/social/{self._token()}"
        ok = self.url_open(
            f"{url}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"
        )
        self.assertEqual(ok.status_code, 200)
        self.assertEqual(ok.text, "1158201444")
        self.assertTrue(ok.headers["Content-Type"].startswith("text/plain"))
        wrong = self.url_open(f"{url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
        self.assertEqual(wrong.status_code, 403)
        self.assertNotIn("1", wrong.text.replace("403", ""))
        unknown = self.url_open(
            "/omnichannel/social/no-such-token?hub.mode=subscribe&hub.verify_token=verify-me"
            "&hub.challenge=1"
        )
        self.assertEqual(unknown.status_code, 404)

    def test_forged_or_missing_signature_stores_nothing(self):
        before = self._counts()
        payload = self._whatsapp("wamid.F1", text="hi")
        forged = self._post(payload, secret="not-the-secret")
        self.assertEqual(forged.status_code, 401, forged.text)
        missing = self._post(payload, secret=None)
        self.assertEqual(missing.status_code, 401)
        # a signature of another body
        other = self._post(
            payload,
            secret=None,
            headers={social_tools.SIGNATURE_HEADER: social_tools.sign("app-secret", b"{}")},
        )
        self.assertEqual(other.status_code, 401)
        self.assertEqual(self._counts(), before)
        self.assertFalse(self.calls)

    def test_unknown_archived_oversized_malformed(self):
        before = self._counts()
        payload = self._whatsapp("wamid.E1", text="hi")
        self.assertEqual(self._post(payload, token="unknown-token").status_code, 404)
        too_big = b'{"entry": [], "pad": "' + b"x" * social_tools.MAX_BODY + b'"}'
        self.assertEqual(self._post(None, raw=too_big).status_code, 413)
        malformed = self._post(None, raw=b'{"entry": [')
        self.assertEqual(malformed.status_code, 400)
        self.assertEqual(self._post(None, raw=b"[1, 2]").status_code, 400)
        token = self._token()
        self.channel.active = False
        self.assertEqual(self._post(payload, token=token).status_code, 404)
        self.assertEqual(self._counts(), before)

    def test_preamble_refusals(self):
        """The shared webhook preamble (omnichannel_cc/controllers/webhook.py)
        as a platform sees it: status and JSON error of each refusal, in the
        order of the checks; nothing is written."""
        before = self._counts()
        payload = self._whatsapp("wamid.P1", text="hi")
        now = int(time.time())

        def at(timestamp):
            dated = self._whatsapp("wamid.P1", text="hi")
            dated["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(timestamp)
            return dated

        oversized = b'{"entry": [], "pad": "' + b"x" * social_tools.MAX_BODY + b'"}'
        cases = [
            ({"raw": oversized}, 413, f"The body is larger than {social_tools.MAX_BODY} bytes."),
            ({"raw": oversized, "token": "unknown-token"}, 413, None),
            ({"token": "unknown-token"}, 404, "Unknown webhook token."),
            ({"secret": "not-the-secret"}, 401, "Missing or bad webhook signature."),
            ({"raw": b'{"entry": ['}, 400, "The body is not valid UTF-8 JSON"),
            ({"raw": b"[1, 2]"}, 400, "The body must be a JSON object."),
            # the platforms retry for days: older than that is a replay
            ({"payload": at(now - 9 * 86400)}, 401, "The timestamp is older than 8 days"),
            ({"payload": at(now + 3600)}, 401, "check the platform's clock"),
        ]
        for options, status, message in cases:
            options = dict({"payload": payload}, **options)
            response = self._post(options.pop("payload"), **options)
            self.assertEqual(response.status_code, status, (options, response.text))
            self.assertTrue(response.headers["Content-Type"].startswith("application/json"))
            if message:
                self.assertIn(message, response.json()["error"], options)
        self.assertEqual(self._counts(), before)
        self.assertFalse(self.calls)
        # a delivery the platform retried two days later is still taken
        response = self._post(at(now - 2 * 86400))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["received"], 1)

    # ------------------------------------------------------------------
    # conversations
    # ------------------------------------------------------------------
    def test_text_and_media_message_make_one_conversation(self):
        response = self._post(self._whatsapp("wamid.T1", text="Dzień dobry,\nszkoda"))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["received"], 1)
        identity, interaction = self._conversation()
        self.assertTrue(interaction)
        self.assertEqual(interaction.channel_id, self.channel)
        self.assertEqual(interaction.queue_id, self.queue_sales)
        self.assertIn(interaction.state, OPEN)
        # a WhatsApp sender is a phone number: the customer is identified
        self.assertEqual(interaction.partner_id, self.customer_plain)
        self.assertEqual(identity.partner_id, self.customer_plain)
        self.assertEqual(identity.name, "Zofia")
        self.assertEqual(interaction.contact_address, "+48509333444")
        (text,) = self._customer_messages(interaction)
        self.assertEqual(text.author_id, self.customer_plain)
        self.assertIn("Dzień dobry,<br>szkoda", text.body)
        self.assertEqual(text.omnichannel_social_id, "wamid.T1")

        response = self._post(self._whatsapp("wamid.I1", image="MEDIA1"))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self._conversation()[1], interaction, "joins the open conversation")
        image = self._customer_messages(interaction)[-1]
        self.assertEqual(image.omnichannel_social_id, "wamid.I1")
        (attachment,) = image.attachment_ids
        self.assertEqual(attachment.res_model, "omnichannel.interaction")
        self.assertEqual(attachment.res_id, interaction.id)
        self.assertEqual(attachment.raw, b"\xff\xd8\xffJPEG")
        self.assertEqual(attachment.name, "image-MEDIA1.jpg")
        # media fetched as the Cloud API wants: metadata, then the URL, both with the token
        self.assertEqual(
            [(c["method"], c["url"]) for c in self.calls],
            [("GET", f"{API}/MEDIA1"), ("GET", WHATSAPP_MEDIA_URL)],
        )
        self.assertTrue(all(c["headers"]["Authorization"] == "Bearer ACCESS" for c in self.calls))
        # no customer message was echoed back to the customer
        self.assertFalse([c for c in self.calls if c["method"] == "POST"])

        # once the conversation is over, the next message opens a new one
        interaction.sudo()._set_state("active")
        interaction.sudo()._set_state("done")
        self.assertEqual(self._post(self._whatsapp("wamid.T2", text="again")).status_code, 200)
        new = self._conversation()[1]
        self.assertNotEqual(new, interaction)
        self.assertEqual(new.partner_id, self.customer_plain)

    def test_duplicate_delivery_is_stored_once(self):
        payload = self._whatsapp("wamid.D1", text="once")
        first = self._post(payload)
        self.assertEqual(
            first.json(), {"received": 1, "duplicates": 0, "ignored": 0, "statuses": 0}
        )
        before = self._counts()
        again = self._post(payload)
        self.assertEqual(again.status_code, 200)
        # the platform's retry of the same body: a duplicate in the inbox, stored once
        receipt = again.receipt.json()
        self.assertEqual(receipt, dict(first.receipt.json(), duplicate=True))
        self.assertEqual(self._counts(), before)
        self.assertEqual(len(self._customer_messages(self._conversation()[1])), 1)

    def test_media_failure_keeps_the_message(self):
        self.routes[("GET", f"{API}/MEDIA1")] = _response(
            404, {"error": {"message": "Media not found"}}
        )
        response = self._post(self._whatsapp("wamid.I9", image="MEDIA1"))
        self.assertEqual(response.status_code, 200, response.text)
        interaction = self._conversation()[1]
        (message,) = self._customer_messages(interaction)
        self.assertFalse(message.attachment_ids)
        notes = interaction.message_ids.filtered(lambda m: "could not be downloaded" in m.body)
        self.assertEqual(len(notes), 1)
        self.assertIn("Media not found", notes.body)

    def test_hostile_name_and_text_are_kept_as_text(self):
        """Issue 19: a display name and a message holding HTML/JS are stored
        as the customer typed them (names, subject) and escaped in the chatter;
        the console's templates show them as text (core tour test_hostile_content)."""
        name = '"><svg onload=window.__xss=1>'
        text = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
        # a sender the company does not know: the customer is created from the name
        response = self._post(
            self._whatsapp("wamid.X1", text=text, sender="48500111222", name=name)
        )
        self.assertEqual(response.status_code, 200, response.text)
        identity, interaction = self._conversation(sender="48500111222")
        self.assertEqual(identity.name, name)
        self.assertIn(name, interaction.subject)
        (message,) = self._customer_messages(interaction)
        self.assertNotIn("<script", message.body)
        self.assertNotIn("<img", message.body)
        self.assertIn("&lt;script&gt;window.__xss=1&lt;/script&gt;", message.body)

    def test_hostile_media_is_not_kept(self):
        """Issue 19: markup or a program is not kept, whatever the platform
        calls it; the customer's message stays, an internal note says why."""
        hostile = [
            (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
            (b"<html><script>alert(1)</script></html>", "image/jpeg"),
            (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "application/octet-stream"),
        ]
        attachments = self.env["ir.attachment"].sudo().search_count([])
        for index, (content, mime_type) in enumerate(hostile):
            self.routes[("GET", f"{API}/MEDIA1")] = _response(
                200, {"url": WHATSAPP_MEDIA_URL, "mime_type": mime_type}
            )
            self.routes[("GET", WHATSAPP_MEDIA_URL)] = _response(200, content, mime_type)
            response = self._post(self._whatsapp(f"wamid.H{index}", image="MEDIA1"))
            self.assertEqual(response.status_code, 200, response.text)
            message = self._customer_messages(self._conversation()[1])[-1]
            self.assertEqual(message.omnichannel_social_id, f"wamid.H{index}")
            self.assertFalse(message.attachment_ids)
        self.assertEqual(self.env["ir.attachment"].sudo().search_count([]), attachments)
        notes = self._conversation()[1].message_ids.filtered(
            lambda m: "was not kept" in (m.body or "")
        )
        self.assertEqual(len(notes), 3)

    # ------------------------------------------------------------------
    # replies
    # ------------------------------------------------------------------
    def test_agent_reply_is_sent_and_notes_are_not(self):
        self._post(self._whatsapp("wamid.T1", text="Where is my order?"))
        interaction = self._conversation()[1]
        # replies go over WhatsApp, not also by e-mail to a subscribed customer
        self.assertNotIn(self.customer_plain, interaction.message_partner_ids)
        as_agent = interaction.with_user(self.agent_sales)
        note = as_agent.message_post(
            body="internal remark", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        self._after_commit()
        self.assertFalse(self.calls, "a note never reaches the customer")
        self.assertFalse(note.omnichannel_social_state)
        reply = as_agent.message_post(
            body=Markup("It ships <b>today</b>."),
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        # nothing leaves Odoo before the transaction commits
        self.assertFalse(self.calls)
        self.assertEqual(reply.omnichannel_social_state, "outgoing")
        self._after_commit()
        (call,) = self.calls
        self.assertEqual(call["url"], f"{API}/PN1/messages")
        self.assertEqual(call["headers"]["Authorization"], "Bearer ACCESS")
        self.assertEqual(
            call["json"],
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "48509333444",
                "type": "text",
                "text": {"preview_url": False, "body": "It ships *today*."},
            },
        )
        self.assertEqual(reply.omnichannel_social_id, "wamid.OUT1")
        self.assertEqual(reply.omnichannel_social_state, "sent")
        self.assertEqual(reply.omnichannel_social_attempts, 1)
        self._after_commit()
        self.assertEqual(len(self.calls), 1, "sent once")

        # the platform reports delivery, then reading
        def status_payload(status, message_id="wamid.OUT1", **extra):
            return {
                "entry": [
                    {
                        "changes": [
                            {
                                "value": {
                                    "metadata": {"phone_number_id": "PN1"},
                                    "statuses": [
                                        dict({"id": message_id, "status": status}, **extra)
                                    ],
                                }
                            }
                        ]
                    }
                ]
            }

        for status in ("delivered", "read", "delivered"):
            self.assertEqual(self._post(status_payload(status)).status_code, 200)
        reply.invalidate_recordset()
        self.assertEqual(reply.omnichannel_social_state, "read", "never goes back to delivered")
        # a later reply the platform could not deliver
        second = as_agent.message_post(
            body="Anything else?", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        second.omnichannel_social_id = "wamid.OUT2"
        failed = status_payload(
            "failed", "wamid.OUT2", errors=[{"code": 131047, "title": "Re-engagement message"}]
        )
        response = self._post(failed)
        self.assertEqual(response.json()["statuses"], 1)
        second.invalidate_recordset()
        self.assertEqual(second.omnichannel_social_state, "failed")
        self.assertEqual(second.omnichannel_social_error, "Re-engagement message")
        self.assertTrue(
            interaction.message_ids.filtered(
                lambda m: "could not deliver a reply" in m.body and "Re-engagement" in m.body
            )
        )

    def test_reply_errors_are_shown(self):
        self._post(self._whatsapp("wamid.T1", text="hello"))
        interaction = self._conversation()[1].with_user(self.agent_sales)
        self.routes[("POST", f"{API}/PN1/messages")] = _response(
            400, {"error": {"message": "Recipient phone number not in allowed list"}}
        )
        reply = interaction.message_post(
            body="first try", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._after_commit()
        self.assertEqual(reply.omnichannel_social_state, "failed")
        self.assertIn("HTTP 400", reply.omnichannel_social_error)
        self.assertIn("not in allowed list", reply.omnichannel_social_error)
        self.routes[("POST", f"{API}/PN1/messages")] = requests.Timeout("slow")
        late = interaction.message_post(
            body="second try", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._after_commit()
        self.assertEqual(late.omnichannel_social_state, "failed")
        self.assertIn("did not answer in time", late.omnichannel_social_error)
        notes = interaction.sudo().message_ids.filtered(
            lambda m: (
                m.subtype_id == self.env.ref("mail.mt_note")
                and "Not delivered to the customer" in m.body
            )
        )
        self.assertEqual(len(notes), 2)
        self.assertTrue(any("not in allowed list" in n.body for n in notes))
        self.assertTrue(any("did not answer in time" in n.body for n in notes))

    # ------------------------------------------------------------------
    # replies leave Odoo only after the commit, once
    # ------------------------------------------------------------------
    def test_rolled_back_reply_is_never_sent(self):
        self._post(self._whatsapp("wamid.T1", text="hello"))
        interaction = self._conversation()[1]
        self.env.flush_all()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.agent_sales.id, {})
            reply = self._reply(env["omnichannel.interaction"].browse(interaction.id), "oops")
            reply_id = reply.id
            self.assertTrue(cr.postcommit._funcs, "the send waits for the commit")
            cr.rollback()
            self.assertFalse(cr.postcommit._funcs, "a rollback drops the send")
            cr.postcommit.run()
        self._after_commit()
        self.assertFalse(self._sends())
        self.assertFalse(self.env["mail.message"].browse(reply_id).exists())
        # nor does the cron find anything to send later
        self.env["omnichannel.interaction"]._cron_social_retry()
        self.assertFalse(self._sends())

    def test_request_retried_after_serialization_failure_sends_once(self):
        """A request retried by Odoo (odoo.service.model.retrying) after a
        serialization failure: only the reply of the committed try is sent."""
        self._post(self._whatsapp("wamid.T1", text="hello"))
        interaction = self._conversation()[1]
        self.env.flush_all()
        tries, hooks = [], []
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.agent_sales.id, {})

            def post():
                record = env["omnichannel.interaction"].browse(interaction.id)
                reply = self._reply(record, f"try {len(tries) + 1}")
                tries.append(reply.id)
                self.assertEqual(reply.omnichannel_social_state, "outgoing")
                self.assertFalse(self._sends(), "never sent inside the transaction")
                if len(tries) == 1:
                    # PostgreSQL refuses the first try: a concurrent update
                    with mute_logger("odoo.sql_db"):
                        cr.execute(
                            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = "
                            "'serialization_failure'; END $$"
                        )
                self.assertEqual(cr.postcommit.data[social_model.POSTCOMMIT_KEY], [reply.id])
                # the hooks the real commit runs (a test cursor's commit drops them)
                hooks.extend(cr.postcommit._funcs)
                return reply.id

            sent_id = retrying(post, env)
        self.assertEqual(len(tries), 2)
        self.assertEqual(sent_id, tries[1])
        self.assertFalse(self.env["mail.message"].browse(tries[0]).exists())
        for hook in hooks:
            hook()
        self.env.invalidate_all()
        (call,) = self._sends()
        self.assertEqual(call["json"]["text"]["body"], "try 2")
        self.assertEqual(self.env["mail.message"].browse(sent_id).omnichannel_social_state, "sent")

    def test_cron_sends_replies_left_outgoing_once(self):
        """A worker dies between the commit and the send: the cron sends the
        reply later, once; a reply tried too often becomes failed."""
        self._post(self._whatsapp("wamid.T1", text="hello"))
        interaction = self._conversation()[1]
        Interaction = self.env["omnichannel.interaction"]
        reply = self._reply(interaction, "late but sent")
        self.env.cr.postcommit.clear()  # the worker died: its hooks never ran
        self.env.flush_all()
        self.assertEqual(Interaction._cron_social_retry(), 0, "not before the delay")
        self.assertFalse(self._sends())
        self.env.invalidate_all()
        self.assertEqual(reply.omnichannel_social_state, "outgoing")
        ten_minutes_ago = fields.Datetime.now() - timedelta(minutes=10)
        reply.sudo().omnichannel_social_queued_at = ten_minutes_ago
        self.env.flush_all()
        self.assertEqual(Interaction._cron_social_retry(), 1)
        self.env.invalidate_all()
        (call,) = self._sends()
        self.assertEqual(call["json"]["text"]["body"], "late but sent")
        self.assertEqual(reply.omnichannel_social_state, "sent")
        self.assertEqual(reply.omnichannel_social_id, "wamid.OUT1")
        self.assertEqual(Interaction._cron_social_retry(), 0)
        self.assertEqual(len(self._sends()), 1)

        # a claim is exclusive: a second worker (or the late postcommit hook)
        # finds nothing to send
        other = self._reply(interaction, "claimed once")
        other.sudo().omnichannel_social_queued_at = ten_minutes_ago
        self.env.flush_all()
        cutoff = fields.Datetime.now() - timedelta(minutes=5)
        with self.registry.cursor() as cr:
            (job,) = api.Environment(cr, 1, {})["omnichannel.interaction"]._social_claim(
                cutoff=cutoff
            )
            self.assertEqual(job["message_id"], other.id)
            self.assertEqual(job["recipient"], "48509333444")
        with self.registry.cursor() as cr:
            Fresh = api.Environment(cr, 1, {})["omnichannel.interaction"]
            self.assertEqual(Fresh._social_claim(cutoff=cutoff), [])
            self.assertEqual(Fresh._social_claim(message_ids=[other.id]), [])
        self._after_commit()
        self.assertEqual(len(self._sends()), 1)
        self.assertEqual(other.omnichannel_social_attempts, 1)

        # after the last attempt, the reply is failed and the agent told why
        other.sudo().write(
            {"omnichannel_social_queued_at": ten_minutes_ago, "omnichannel_social_attempts": 3}
        )
        self.env.flush_all()
        Interaction._cron_social_retry()
        self.env.invalidate_all()
        self.assertEqual(len(self._sends()), 1, "never more than the maximum attempts")
        self.assertEqual(other.omnichannel_social_state, "failed")
        self.assertIn("after 3 attempts", other.omnichannel_social_error)
        self.assertTrue(
            interaction.message_ids.filtered(
                lambda m: "Not delivered" in m.body and "after 3 attempts" in m.body
            )
        )

    def test_outcome_recording_failures(self):
        """The platform accepted the reply but recording it fails: a
        concurrency error is retried; any other error is logged, the request
        unharmed, and the reply left outgoing."""
        self._post(self._whatsapp("wamid.T1", text="hello"))
        interaction = self._conversation()[1]
        Interaction = self.registry["omnichannel.interaction"]
        record = Interaction._social_record
        failures = [psycopg2.errors.SerializationFailure("concurrent update")]

        def flaky_record(model, job, platform_id=None, error=None):
            if failures:
                raise failures.pop()
            return record(model, job, platform_id=platform_id, error=error)

        self.patch(Interaction, "_social_record", flaky_record)
        reply = self._reply(interaction, "recorded on the second try")
        self._after_commit()
        self.assertEqual(len(self._sends()), 1)
        self.assertEqual(reply.omnichannel_social_state, "sent")
        self.assertEqual(reply.omnichannel_social_id, "wamid.OUT1")

        def broken_record(model, job, platform_id=None, error=None):
            raise ValueError("disk full")

        self.patch(Interaction, "_social_record", broken_record)
        lost = self._reply(interaction, "sent, not recorded")
        with self.assertLogs(social_model.__name__, "ERROR") as logs:
            self._after_commit()
        self.assertIn("wamid.OUT1", logs.output[0])
        self.assertIn("disk full", logs.output[0])
        self.assertEqual(len(self._sends()), 2)
        self.assertEqual(lost.omnichannel_social_state, "outgoing")
        self.assertEqual(lost.omnichannel_social_attempts, 1)

    def test_unsent_reply_retried_with_back_off(self):
        """Issue 19: a reply the platform surely did not take (a 5xx, a
        refused connection) stays outgoing for the cron, each retry waiting
        twice as long as the one before; the last attempt fails visibly. A
        read timeout is not retried: the platform may have the reply."""
        self._post(self._whatsapp("wamid.T1", text="hello"))
        interaction = self._conversation()[1]
        Interaction = self.env["omnichannel.interaction"]
        sends = f"{API}/PN1/messages"
        self.routes[("POST", sends)] = _response(503, {"error": {"message": "try later"}})
        reply = self._reply(interaction, "retried")
        self._after_commit()
        self.assertEqual(reply.omnichannel_social_state, "outgoing")
        self.assertEqual(reply.omnichannel_social_attempts, 1)
        self.assertIn("HTTP 503", reply.omnichannel_social_error)

        def tried_ago(message, minutes):
            message.sudo().omnichannel_social_queued_at = fields.Datetime.now() - timedelta(
                minutes=minutes
            )
            self.env.flush_all()

        tried_ago(reply, 6)  # the delay (5 minutes) passed
        self.assertEqual(Interaction._cron_social_retry(), 1)
        self.env.invalidate_all()
        self.assertEqual(reply.omnichannel_social_attempts, 2)
        self.assertEqual(reply.omnichannel_social_state, "outgoing")
        tried_ago(reply, 6)  # the second retry waits 10 minutes
        self.assertEqual(Interaction._cron_social_retry(), 0)
        tried_ago(reply, 11)
        self.assertEqual(Interaction._cron_social_retry(), 1)
        self.env.invalidate_all()
        self.assertEqual(reply.omnichannel_social_state, "failed")
        self.assertEqual(reply.omnichannel_social_attempts, 3)
        self.assertIn("HTTP 503", reply.omnichannel_social_error)
        self.assertEqual(len(self._sends()), 3)

        self.routes[("POST", sends)] = requests.ConnectionError(
            urllib3.exceptions.MaxRetryError(
                None, "/", urllib3.exceptions.NewConnectionError(None, "Connection refused")
            )
        )
        refused = self._reply(interaction, "not sent")
        self._after_commit()
        self.assertEqual(refused.omnichannel_social_state, "outgoing")
        self.assertIn("Cannot reach", refused.omnichannel_social_error)

        self.routes[("POST", sends)] = requests.ReadTimeout("slow")
        late = self._reply(interaction, "maybe received")
        self._after_commit()
        self.assertEqual(late.omnichannel_social_state, "failed")
        self.assertEqual(late.omnichannel_social_attempts, 1)
        tried_ago(late, 60)
        Interaction._cron_social_retry()
        self.assertEqual(len([c for c in self._sends() if "maybe" in json.dumps(c["json"])]), 1)

    # ------------------------------------------------------------------
    # Telegram: secret token, identities linked by an agent
    # ------------------------------------------------------------------
    def _telegram_update(self, number, text, chat=555):
        return {
            "update_id": number,
            "message": {
                "message_id": number,
                "from": {"id": chat, "first_name": "Jan", "last_name": "Obcy"},
                "chat": {"id": chat, "type": "private"},
                "date": int(time.time()),
                "text": text,
            },
        }

    def _post_telegram(self, payload, secret="tg-secret"):
        return self._post(
            payload,
            token=self._token(self.telegram),
            secret=None,
            headers={social_tools.TELEGRAM_SECRET_HEADER: secret} if secret else {},
        )

    def test_telegram_sender_linked_by_agent_is_recognised(self):
        before = self._counts()
        self.assertEqual(
            self._post_telegram(self._telegram_update(1, "hi"), "bad").status_code, 401
        )
        self.assertEqual(self._post_telegram(self._telegram_update(1, "hi"), None).status_code, 401)
        self.assertEqual(self._counts(), before)

        self.assertEqual(self._post_telegram(self._telegram_update(1, "hi")).status_code, 200)
        identity, interaction = self._conversation(self.telegram, "555")
        self.assertEqual(identity.name, "Jan Obcy")
        self.assertFalse(identity.partner_id)
        self.assertFalse(interaction.partner_id)
        # the agent recognises the customer and says so on the interaction
        interaction.with_user(self.agent_sales).partner_id = self.customer_contact
        self.assertEqual(identity.partner_id, self.customer_contact)
        # a messenger reply needs no e-mail address of its author
        self.agent_sales.partner_id.email = False
        reply = interaction.with_user(self.agent_sales).message_post(
            body="Hello Jan", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._after_commit()
        self.assertEqual(self.calls[-1]["json"], {"chat_id": "555", "text": "Hello Jan"})
        self.assertEqual(reply.omnichannel_social_id, "555:77")
        interaction.sudo()._set_state("active")
        interaction.sudo()._set_state("done")
        self.assertEqual(self._post_telegram(self._telegram_update(2, "me again")).status_code, 200)
        new = self._conversation(self.telegram, "555")[1]
        self.assertNotEqual(new, interaction)
        self.assertEqual(new.partner_id, self.customer_contact, "recognised next time")
        (message,) = self._customer_messages(new)
        self.assertEqual(message.author_id, self.customer_contact)

    # ------------------------------------------------------------------
    # Messenger
    # ------------------------------------------------------------------
    def test_messenger_message_and_reply(self):
        messenger = self.env["omnichannel.channel"].create(
            {
                "name": "Facebook page",
                "channel_type": "social",
                "social_platform": "messenger",
                "address": "PAGE1",
                "queue_id": self.queue_sales.id,
                "social_api_url": API,
                "social_app_secret": "fb-secret",
                "social_access_token": "PAGE-TOKEN",
            }
        )
        self.routes[("GET", MESSENGER_MEDIA_URL)] = _response(200, PNG_BYTES, "image/png")
        self.routes[("POST", f"{API}/me/messages")] = _response(
            200, {"recipient_id": "PSID9", "message_id": "m_out"}
        )

        def event(page, mid):
            return {
                "id": page,
                "messaging": [
                    {
                        "sender": {"id": "PSID9"},
                        "recipient": {"id": page},
                        "timestamp": int(time.time() * 1000),
                        "message": {
                            "mid": mid,
                            "text": "photo of the invoice",
                            "attachments": [
                                {
                                    "type": "image",
                                    "payload": {"url": MESSENGER_MEDIA_URL},
                                }
                            ],
                        },
                    }
                ],
            }

        payload = {"object": "page", "entry": [event("PAGE1", "m_1"), event("OTHER", "m_2")]}
        self.assertEqual(self._post(payload, token=self._token(messenger)).status_code, 401)
        response = self._post(payload, token=self._token(messenger), secret="fb-secret")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["received"], 1)
        self.assertEqual(response.json()["ignored"], 1, "another page's event is not ours")
        _identity, interaction = self._conversation(messenger, "PSID9")
        self.assertFalse(interaction.partner_id)
        (message,) = self._customer_messages(interaction)
        self.assertIn("photo of the invoice", message.body)
        self.assertEqual(message.attachment_ids.raw, PNG_BYTES)
        # the CDN link is signed: the page token is not sent along
        self.assertNotIn("Authorization", self.calls[0]["headers"])
        reply = interaction.with_user(self.agent_sales).message_post(
            body="Thank you", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._after_commit()
        self.assertEqual(self.calls[-1]["url"], f"{API}/me/messages")
        self.assertEqual(self.calls[-1]["headers"]["Authorization"], "Bearer PAGE-TOKEN")
        self.assertEqual(
            self.calls[-1]["json"],
            {
                "recipient": {"id": "PSID9"},
                "messaging_type": "RESPONSE",
                "message": {"text": "Thank you"},
            },
        )
        self.assertEqual(reply.omnichannel_social_id, "m_out")

    # ------------------------------------------------------------------
    # access
    # ------------------------------------------------------------------
    def test_agent_of_another_queue_cannot_read(self):
        self._post(self._whatsapp("wamid.T1", text="private matter"))
        identity, interaction = self._conversation()
        self.assertTrue(interaction.with_user(self.agent_sales).read(["name"]))
        with self.assertRaises(AccessError):
            interaction.with_user(self.agent_claims).read(["name"])
        with self.assertRaises(AccessError):
            identity.with_user(self.agent_claims).read(["partner_id"])
        with self.assertRaises(AccessError):
            self.env["mail.message"].browse(interaction.message_ids.ids).with_user(
                self.agent_claims
            ).read(["body"])
        self.assertTrue(identity.with_user(self.agent_sales).read(["partner_id"]))
        # credentials are for managers only
        channel = self.channel.with_user(self.agent_sales)
        with self.assertRaises(AccessError):
            channel.read(["social_app_secret"])
        with self.assertRaises(AccessError):
            channel.read(["social_access_token"])
        self.assertTrue(
            self.channel.with_user(self.manager).social_webhook_url.endswith(
                f"/omnichannel/social/{self._token()}"
            )
        )

    # ------------------------------------------------------------------
    # security review, issue 13
    # ------------------------------------------------------------------
    def _messenger(self):
        return self.env["omnichannel.channel"].create(
            {
                "name": "Facebook page",
                "channel_type": "social",
                "social_platform": "messenger",
                "address": "PAGE1",
                "queue_id": self.queue_sales.id,
                "social_api_url": API,
                "social_app_secret": "fb-secret",
                "social_access_token": "PAGE-TOKEN",
            }
        )

    def _post_messenger(self, channel, mid, url):
        payload = {
            "object": "page",
            "entry": [
                {
                    "id": "PAGE1",
                    "messaging": [
                        {
                            "sender": {"id": "PSID9"},
                            "recipient": {"id": "PAGE1"},
                            "timestamp": int(time.time() * 1000),
                            "message": {
                                "mid": mid,
                                "attachments": [{"type": "file", "payload": {"url": url}}],
                            },
                        }
                    ],
                }
            ],
        }
        return self._post(payload, token=self._token(channel), secret="fb-secret")

    def test_h2_telegram_token_never_shown_stored_or_logged(self):
        """The Bot API's URLs hold the bot token: a failed call's error
        (requests' text quotes the URL) reaches the agents' note, the
        reply's stored error and the log without it."""
        self.assertEqual(self._post_telegram(self._telegram_update(1, "hi")).status_code, 200)
        interaction = self._conversation(self.telegram, "555")[1]
        url = f"{TELEGRAM_API}/bot{BOT_TOKEN}/sendMessage"
        self.routes[("POST", url)] = requests.ConnectionError(
            "HTTPSConnectionPool(host='telegram.example.invalid', port=443): Max retries "
            f"exceeded with url: /bot{BOT_TOKEN}/sendMessage (Caused by NewConnectionError("
            "'Failed to establish a new connection: [Errno 111] Connection refused'))"
        )
        # a photo whose getFile is refused, the Bot API quoting the URL
        self.routes[("POST", f"{TELEGRAM_API}/bot{BOT_TOKEN}/getFile")] = _response(
            400, {"ok": False, "description": f"Bad Request: wrong file_id for {url}"}
        )
        photo = self._telegram_update(2, None)
        photo["message"].pop("text")
        photo["message"]["photo"] = [{"file_id": "PHOTO1", "file_size": 10}]
        with self.assertLogs(level=logging.DEBUG) as logs:
            self.assertEqual(self._post_telegram(photo).status_code, 200)
            reply = interaction.with_user(self.agent_sales).message_post(
                body="Hello Jan", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            self._after_commit()
            # what the log line is made of (its arguments), not only the text
            logged = [(r.getMessage(), repr(r.args)) for r in logs.records]
        self.assertEqual(reply.omnichannel_social_state, "failed")
        self.assertIn("Cannot reach the telegram API", reply.omnichannel_social_error)
        self.assertIn("/bot***/sendMessage", reply.omnichannel_social_error)
        notes = interaction.sudo().message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_note")
        )
        self.assertTrue(any("Not delivered to the customer" in n.body for n in notes))
        self.assertTrue(any("could not be downloaded" in n.body for n in notes))
        self.assertTrue(any("Reply of" in message for message, _args in logged))
        secret = BOT_TOKEN.split(":", 1)[1]
        shown = [n.body for n in interaction.sudo().message_ids]
        stored = (
            self.env["mail.message"]
            .sudo()
            .search_read([("omnichannel_social_error", "!=", False)], ["omnichannel_social_error"])
        )
        for text in [*shown, *(row["omnichannel_social_error"] for row in stored)]:
            self.assertNotIn(secret, text)
        for message, args in logged:
            self.assertNotIn(secret, message)
            self.assertNotIn(secret, args)

    def test_l1_nul_in_token_is_404(self):
        before = self._counts()
        payload = self._whatsapp("wamid.N1", text="hi")
        for token in ("%00", f"{self._token()}%00", "%0D%0A", "a%7Fb"):
            response = self._post(payload, token=token)
            self.assertEqual(response.status_code, 404, (token, response.text))
            self.assertEqual(response.json(), {"error": "Unknown webhook token."})
            handshake = self.url_open(
                f"/omnichannel/social/{token}?hub.mode=subscribe&hub.verify_token=verify-me"
                "&hub.challenge=1"
            )
            self.assertEqual(handshake.status_code, 404, (token, handshake.text))
        self.assertEqual(self._counts(), before)
        self.assertFalse(self.calls)

    def test_l2_hostile_signed_bodies_are_400_and_store_nothing(self):
        before = self._counts()
        text = json.dumps(self._whatsapp("wamid.H1", text="hi"))
        stamp = f'"timestamp": "{int(time.time())}"'
        self.assertIn(stamp, text)

        def deep(depth):
            return text[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"

        cases = [
            deep(5000),
            deep(30000),
            '{"entry": ' + "[" * 20000 + "]" * 20000 + "}",
            text.replace('"wamid.H1"', "Infinity"),
            text.replace('"wamid.H1"', "NaN"),
            text.replace('"wamid.H1"', "1e400"),
            text.replace(stamp, '"timestamp": 1e400'),
            text.replace(stamp, '"timestamp": -Infinity'),
            text.replace(stamp, f'"timestamp": {10**400}'),
            text.replace(stamp, '"timestamp": 1e300'),
            text.replace('"wamid.H1"', '"wamid.\\u0000H1"'),
            text.replace('"from": "48509333444"', '"from": "48509\\u0000333444"'),
            text.replace('"phone_number_id": "PN1"', '"phone_number_id": "PN1\\n"'),
        ]
        for raw in cases:
            response = self._post(None, raw=raw.encode())
            self.assertEqual(response.status_code, 400, (raw[:120], response.text))
        update = json.dumps(self._telegram_update(3, "hi")).replace(
            '"id": 555, "type"', '"id": "5\\u000055", "type"'
        )
        self.assertEqual(self._post_telegram(json.loads(update)).status_code, 400)
        self.assertEqual(self._counts(), before)
        self.assertFalse(self.calls)
        # a NUL in a text is dropped, the message kept
        response = self._post(self._whatsapp("wamid.H2", text="Dzień\x00 dobry"))
        self.assertEqual(response.status_code, 200, response.text)
        (message,) = self._customer_messages(self._conversation()[1])
        self.assertIn("Dzień dobry", message.body)

    def test_l3_media_only_from_the_platforms_media_hosts(self):
        """A signed Messenger attachment is fetched only from Meta's CDN
        hosts resolving to public addresses: never from Odoo itself, the
        cloud's metadata service or an internal host. The message is kept,
        the agents told why its file is missing."""
        messenger = self._messenger()
        self.routes[("GET", MESSENGER_MEDIA_URL)] = _response(200, PNG_BYTES, "image/png")
        self.addresses["scontent.evil.fbcdn.net"] = ["127.0.0.1"]
        refused = [
            ("http://127.0.0.1:8091/web/database/selector", "media hosts"),
            ("https://169.254.169.254/latest/meta-data/", "media hosts"),
            ("https://odoo.internal/web/database/selector", "media hosts"),
            ("http://scontent.xx.fbcdn.net/v/p.png", "media hosts"),
            ("https://scontent.evil.fbcdn.net/p.png", "private, loopback or link-local"),
        ]
        for number, (url, reason) in enumerate(refused):
            response = self._post_messenger(messenger, f"m_ssrf{number}", url)
            self.assertEqual(response.status_code, 200, response.text)
            interaction = self._conversation(messenger, "PSID9")[1]
            message = self._customer_messages(interaction)[-1]
            self.assertEqual(message.omnichannel_social_id, f"m_ssrf{number}")
            self.assertFalse(message.attachment_ids, url)
            notes = interaction.message_ids.filtered(
                lambda m: "could not be downloaded" in (m.body or "")
            )
            self.assertEqual(len(notes), number + 1)
            self.assertIn(reason, notes.sorted("id")[-1].body, url)
        self.assertFalse(self.calls, "nothing was fetched")
        # the platform's CDN is
        response = self._post_messenger(messenger, "m_cdn", MESSENGER_MEDIA_URL)
        self.assertEqual(response.status_code, 200, response.text)
        message = self._customer_messages(self._conversation(messenger, "PSID9")[1])[-1]
        self.assertEqual(message.attachment_ids.raw, PNG_BYTES)
        self.assertEqual([c["url"] for c in self.calls], [MESSENGER_MEDIA_URL])

        # WhatsApp: the media URL the Graph API gives is checked too
        self.routes[("GET", f"{API}/MEDIA1")] = _response(
            200, {"url": "https://169.254.169.254/latest/meta-data/", "mime_type": "image/jpeg"}
        )
        self.calls.clear()
        self.assertEqual(self._post(self._whatsapp("wamid.S1", image="MEDIA1")).status_code, 200)
        self.assertEqual([c["url"] for c in self.calls], [f"{API}/MEDIA1"])
        (image,) = self._customer_messages(self._conversation()[1])
        self.assertFalse(image.attachment_ids)

    def test_l3_media_hosts_are_system_parameters(self):
        """The media hosts of a platform replace the defaults; the private
        address override names hosts (a local mock in tests) and is empty
        unless a test sets it."""
        params = self.env["ir.config_parameter"].sudo()
        Channel = self.env["omnichannel.channel"]
        messenger = self._messenger()
        self.assertEqual(
            Channel._social_media_settings("messenger"), {"media_hosts": None, "private_hosts": ()}
        )
        adapter = messenger._social_adapter()
        self.assertEqual(adapter.media_hosts, social_tools.DEFAULT_MEDIA_HOSTS["messenger"])
        self.assertEqual(adapter.private_hosts, ())
        params.set_param(
            "omnichannel_cc.social_media_hosts.messenger", "media.example.com, *.cdn.example.com"
        )
        params.set_param("omnichannel_cc.social_media_private_hosts", "127.0.0.1")
        adapter = messenger._social_adapter()
        self.assertEqual(adapter.media_hosts, ("media.example.com", "*.cdn.example.com"))
        self.assertEqual(adapter.private_hosts, ("127.0.0.1",))
        self.assertEqual(
            self.channel._social_adapter().media_hosts, social_tools.DEFAULT_MEDIA_HOSTS["whatsapp"]
        )
        # Meta's CDN is no longer one; the listed host is, its private address allowed
        self.routes[("GET", "https://a.cdn.example.com/p.png")] = _response(
            200, PNG_BYTES, "image/png"
        )
        self._post_messenger(messenger, "m_p1", MESSENGER_MEDIA_URL)
        self._post_messenger(messenger, "m_p2", "https://a.cdn.example.com/p.png")
        # the override lifts the address check only, not the list of hosts
        self._post_messenger(messenger, "m_p3", "http://127.0.0.1:8091/web/database/selector")
        first, second, third = self._customer_messages(self._conversation(messenger, "PSID9")[1])
        self.assertFalse(first.attachment_ids)
        self.assertEqual(second.attachment_ids.raw, PNG_BYTES)
        self.assertFalse(third.attachment_ids)
        self.assertEqual([c["url"] for c in self.calls], ["https://a.cdn.example.com/p.png"])
