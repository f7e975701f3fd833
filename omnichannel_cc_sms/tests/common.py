import json
from urllib.parse import urlencode

from odoo.tests import HttpCase, new_test_user

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon
from odoo.addons.omnichannel_cc.tests.inbox import apply_inbox
from odoo.addons.sms.tests.common import SMSCommon

from ..tools import sms_providers


class OmnichannelSmsCommon(SMSCommon):
    """SMSCommon sets the company in Belgium; numbers below are Belgian."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # these tests are about Odoo's own (IAP) sending: no gateway channel
        # (the demo's Kannel one) may take the company's SMS
        cls.env["omnichannel.channel"].search([("channel_type", "=", "sms")]).action_archive()
        cls.agent = new_test_user(
            cls.env,
            login="sms_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            email="sms.agent@example.com",
        )
        cls.other_agent = new_test_user(
            cls.env,
            login="sms_other_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
        )
        cls.queue = cls.env["omnichannel.queue"].create(
            {"name": "SMS queue", "member_ids": [(6, 0, (cls.agent | cls.other_agent).ids)]}
        )
        cls.phone_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Hotline",
                "channel_type": "phone",
                "address": "+32 2 290 34 90",
                "queue_id": cls.queue.id,
            }
        )
        cls.email_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Mailbox",
                "channel_type": "email",
                "address": "help@example.com",
                "queue_id": cls.queue.id,
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Marie Customer",
                "mobile": "0456 11 22 33",
                "country_id": cls.env.ref("base.be").id,
            }
        )
        cls.customer_mobile_san = "+32456112233"
        # the caller rang from another number than the one on file
        cls.caller_number = "+32456998800"
        cls.call = cls.env["omnichannel.interaction"].create(
            {
                "channel_id": cls.phone_channel.id,
                "partner_id": cls.customer.id,
                "contact_address": cls.caller_number,
                "queue_id": cls.queue.id,
                "agent_id": cls.agent.id,
                "state": "active",
            }
        )
        cls.email = cls.env["omnichannel.interaction"].create(
            {
                "channel_id": cls.email_channel.id,
                "partner_id": cls.customer.id,
                "contact_address": "marie@example.com",
                "queue_id": cls.queue.id,
                "agent_id": cls.agent.id,
                "state": "active",
            }
        )

    def _send_from(self, interaction, body, user=None):
        """Open the form button's composer as ``user`` and send ``body``."""
        user = user or self.agent
        interaction = interaction.with_user(user)
        action = interaction.action_send_sms()
        composer = (
            self.env["sms.composer"]
            .with_user(user)
            .with_context(**action["context"])
            .create({"body": body})
        )
        with self.mockSMSGateway():
            messages = composer._action_send_sms()
        return composer, messages


