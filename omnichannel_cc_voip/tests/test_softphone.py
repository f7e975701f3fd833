import re
import shutil
import tempfile
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from odoo.addons.omnichannel_cc.tests.common import record_web_client_calls

from . import peers
from .common import OmnichannelVoipCommon

# Chrome grants the microphone without asking and plays a generated tone
# (a beep) as its sound: WebRTC calls work headless.
FAKE_MEDIA_SWITCHES = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
_spawn_chrome = ChromeBrowser._spawn_chrome


def _spawn_chrome_with_fake_media(browser, cmd):
    # the command ends with the URL to open: the switches go before it
    return _spawn_chrome(browser, [*cmd[:-1], *FAKE_MEDIA_SWITCHES, cmd[-1]])


# At debug level 3 Kamailio's websocket module logs each SIP message it
# receives from a browser, up to the next log line.
WS_MESSAGE = re.compile(
    r"ws_frame_receive\(\): Rx SIP \(or text\) message:\n(.*?)(?=^\d+\(\d+\) |\Z)",
    re.DOTALL | re.MULTILINE,
)
SIP_USER = re.compile(r"<sips?:([^@>;]+)@")


class SipMessage:
    """One SIP message as Kamailio received it over WebSocket."""

    def __init__(self, text):
        head, __, body = text.replace("\r\n", "\n").partition("\n\n")
        lines = head.strip("\n").split("\n")
        self.start = lines[0]
        self.headers = {}
        for line in lines[1:]:
            name, __, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())
        self.body = body

    @property
    def method(self):
        return None if self.start.startswith("SIP/2.0") else self.start.split(" ", 1)[0]

    @property
    def uri(self):
        return self.start.split(" ")[1] if self.method else None

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    def user(self, name):
        """User part of the URI of header ``name`` (From, To, Refer-To...)."""
        match = SIP_USER.search(self.header(name))
        return match and match.group(1)

    @property
    def in_dialog(self):
        return ";tag=" in self.header("to")

    def __repr__(self):
        return f"<{self.start} from {self.user('from')}>"


def websocket_messages(log):
    return [SipMessage(text) for text in WS_MESSAGE.findall(log)]


@tagged("post_install", "-at_install")
class TestSoftphoneConfig(OmnichannelVoipCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the company's other phone channels must not answer instead of ours
        cls.env["omnichannel.channel"].search(
            [("channel_type", "=", "phone"), ("id", "!=", cls.phone_channel.id)]
        ).write({"voip_ws_url": False})
        cls.phone_channel.write(
            {"voip_ws_url": "wss://pbx.example.com:8089/ws", "voip_sip_domain": "pbx.example.com"}
        )
        cls.agent.write(
            {
                "omnichannel_extension": "7101",
                "omnichannel_softphone": True,
                "omnichannel_sip_password": "s3cret-7101",
            }
        )
        cls.other_agent = new_test_user(
            cls.env,
            login="voip_other_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
        )

    def config(self, user=None):
        return self.env["res.users"].with_user(user or self.agent).voip_softphone_config()

    def test_enabled(self):
        config = self.config()
        self.assertEqual(
            config,
            {
                "enabled": True,
                "reason": False,
                "softphone": True,
                "extension": "7101",
                "password": "s3cret-7101",
                "ws_url": "wss://pbx.example.com:8089/ws",
                "sip_uri": "sip:7101@pbx.example.com",
                "domain": "pbx.example.com",
                "display_name": self.agent.name,
            },
        )

    def test_domain_defaults_to_websocket_host(self):
        self.phone_channel.voip_sip_domain = False
        config = self.config()
        self.assertEqual(config["sip_uri"], "sip:7101@pbx.example.com")
        self.assertEqual(config["domain"], "pbx.example.com")

    def test_disabled_when_softphone_off(self):
        self.agent.omnichannel_softphone = False
        config = self.config()
        self.assertFalse(config["enabled"])
        self.assertIn("softphone is off", config["reason"])
        self.assertFalse(config["password"])
        self.assertFalse(config["ws_url"])

    def test_disabled_without_extension(self):
        self.agent.omnichannel_extension = False
        config = self.config()
        self.assertFalse(config["enabled"])
        self.assertIn("no phone extension", config["reason"])
        self.assertFalse(config["password"])

    def test_disabled_without_websocket_url(self):
        self.phone_channel.voip_ws_url = False
        config = self.config()
        self.assertFalse(config["enabled"])
        self.assertIn("WebSocket", config["reason"])
        self.assertFalse(config["password"])
        self.assertFalse(config["sip_uri"])

    def test_channel_of_other_company_or_archived_ignored(self):
        self.phone_channel.company_id = self.other_company
        self.assertFalse(self.config()["enabled"])
        self.phone_channel.company_id = self.company
        self.phone_channel.active = False
        self.assertFalse(self.config()["enabled"])

    def test_first_channel_by_sequence(self):
        second = self.phone_channel.copy(
            {
                "name": "Second hotline",
                "address": "+32 2 290 34 91",
                "sequence": self.phone_channel.sequence - 1,
                "voip_ws_url": "ws://10.0.0.5:8080",
                "voip_sip_domain": False,
            }
        )
        self.assertEqual(second.channel_type, "phone")
        config = self.config()
        self.assertEqual(config["ws_url"], "ws://10.0.0.5:8080")
        self.assertEqual(config["sip_uri"], "sip:7101@10.0.0.5")

    def test_password_readable_and_writeable_by_self(self):
        as_agent = self.agent.with_user(self.agent)
        self.assertEqual(
            as_agent.read(["omnichannel_sip_password"])[0]["omnichannel_sip_password"],
            "s3cret-7101",
        )
        as_agent.write({"omnichannel_sip_password": "n3w", "omnichannel_softphone": False})
        self.assertEqual(self.agent.omnichannel_sip_password, "n3w")
        self.assertFalse(self.agent.omnichannel_softphone)
        # as the preferences form reads and saves them
        values = as_agent.web_read({"omnichannel_sip_password": {}, "omnichannel_softphone": {}})
        self.assertEqual(values[0]["omnichannel_sip_password"], "n3w")
        as_agent.web_save({"omnichannel_sip_password": "n3w3r", "omnichannel_softphone": True}, {})
        self.assertEqual(self.agent.omnichannel_sip_password, "n3w3r")
        self.assertTrue(self.config()["enabled"])

    def test_password_hidden_from_other_agents(self):
        seen_by_other = self.agent.with_user(self.other_agent)
        with self.assertRaises(AccessError):
            seen_by_other.read(["omnichannel_sip_password"])
        with self.assertRaises(AccessError):
            seen_by_other.write({"omnichannel_sip_password": "stolen"})
        # their own config does not carry anyone else's password
        self.other_agent.write({"omnichannel_extension": "7102", "omnichannel_softphone": True})
        self.assertFalse(self.config(self.other_agent)["password"])

    def test_password_readable_by_manager(self):
        as_manager = self.agent.with_user(self.manager)
        self.assertEqual(
            as_manager.read(["omnichannel_sip_password"])[0]["omnichannel_sip_password"],
            "s3cret-7101",
        )

    def test_preferences_form_shows_password_to_its_owner(self):
        preferences = self.env.ref("base.view_users_form_simple_modif")
        Users = self.env["res.users"].with_user(self.agent)
        arch = Users.get_views([(preferences.id, "form")])["views"]["form"]["arch"]
        self.assertIn('name="omnichannel_sip_password"', arch)
        self.assertIn('name="omnichannel_softphone"', arch)
        # elsewhere the field's groups still apply
        user_form = self.env.ref("base.view_users_form")
        arch = Users.get_views([(user_form.id, "form")])["views"]["form"]["arch"]
        self.assertIn('name="omnichannel_extension"', arch)
        self.assertNotIn('name="omnichannel_sip_password"', arch)
        arch = (
            self.env["res.users"]
            .with_user(self.manager)
            .get_views([(user_form.id, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="omnichannel_sip_password"', arch)


@tagged("post_install", "-at_install")
class TestSoftphoneTour(HttpCase):
    """The agent's browser softphone against a real Kamailio over WebSocket.

    The other phones of the calls (customer 2001, colleague 3001) are JsSIP
    user agents created by the tour in the same page: WebRTC media only
    negotiates between WebRTC peers (not with SIPp or baresip).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.object(ChromeBrowser, "_spawn_chrome", _spawn_chrome_with_fake_media)
        )
        cls.agent = new_test_user(
            cls.env,
            login="softphone_agent",
            name="Anna Agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            omnichannel_extension="7101",
            omnichannel_softphone=True,
            omnichannel_sip_password="not-checked-by-the-test-pbx",
        )
        queue = cls.env["omnichannel.queue"].create(
            {"name": "Softphone queue", "member_ids": [(6, 0, cls.agent.ids)]}
        )
        cls.env["omnichannel.channel"].search([("channel_type", "=", "phone")]).write(
            {"voip_ws_url": False}
        )
        channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Softphone hotline",
                "channel_type": "phone",
                "address": "+48 22 599 77 01",
                "queue_id": queue.id,
                "sequence": 0,
            }
        )
        rundir = tempfile.mkdtemp(prefix="omnichannel_softphone_")
        cls.addClassCleanup(shutil.rmtree, rundir, ignore_errors=True)
        # debug=3: Kamailio logs every SIP request it parses, read back below
        cls.kamailio = peers.Kamailio(
            rundir,
            cls.base_url(),
            channel.sudo().voip_token,
            channel.sudo().voip_secret,
            debug=3,
        )
        channel.write({"voip_ws_url": cls.kamailio.ws_url, "voip_sip_domain": peers.HOST})
        cls.kamailio.start()
        cls.addClassCleanup(cls.kamailio.stop)

    def setUp(self):
        super().setUp()
        self.log_start = len(self.kamailio.log)

    def pbx_log(self):
        """What Kamailio logged during this test."""
        return self.kamailio.log[self.log_start :]

    def messages(self, method=None, sender=None, initial=None):
        """SIP messages the browser phones sent to Kamailio during this test."""
        return [
            message
            for message in websocket_messages(self.pbx_log())
            if (method is None or message.method == method)
            and (sender is None or message.user("from") == sender)
            and (initial is None or message.in_dialog != initial)
        ]

    def test_softphone_call(self):
        self.start_tour("/odoo", "omnichannel_cc_voip_softphone_tour", login=self.agent.login)
        everything = self.messages()
        self.assertTrue(everything, self.kamailio.log_tail())
        # the agent's softphone registered over WebSocket
        registers = self.messages("REGISTER", sender="7101")
        self.assertTrue(registers, everything)
        self.assertIn("transport=ws", registers[0].header("contact"))
        self.assertEqual(registers[0].header("user-agent"), "Odoo omnichannel softphone (JsSIP)")
        self.assertEqual(registers[0].header("from").split(" <")[0], '"Anna Agent"')
        # two calls to the customer: from the dial pad, then click-to-dial
        invites = self.messages("INVITE", sender="7101", initial=True)
        self.assertEqual([m.uri for m in invites], ["sip:2001@127.0.0.1"] * 2, everything)
        self.assertIn("m=audio", invites[0].body)
        # hold, then resume: re-INVITEs of the first call
        reinvites = [
            m
            for m in self.messages("INVITE", sender="7101", initial=False)
            if m.header("call-id") == invites[0].header("call-id")
        ]
        directions = [
            direction
            for m in reinvites
            for direction in ("sendonly", "sendrecv")
            if f"a={direction}" in m.body
        ]
        self.assertEqual(directions[-2:], ["sendonly", "sendrecv"], reinvites)
        # the DTMF key, as SIP INFO
        dtmf = self.messages("INFO", sender="7101")
        self.assertEqual(len(dtmf), 1, everything)
        self.assertEqual(dtmf[0].header("content-type"), "application/dtmf-relay")
        self.assertIn("Signal=5", dtmf[0].body)
        # the agent hung up the first call, the customer the second one
        byes = self.messages("BYE")
        self.assertEqual(
            [(m.header("call-id"), m.user("from")) for m in byes],
            [(invites[0].header("call-id"), "7101"), (invites[1].header("call-id"), "2001")],
            byes,
        )
        self.assertEqual([m.user("to") for m in byes], ["2001", "7101"])

    def test_softphone_transfers(self):
        self.start_tour(
            "/odoo", "omnichannel_cc_voip_softphone_transfer_tour", login=self.agent.login
        )
        everything = self.messages()
        # the customer called the agent three times; the agent declined the
        # first call, transferred the second blind and the third attended
        calls = self.messages("INVITE", sender="2001", initial=True)
        to_agent = [m for m in calls if m.uri == "sip:7101@127.0.0.1"]
        self.assertEqual(len(to_agent), 4, everything)
        declined = [m for m in everything if m.start == "SIP/2.0 603 Decline"]
        self.assertEqual(len(declined), 1, everything)
        self.assertEqual(declined[0].header("call-id"), to_agent[0].header("call-id"))
        refers = self.messages("REFER", sender="7101")
        self.assertEqual(len(refers), 2, everything)
        blind, attended = refers
        self.assertEqual(blind.header("refer-to"), "<sip:3001@127.0.0.1>")
        self.assertEqual(blind.header("call-id"), to_agent[1].header("call-id"))
        self.assertEqual(attended.header("call-id"), to_agent[2].header("call-id"))
        self.assertIn("?Replaces=", attended.header("refer-to"))
        # the customer followed both: a new call to the colleague each time,
        # the second one replacing the agent's consultation call
        to_colleague = [m for m in calls if m.uri.startswith("sip:3001@")]
        self.assertEqual(len(to_colleague), 3, everything)
        self.assertFalse(to_colleague[0].header("replaces"))
        consultation = self.messages("INVITE", sender="7101", initial=True)
        self.assertEqual([m.uri for m in consultation], ["sip:3001@127.0.0.1"], everything)
        self.assertTrue(
            to_colleague[1].header("replaces").startswith(consultation[0].header("call-id")),
            to_colleague[1].headers,
        )
        # then the colleague consulted the agent and transferred the customer
        # (their third call) to them: the customer's new call replaced the
        # consultation at the agent's softphone
        self.assertFalse(to_colleague[2].header("replaces"))
        consulted = self.messages("INVITE", sender="3001", initial=True)
        self.assertEqual([m.uri for m in consulted], ["sip:7101@127.0.0.1"], everything)
        self.assertTrue(
            to_agent[3].header("replaces").startswith(consulted[0].header("call-id")),
            to_agent[3].headers,
        )
        # the customer reported each new call's answer to the transferor
        notified = [(m.user("to"), m.body.strip()) for m in self.messages("NOTIFY", sender="2001")]
        self.assertEqual(
            [to for to, body in notified if body == "SIP/2.0 200 OK"],
            ["7101", "7101", "3001"],
            notified,
        )

    def test_softphone_pbx_unreachable(self):
        channel = self.env["omnichannel.channel"].search([("voip_ws_url", "!=", False)])
        self.assertEqual(len(channel), 1)
        # a port nobody listens on
        channel.voip_ws_url = f"ws://{peers.HOST}:{peers.free_port()}"
        self.start_tour("/odoo", "omnichannel_cc_voip_softphone_error_tour", login=self.agent.login)
        self.assertFalse(self.messages(), "nothing may reach Kamailio")


@tagged("post_install", "-at_install")
class TestSoftphoneStartUp(HttpCase):
    """The softphone asks for its account only for users who turned it on
    (the session says who did): the others load their pages without it."""

    WAIT = """
        const check = () => {
            const softphone = odoo.__WOWL_DEBUG__.root.env.services.omnichannel_softphone;
            if (softphone.state.loaded) {
                console.log("test successful");
            } else {
                setTimeout(check, 50);
            }
        };
        check();
    """

    def _start_up(self, softphone):
        user = new_test_user(
            self.env,
            login=f"voip_startup_{softphone}",
            groups="omnichannel_cc.group_omnichannel_agent",
        )
        user.write({"omnichannel_extension": "7191", "omnichannel_softphone": softphone})
        calls = record_web_client_calls(self)
        self.browser_js("/odoo", self.WAIT, ready="odoo.isReady", login=user.login)
        self.authenticate(user.login, user.login)
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        asked = [call for call in calls if call[:2] == ("res.users", "voip_softphone_config")]
        return len(asked), info["omnichannel_cc"]

    def test_softphone_off_no_request(self):
        self.assertEqual(self._start_up(False), (0, {"is_agent": True, "softphone": False}))

    def test_softphone_on_asks_for_its_account(self):
        self.assertEqual(self._start_up(True), (1, {"is_agent": True, "softphone": True}))