class OmnichannelSmsGatewayCommon(OmnichannelCommon, HttpCase):
    """SMS channels on gateways, reached over real HTTP (``url_open``).

    The gateways themselves have no peer inside an Odoo test: the adapters'
    only network call, ``sms_providers.http_transport``, is patched with a
    recorder answering as each gateway documents (the repository's e2e
    tests run Kannel and WireMock). The company is Polish (numbers below).
    """

    KANNEL_SECRET = "kannel-secret"
    TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
    TWILIO_TOKEN = "twilio-auth-token"
    HTTP_SECRET = "http-shared-secret"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Channel = cls.env["omnichannel.channel"]
        common = {"channel_type": "sms", "queue_id": cls.queue_sales.id}
        cls.kannel = Channel.create(
            dict(
                common,
                name="SMS Kannel",
                address="+48 22 555 02 02",
                sms_provider="kannel",
                sms_base_url="http://kannel.test:13013",
                sms_account="omnichannel",
                sms_secret=cls.KANNEL_SECRET,
            )
        )
        cls.twilio = Channel.create(
            dict(
                common,
                name="SMS Twilio",
                address="+48 22 555 03 03",
                sms_provider="twilio",
                sms_base_url="https://twilio.test",
                sms_account=cls.TWILIO_SID,
                sms_secret=cls.TWILIO_TOKEN,
                sms_sender="+48225550303",
            )
        )
        cls.http_gateway = Channel.create(
            dict(
                common,
                name="SMS generic gateway",
                address="+48 22 555 04 04",
                sms_provider="http",
                sms_base_url="https://gateway.test/send",
                sms_secret=cls.HTTP_SECRET,
            )
        )
        cls.iap_channel = Channel.create(
            dict(common, name="SMS IAP", address="+48 22 555 05 05", sms_provider="iap")
        )
        cls.sms_cron = cls.env.ref("sms.ir_cron_sms_scheduler_action")
        # what the database queued before is not these tests' to send
        cls.env["sms.sms"].sudo().search([("state", "=", "outgoing")]).unlink()
        # the customer's mobile is stored as "609 876 543"
        cls.customer = cls.customer_contact
        cls.customer_e164 = "+48609876543"

    def setUp(self):
        super().setUp()
        self.sent = []
        self.answer = None

        def transport(request, timeout=sms_providers.TIMEOUT, max_bytes=None):
            self.assertLessEqual(timeout, 30, "a gateway call always has a short timeout")
            self.sent.append(request)
            if self.answer is not None:
                answer = self.answer(request) if callable(self.answer) else self.answer
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return self._default_answer(request)

        self.patch(sms_providers, "http_transport", transport)

    def _default_answer(self, request):
        url = request.url
        if "/cgi-bin/sendsms" in url:
            return sms_providers.HttpResponse(202, body=b"0: Accepted for delivery")
        if url.endswith("/Messages.json"):
            sid = f"SM{len(self.sent):032d}"
            return sms_providers.HttpResponse(
                201, body=json.dumps({"sid": sid, "status": "queued"}).encode()
            )
        if url.startswith("https://gateway.test/"):
            return sms_providers.HttpResponse(200, body=b'{"id": "gw-1"}')
        return sms_providers.HttpResponse(404, body=b"not found")

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _token(self, channel):
        return channel.sudo().sms_token

    def _kannel_mo(self, text, message_id, sender="48609876543", secret=None, channel=None):
        query = urlencode(
            {
                "secret": self.KANNEL_SECRET if secret is None else secret,
                "from": sender,
                "to": "48225550202",
                "text": text,
                "id": message_id,
                "ts": "2026-01-02 10:20",
            }
        )
        token = self._token(channel or self.kannel)
        return self.url_open(f"/omnichannel/sms/{token}/inbound?{query}")

    def _kannel_dlr(self, sms_uuid, kind, reply="", secret=None):
        query = urlencode(
            {
                "secret": self.KANNEL_SECRET if secret is None else secret,
                "id": sms_uuid,
                "type": str(kind),
                "reply": reply,
            }
        )
        response = self.url_open(f"/omnichannel/sms/{self._token(self.kannel)}/status?{query}")
        return self._applied_status(response, self.kannel)

    def _applied_status(self, response, channel):
        """A delivery report's outcome once the event inbox applied it (see
        ``apply_inbox``): a gateway answered in its own format (Twilio's
        TwiML) names no row, which is then the channel's last one."""
        if response.status_code == 200 and "json" not in response.headers.get("Content-Type", ""):
            row = (
                self.env["omnichannel.event.inbox"]
                .sudo()
                .search([("scope", "=", f"sms-status:{channel.id}")], order="id desc", limit=1)
            )
            return apply_inbox(self.env, response, row.id)
        return apply_inbox(self.env, response)

    def _twilio_post(self, kind, fields, signature=True, query=""):
        path = f"/omnichannel/sms/{self._token(self.twilio)}/{kind}" + (
            f"?{query}" if query else ""
        )
        url = self.base_url() + path
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is True:
            headers["X-Twilio-Signature"] = sms_providers.twilio_signature(
                self.TWILIO_TOKEN, url, fields
            )
        elif signature:
            headers["X-Twilio-Signature"] = signature
        response = self.url_open(url, data=urlencode(fields), headers=headers)
        if kind == "status":
            # delivery reports are applied by the event inbox's cron
            return self._applied_status(response, self.twilio)
        return response

    def _twilio_fields(self, message_id, text, sender="+48609876543", **extra):
        return dict(
            {
                "MessageSid": message_id,
                "SmsSid": message_id,
                "AccountSid": self.TWILIO_SID,
                "From": sender,
                "To": "+48225550303",
                "Body": text,
                "NumMedia": "0",
                "NumSegments": "1",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            },
            **extra,
        )

    def _available(self, user=None):
        user = user or self.agent_sales
        self.env["omnichannel.agent"].with_user(user).action_my_state("available")

    def _conversation(self, channel=None, number=None):
        return self.env["omnichannel.interaction"].search(
            [
                ("channel_id", "=", (channel or self.kannel).id),
                ("contact_address", "=", number or self.customer_e164),
            ],
            order="id desc",
        )

    def _counts(self):
        return (
            self.env["omnichannel.interaction"].search_count([]),
            self.env["omnichannel.event.key"].sudo().search_count([]),
            self.env["mail.message"].sudo().search_count([]),
            self.env["sms.sms"].sudo().search_count([]),
            self.env["res.partner"].with_context(active_test=False).search_count([]),
            self.env["phone.blacklist"].sudo().with_context(active_test=False).search_count([]),
            self.env["omnichannel.sms.media"].sudo().search_count([]),
        )

    def _queued(self, number=None):
        """SMS waiting in the queue for ``number``."""
        return (
            self.env["sms.sms"]
            .sudo()
            .search([("number", "=", number or self.customer_e164), ("state", "=", "outgoing")])
        )

    def _blacklisted(self, number=None):
        return bool(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "=", number or self.customer_e164)])
        )

    def _triggers(self):
        return self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", self.sms_cron.id)])

    def _run_queue(self):
        """What the SMS queue's scheduled action does once the request committed."""
        self.env.flush_all()
        self.env["sms.sms"].sudo()._process_queue()
        self.env.invalidate_all()
