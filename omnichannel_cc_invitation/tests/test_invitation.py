import re
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.misc import format_datetime

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

from ..tools import invitation as invitation_tools

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


class InvitationCommon(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Channel = cls.env["omnichannel.channel"]
        cls.channel_chat = Channel.create(
            {
                "name": "Web chat",
                "channel_type": "chat",
                "address": "invite-chat-test",
                "queue_id": cls.queue_sales.id,
            }
        )
        cls.channel_video = Channel.create(
            {
                "name": "Video desk",
                "channel_type": "video",
                "address": "invite-video-test",
                "queue_id": cls.queue_claims.id,
            }
        )
        cls.case = cls.env["omnichannel.case"].create(
            {
                "subject": "Water damage in the office",
                "partner_id": cls.customer_contact.id,
                "user_id": cls.agent_sales.id,
                "queue_id": cls.queue_sales.id,
            }
        )

    def _invite(self, user=None, **values):
        Invitation = self.env["omnichannel.invitation"]
        if user:
            Invitation = Invitation.with_user(user)
        values = dict(
            {"kind": "chat", "partner_id": self.customer_contact.id, "case_id": self.case.id},
            **values,
        )
        return Invitation.create(values)

    @staticmethod
    def _path(invitation):
        return urlsplit(invitation.url).path


@tagged("post_install", "-at_install")
class TestInvitationModel(InvitationCommon):
    def test_link_is_signed_and_found_by_its_token_only(self):
        invitation = self._invite()
        token = invitation.sudo().token
        self.assertTrue(token)
        self.assertEqual(invitation.sudo().token_hash, invitation_tools.token_digest(token))
        self.assertNotIn(invitation.sudo().token_hash, invitation.url)
        self.assertTrue(invitation.url.endswith(f"/omnichannel/invite/{token}"))
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        self.assertEqual(
            invitation.sudo().signature,
            invitation_tools.sign(secret, invitation.id, token, invitation.expiry),
        )
        Invitation = self.env["omnichannel.invitation"]
        self.assertEqual(Invitation._find_by_token(token), invitation)
        self.assertFalse(Invitation._find_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")))
        self.assertFalse(Invitation._find_by_token(""))
        self.assertFalse(Invitation._find_by_token("x" * 500))

    def test_expiry_changed_behind_the_orm_breaks_the_signature(self):
        invitation = self._invite()
        token = invitation.sudo().token
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE omnichannel_invitation SET expiry = expiry + interval '30 days' WHERE id = %s",
            [invitation.id],
        )
        invitation.invalidate_recordset()
        with mute_logger("odoo.addons.omnichannel_cc_invitation.models.omnichannel_invitation"):
            self.assertFalse(self.env["omnichannel.invitation"]._find_by_token(token))
        # an expiry changed through the ORM is signed again
        invitation.expiry = fields.Datetime.now() + timedelta(days=3)
        self.assertEqual(self.env["omnichannel.invitation"]._find_by_token(token), invitation)

    def test_defaults(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_cc.invitation_expiry_hours", "48"
        )
        before = fields.Datetime.now()
        chat = self._invite()
        video = self._invite(kind="video")
        audio = self._invite(kind="audio")
        self.assertEqual(chat.channel_id, self.channel_chat)
        self.assertEqual(video.channel_id, self.channel_video)
        self.assertEqual(audio.channel_id, self.channel_video)
        self.assertEqual(chat.state, "active")
        self.assertEqual(chat.user_id, self.env.user)
        self.assertTrue(chat.name.startswith("INV-LINK/"))
        self.assertAlmostEqual(
            (chat.expiry - before).total_seconds(), 48 * 3600, delta=60, msg="configured expiry"
        )
        self.assertNotEqual(chat.sudo().token, video.sudo().token)

    def test_upload_needs_a_case_and_session_needs_a_channel(self):
        with self.assertRaises(ValidationError):
            self._invite(kind="upload", case_id=False)
        self.channel_chat.active = False
        with self.assertRaises(ValidationError):
            self._invite(kind="chat")

    def test_send_by_email(self):
        invitation = self._invite(user=self.agent_sales)
        invitation.action_send()
        mail = self.env["mail.mail"].search([("model", "=", "omnichannel.invitation")])
        mail = mail.filtered(lambda m: m.res_id == invitation.id)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, self.customer_contact)
        self.assertIn(invitation.sudo().url, mail.body_html)
        # no e-mail address: a clear error, nothing sent
        invitation_plain = self._invite(partner_id=self.customer_plain.id, case_id=False)
        with self.assertRaises(UserError):
            invitation_plain.action_send()
        invitation.action_revoke()
        with self.assertRaises(UserError):
            invitation.action_send()

    def test_wizard_from_case_creates_sends_and_shows_the_link(self):
        Wizard = (
            self.env["omnichannel.invitation.create"]
            .with_user(self.agent_sales)
            .with_context(active_model="omnichannel.case", active_id=self.case.id)
        )
        wizard = Wizard.create(
            {"kind": "upload", "expiry_hours": 2, "single_use": True, "send_email": True}
        )
        self.assertEqual(wizard.partner_id, self.customer_contact)
        self.assertEqual(wizard.case_id, self.case)
        action = wizard.action_create()
        self.assertEqual(action["res_id"], wizard.id)
        invitation = wizard.invitation_id
        self.assertEqual(invitation.kind, "upload")
        self.assertEqual(invitation.case_id, self.case)
        self.assertEqual(invitation.user_id, self.agent_sales)
        self.assertEqual(invitation.invited_by_id, self.agent_sales)
        self.assertTrue(invitation.single_use)
        self.assertAlmostEqual(
            (invitation.expiry - fields.Datetime.now()).total_seconds(), 7200, delta=60
        )
        self.assertEqual(wizard.url, invitation.sudo().url)
        self.assertTrue(
            self.env["mail.mail"].search(
                [("model", "=", "omnichannel.invitation"), ("res_id", "=", invitation.id)]
            )
        )

    def test_wizard_form_view(self):
        """The wizard's form view (as the agent uses it) creates a video link."""
        form = Form(
            self.env["omnichannel.invitation.create"]
            .with_user(self.agent_sales)
            .with_context(active_model="res.partner", active_id=self.customer_contact.id)
        )
        self.assertEqual(form.partner_id, self.customer_contact)
        form.kind = "video"
        form.expiry_hours = 3
        form.send_email = False
        wizard = form.save()
        wizard.action_create()
        invitation = wizard.invitation_id
        self.assertEqual(invitation.kind, "video")
        self.assertEqual(invitation.channel_id, self.channel_video)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", "omnichannel.invitation"), ("res_id", "=", invitation.id)]
            )
        )
        Form(invitation.with_user(self.agent_sales))  # the invitation form opens for its agent

    def test_wizard_from_interaction_and_partner(self):
        interaction = self.env["omnichannel.interaction"].browse(
            self._inbound("inv-call-1", "+48 609 876 543")["interaction_id"]
        )
        self.assertEqual(interaction.partner_id, self.customer_contact)
        interaction.case_id = self.case
        wizard = (
            self.env["omnichannel.invitation.create"]
            .with_context(active_model="omnichannel.interaction", active_id=interaction.id)
            .create({"kind": "video", "send_email": False})
        )
        wizard.action_create()
        self.assertEqual(wizard.invitation_id.interaction_id, interaction)
        self.assertEqual(wizard.invitation_id.case_id, self.case)
        self.assertEqual(wizard.invitation_id.channel_id, self.channel_video)
        wizard = (
            self.env["omnichannel.invitation.create"]
            .with_context(active_model="res.partner", active_id=self.customer_plain.id)
            .create({"kind": "chat"})
        )
        self.assertEqual(wizard.partner_id, self.customer_plain)
        with self.assertRaises(UserError):  # send by e-mail, but no address
            wizard.action_create()
        self.assertFalse(wizard.invitation_id)

    def test_access(self):
        mine = self._invite(user=self.agent_sales)
        self.assertEqual(mine.invited_by_id, self.agent_sales)
        mine.with_user(self.agent_sales).read(["url", "state"])
        self.assertTrue(mine.with_user(self.agent_sales).url)
        with self.assertRaises(AccessError):
            mine.with_user(self.agent_claims).read(["state"])
        self.assertFalse(
            self.env["omnichannel.invitation"]
            .with_user(self.agent_claims)
            .search([("id", "=", mine.id)])
        )
        with self.assertRaises(AccessError):
            mine.with_user(self.plain_user).read(["state"])
        # the token itself is for the system only; agents get it through the url
        with self.assertRaises(AccessError):
            mine.with_user(self.agent_sales).read(["token"])
        # supervisor of the agent's queue, and the manager, see it
        mine.with_user(self.supervisor_sales).read(["state"])
        mine.with_user(self.manager).read(["state"])
        # an agent cannot create a link in someone else's name only
        with self.assertRaises(AccessError):
            self._invite(
                user=self.agent_claims,
                user_id=self.agent_sales.id,
                invited_by_id=self.agent_sales.id,
            )
        # a revoked link does not come back to life
        mine.with_user(self.agent_sales).action_revoke()
        self.assertEqual(mine.state, "revoked")
        with self.assertRaises(UserError):
            mine.with_user(self.agent_sales).write({"state": "active"})

    def test_users_cannot_set_what_the_link_sets(self):
        """An agent pointing a link to a Discuss channel of their choice would
        let the visitor in as a guest: refused, like a case they cannot read."""
        other_channel = self.env["discuss.channel"].create({"name": "Management"})
        mine = self._invite(user=self.agent_sales)
        for vals in (
            {"discuss_channel_id": other_channel.id},
            {"use_count": 0},
            {"session_interaction_id": False},
        ):
            with self.assertRaises(UserError):
                mine.with_user(self.agent_sales).write(vals)
        with self.assertRaises(UserError):
            self._invite(user=self.agent_sales, discuss_channel_id=other_channel.id)
        with self.assertRaises(UserError):
            self._invite(user=self.agent_sales, state="used")
        # a case of another team
        with self.assertRaises(AccessError):
            self._invite(user=self.agent_claims, user_id=self.agent_claims.id)
        self.assertFalse(mine.discuss_channel_id)

    def test_multi_company_rule(self):
        other = self.env["res.company"].create({"name": "Other CC company"})
        self.manager.company_ids = [(4, other.id)]
        queue = self.env["omnichannel.queue"].create(
            {"name": "Other", "code": "T_OTHER", "company_id": other.id}
        )
        self.env["omnichannel.channel"].create(
            {
                "name": "Other chat",
                "channel_type": "chat",
                "address": "invite-chat-other",
                "queue_id": queue.id,
                "company_id": other.id,
            }
        )
        invitation = (
            self.env["omnichannel.invitation"]
            .sudo()
            .create(
                {"kind": "chat", "partner_id": self.customer_contact.id, "company_id": other.id}
            )
        )
        self.assertEqual(invitation.channel_id.company_id, other)
        Invitation = self.env["omnichannel.invitation"].with_user(self.manager)
        self.assertFalse(
            Invitation.with_context(allowed_company_ids=[self.company.id]).search(
                [("id", "=", invitation.id)]
            )
        )
        self.assertTrue(
            Invitation.with_context(allowed_company_ids=[other.id, self.company.id]).search(
                [("id", "=", invitation.id)]
            )
        )

    def test_cron_expires_old_links(self):
        old = self._invite()
        fresh = self._invite()
        old.expiry = fields.Datetime.now() - timedelta(minutes=1)
        self.env["omnichannel.invitation"]._cron_expire()
        self.assertEqual(old.state, "expired")
        self.assertEqual(fresh.state, "active")


@tagged("post_install", "-at_install")
class TestInvitationHttp(InvitationCommon, HttpCase):
    """The public link. GET reads only (e-mail scanners open links before the
    customer does); the POST of the landing page's form, with Odoo's CSRF
    token, counts a use and joins."""

    def _counts(self):
        return (
            self.env["discuss.channel"].search_count([]),
            self.env["discuss.channel.member"].search_count([]),
            self.env["omnichannel.interaction"].search_count([]),
            self.env["mail.guest"].search_count([]),
            self.env["mail.message"].search_count([]),
            self.env["ir.attachment"].search_count([("res_model", "=", "omnichannel.case")]),
        )

    def _snapshot(self, invitation):
        """Everything a use of ``invitation`` would change."""
        invitation = invitation.sudo()
        invitation.invalidate_recordset()
        return (
            self._counts(),
            invitation.read(
                [
                    "state",
                    "use_count",
                    "date_last_used",
                    "discuss_channel_id",
                    "session_interaction_id",
                    "write_date",
                ]
            ),
        )

    def _open(self, invitation, **kwargs):
        """A GET, as a browser or a scanner does."""
        return self.url_open(self._path(invitation), allow_redirects=False, **kwargs)

    @staticmethod
    def _csrf(page):
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        return match and match.group(1)

    def _landing(self, invitation):
        """The landing page of a session link; returns its form's CSRF token."""
        page = self._open(invitation)
        self.assertEqual(page.status_code, 200, page.text[:500])
        self.assertIn("o_omnichannel_invitation_join", page.text)
        self.assertIn(f'action="{self._path(invitation)}"', page.text)
        csrf = self._csrf(page)
        self.assertTrue(csrf, "the Join form carries a CSRF token")
        return csrf

    def _join(self, invitation, csrf=None):
        """Press Join: the POST of the landing page's form."""
        if csrf is None:
            csrf = self._landing(invitation)
        return self.url_open(
            self._path(invitation), data={"csrf_token": csrf}, allow_redirects=False
        )

    def _session_csrf(self):
        """A CSRF token of this browser's session, from another page (for
        links whose own page has no form)."""
        page = self.url_open("/web/login")
        return re.search(r'csrf_token: "([^"]+)"', page.text).group(1)

    def test_get_shows_a_landing_page_and_changes_nothing(self):
        self.agent_sales.tz = "Europe/Warsaw"
        invitation = self._invite(user=self.agent_sales, single_use=True)
        before = self._snapshot(invitation)
        for _attempt in range(2):
            page = self._open(invitation)
            self.assertEqual(page.status_code, 200, page.text[:500])
            self.assertEqual(self._snapshot(invitation), before, "a GET changes nothing")
        self.assertIn("Chat with us", page.text)
        self.assertIn(self.agent_sales.name, page.text)
        self.assertIn(self.env.company.name, page.text)
        self.assertIn("Europe/Warsaw", page.text, "the expiry in the agent's time zone")
        self.assertIn(
            format_datetime(self.env, invitation.expiry, tz="Europe/Warsaw", dt_format="short"),
            page.text,
        )
        self.assertIn("works once", page.text)
        self.assertIn('method="post"', page.text)
        self.assertIn(">Join</button>", page.text)
        self.assertTrue(self._csrf(page))
        self.assertIn('name="viewport"', page.text, "sized for phones")
        self.assertFalse(invitation.discuss_channel_id)
        self.assertEqual(invitation.use_count, 0)
        self.assertEqual(invitation.state, "active")
        # the visitor's own time zone, when the browser told Odoo
        self.opener.cookies.set("tz", "America/New_York")
        self.assertIn("America/New_York", self._open(invitation).text)

    def test_landing_page_of_a_video_and_a_queue_audio_link(self):
        video = self._invite(kind="video", user=self.agent_sales)
        page = self._open(video)
        self.assertIn("Video call", page.text)
        self.assertIn("o_omnichannel_invitation_kind_video", page.text)
        self.assertIn("camera", page.text)
        audio = self._invite(kind="audio", user_id=False, queue_id=self.queue_claims.id)
        page = self._open(audio)
        self.assertIn("Audio call", page.text)
        self.assertIn(self.queue_claims.name, page.text, "no agent: the queue invites")
        self.assertIn("microphone", page.text)
        self.assertNotIn("works once", page.text)

    def test_scanners_do_not_use_a_single_use_link(self):
        """Outlook Safe Links, Gmail and the like open the link (GET, HEAD)
        from their own machines before the customer: the link still works."""
        invitation = self._invite(user=self.agent_sales, single_use=True)
        before = self._snapshot(invitation)
        for user_agent in (
            "Mozilla/5.0 (compatible; Microsoft Office Protocol Discovery)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36",
            "Google-Safety",
        ):
            self.opener.cookies.clear()
            self.assertEqual(
                self._open(invitation, headers={"User-Agent": user_agent}).status_code, 200
            )
            response = self.url_open(self._path(invitation), head=True)
            self.assertEqual(response.status_code, 200)
        self.assertEqual(self._snapshot(invitation), before, "no use, no channel, no interaction")
        # the customer clicks afterwards and joins
        self.opener.cookies.clear()
        response = self._join(invitation)
        self.assertEqual(response.status_code, 303, response.text[:500])
        invitation.invalidate_recordset()
        self.assertEqual(invitation.state, "used")
        self.assertEqual(invitation.use_count, 1)
        self.assertTrue(invitation.discuss_channel_id)

    def test_post_without_a_valid_csrf_token_changes_nothing(self):
        invitation = self._invite(user=self.agent_sales, single_use=True)
        csrf = self._landing(invitation)
        before = self._snapshot(invitation)
        path = self._path(invitation)
        with mute_logger("odoo.http"):
            for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"x": "1"}):
                response = self.opener.post(
                    self.base_url() + path, data=data, allow_redirects=False
                )
                self.assertEqual(response.status_code, 400, data)
            # a token of another browser's session
            self.opener.cookies.clear()
            response = self._join(invitation, csrf=csrf)
            self.assertEqual(response.status_code, 400)
        self.assertEqual(self._snapshot(invitation), before)
        # with the page's own token, it joins
        response = self._join(invitation)
        self.assertEqual(response.status_code, 303)

    def test_chat_link_opens_a_discuss_session_with_the_agent(self):
        invitation = self._invite(user=self.agent_sales)
        response = self._join(invitation)
        self.assertEqual(response.status_code, 303, response.text[:500])
        invitation.invalidate_recordset()
        discuss = invitation.discuss_channel_id
        self.assertTrue(discuss)
        self.assertEqual(discuss.channel_type, "group")
        self.assertFalse(discuss.default_display_mode)
        self.assertEqual(
            urlsplit(response.headers["Location"]).path, f"/discuss/channel/{discuss.id}"
        )
        members = discuss.channel_member_ids
        self.assertEqual(members.partner_id, self.agent_sales.partner_id)
        self.assertEqual(len(members.guest_id), 1)
        self.assertEqual(members.guest_id.name, self.customer_contact.name)
        self.assertIn(f"{members.guest_id.id}", response.cookies.get("dgid", ""))
        interaction = invitation.session_interaction_id
        self.assertEqual(interaction.partner_id, self.customer_contact)
        self.assertEqual(interaction.case_id, self.case)
        self.assertEqual(interaction.channel_id, self.channel_chat)
        self.assertEqual(interaction.discuss_channel_id, discuss)
        self.assertEqual(interaction.preferred_agent_id, self.agent_sales)
        self.assertEqual(interaction.queue_id, self.queue_sales)
        self.assertEqual(interaction.external_id, f"invitation:{invitation.id}")
        self.assertEqual(invitation.use_count, 1)
        self.assertEqual(invitation.state, "active")
        # the Discuss public page opens for the guest (a member, by its cookie)
        page = self.url_open(response.headers["Location"])
        self.assertEqual(page.status_code, 200)
        self.assertIn("discuss_public_thread", page.text)
        self.assertEqual(len(discuss.channel_member_ids), 2, "no second guest on the Discuss page")
        # the landing page again (the customer's browser history): still nothing counted
        before = self._snapshot(invitation)
        self.assertEqual(self._open(invitation).status_code, 200)
        self.assertEqual(self._snapshot(invitation), before)
        # but not for someone else who got hold of the address
        self.opener.cookies.clear()
        page = self.url_open(response.headers["Location"])
        self.assertEqual(page.status_code, 404)

    def test_video_link_sets_the_video_display_mode(self):
        invitation = self._invite(kind="video", user=self.agent_sales)
        response = self._join(invitation)
        self.assertEqual(response.status_code, 303)
        invitation = invitation.sudo()
        invitation.invalidate_recordset()
        self.assertEqual(invitation.discuss_channel_id.default_display_mode, "video_full_screen")
        self.assertEqual(invitation.session_interaction_id.channel_id, self.channel_video)
        self.assertEqual(invitation.session_interaction_id.channel_type, "video")
        # the inviting agent joins from the invitation, though the session
        # waits in a queue they do not belong to
        action = invitation.with_user(self.agent_sales).action_open_session()
        self.assertEqual(
            action["context"]["active_id"], f"discuss.channel_{invitation.discuss_channel_id.id}"
        )
        with self.assertRaises(AccessError):
            invitation.with_user(self.agent_claims).action_open_session()

    def test_queue_link_without_agent_waits_in_the_queue(self):
        invitation = self._invite(kind="audio", user_id=False, queue_id=self.queue_claims.id)
        response = self._join(invitation)
        self.assertEqual(response.status_code, 303)
        invitation.invalidate_recordset()
        discuss = invitation.discuss_channel_id
        self.assertFalse(discuss.default_display_mode)
        self.assertFalse(discuss.channel_member_ids.partner_id, "nobody but the guest yet")
        interaction = invitation.session_interaction_id
        self.assertEqual(interaction.queue_id, self.queue_claims)
        self.assertFalse(interaction.preferred_agent_id)
        # the agent who takes it joins the session from the interaction
        action = interaction.with_user(self.agent_claims).action_open_discuss_session()
        self.assertEqual(action["tag"], "mail.action_discuss")
        self.assertEqual(discuss.channel_member_ids.partner_id, self.agent_claims.partner_id)
        with self.assertRaises(AccessError):
            interaction.with_user(self.plain_user).action_open_discuss_session()

    def test_multi_use_link_returns_to_the_same_session(self):
        invitation = self._invite(user=self.agent_sales)
        first = self._join(invitation)
        self.assertEqual(first.status_code, 303)
        counts = self._counts()
        second = self._join(invitation)
        self.assertEqual(second.status_code, 303)
        self.assertEqual(second.headers["Location"], first.headers["Location"])
        self.assertEqual(self._counts(), counts, "same guest (cookie), channel, interaction")
        # another browser (no guest cookie) joins the same channel as a second guest
        self.opener.cookies.clear()
        third = self._join(invitation)
        self.assertEqual(third.headers["Location"], first.headers["Location"])
        invitation.invalidate_recordset()
        self.assertEqual(invitation.use_count, 3)
        self.assertEqual(len(invitation.discuss_channel_id.channel_member_ids.guest_id), 2)
        self.assertEqual(
            self.env["omnichannel.interaction"].search_count(
                [("external_id", "=", f"invitation:{invitation.id}")]
            ),
            1,
        )

    def test_single_use_link_reused_is_gone(self):
        invitation = self._invite(user=self.agent_sales, single_use=True)
        csrf = self._landing(invitation)
        self.assertEqual(self._join(invitation, csrf).status_code, 303)
        invitation.invalidate_recordset()
        self.assertEqual(invitation.state, "used")
        before = self._snapshot(invitation)
        # the Join form posted again (back button, double click): gone
        response = self._join(invitation, csrf)
        self.assertEqual(response.status_code, 410)
        self.assertIn("already used", response.text)
        for clear_cookies in (False, True):
            if clear_cookies:
                self.opener.cookies.clear()
            response = self._open(invitation)
            self.assertEqual(response.status_code, 410)
            self.assertIn("already used", response.text)
            self.assertFalse(self._csrf(response), "no Join form on a used link")
        response = self._join(invitation, self._session_csrf())
        self.assertEqual(response.status_code, 410)
        self.assertEqual(self._snapshot(invitation), before, "nothing created")
        self.assertEqual(invitation.use_count, 1)

    def test_expired_link_is_gone_and_creates_nothing(self):
        invitation = self._invite(user=self.agent_sales)
        invitation.expiry = fields.Datetime.now() - timedelta(seconds=1)
        before = self._snapshot(invitation)
        response = self._open(invitation)
        self.assertEqual(response.status_code, 410)
        self.assertIn("expired", response.text)
        self.assertEqual(self._snapshot(invitation), before, "a GET does not even mark it")
        # a late POST of the form: refused, the link is marked expired
        response = self._join(invitation, self._session_csrf())
        self.assertEqual(response.status_code, 410)
        self.assertIn("expired", response.text)
        # no channel, member, interaction nor guest (the state change is tracked)
        self.assertEqual(self._snapshot(invitation)[0][:4], before[0][:4])
        invitation.invalidate_recordset()
        self.assertEqual(invitation.state, "expired")
        self.assertFalse(invitation.discuss_channel_id)
        self.assertEqual(invitation.use_count, 0)

    def test_landing_page_opened_then_link_revoked(self):
        """The customer keeps the page open; the agent withdraws the link:
        Join is refused."""
        invitation = self._invite(user=self.agent_sales)
        csrf = self._landing(invitation)
        invitation.with_user(self.agent_sales).action_revoke()
        before = self._snapshot(invitation)
        response = self._join(invitation, csrf)
        self.assertEqual(response.status_code, 410)
        self.assertIn("withdrawn", response.text)
        response = self._open(invitation)
        self.assertEqual(response.status_code, 410)
        self.assertIn("withdrawn", response.text)
        self.assertEqual(self._snapshot(invitation), before)

    def test_forged_token_is_not_found(self):
        invitation = self._invite(user=self.agent_sales)
        token = invitation.sudo().token
        before = self._snapshot(invitation)
        csrf = self._session_csrf()
        for forged in (
            "A" * 43,
            token[:-2] + ("xy" if token[-2:] != "xy" else "zz"),
            invitation.sudo().token_hash,
            invitation.sudo().signature,
        ):
            for data in (None, {"csrf_token": csrf}):
                response = self.url_open(
                    f"/omnichannel/invite/{forged}", data=data, allow_redirects=False
                )
                self.assertEqual(response.status_code, 404)
                self.assertIn("not valid", response.text)
        self.assertEqual(self._snapshot(invitation), before)

    # ------------------------------------------------------------------
    # Upload
    # ------------------------------------------------------------------
    def _upload_form(self, invitation):
        page = self.url_open(self._path(invitation))
        self.assertEqual(page.status_code, 200)
        self.assertIn('type="file"', page.text)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.assertTrue(match, "the upload form carries a CSRF token")
        return match.group(1)

    def _post(self, invitation, files, csrf_token):
        return self.url_open(self._path(invitation), data={"csrf_token": csrf_token}, files=files)

    def _case_attachments(self):
        return self.env["ir.attachment"].search(
            [("res_model", "=", "omnichannel.case"), ("res_id", "=", self.case.id)]
        )

    def test_upload_lands_on_the_case_and_the_interaction(self):
        interaction = self.env["omnichannel.interaction"].browse(
            self._inbound("inv-call-upload", "+48 609 876 543")["interaction_id"]
        )
        interaction.case_id = self.case
        invitation = self._invite(
            kind="upload", user=self.agent_sales, single_use=True, interaction_id=interaction.id
        )
        csrf = self._upload_form(invitation)
        invitation.invalidate_recordset()
        self.assertEqual(invitation.use_count, 0, "showing the form is not a use")
        response = self._post(
            invitation,
            [
                ("files", ("damage.png", PNG, "image/png")),
                ("files", ("report.pdf", PDF, "application/pdf")),
            ],
            csrf,
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertIn("we received 2 file(s)", response.text)
        attachments = self._case_attachments()
        self.assertEqual(sorted(attachments.mapped("name")), ["damage.png", "report.pdf"])
        self.assertEqual(attachments.filtered(lambda a: a.name == "damage.png").raw, PNG)
        self.case.invalidate_recordset()
        message = self.case.message_ids.filtered(lambda m: m.attachment_ids)
        self.assertEqual(len(message), 1)
        self.assertEqual(message.attachment_ids, attachments)
        self.assertEqual(message.author_id, self.customer_contact)
        on_interaction = self.env["ir.attachment"].search(
            [("res_model", "=", "omnichannel.interaction"), ("res_id", "=", interaction.id)]
        )
        self.assertEqual(len(on_interaction), 2)
        invitation.invalidate_recordset()
        self.assertEqual(invitation.state, "used")
        # single use: the page is gone now, and a second post stores nothing
        self.assertEqual(self._open(invitation).status_code, 410)
        response = self._post(invitation, [("files", ("more.png", PNG, "image/png"))], csrf)
        self.assertEqual(response.status_code, 410)
        self.assertEqual(len(self._case_attachments()), 2)

    def test_upload_refuses_bad_files_and_stores_nothing(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "omnichannel_cc.invitation_upload_max_mb", "1"
        )
        invitation = self._invite(kind="upload", user=self.agent_sales, single_use=True)
        csrf = self._upload_form(invitation)
        messages = len(self.case.message_ids)
        cases = [
            ([("files", ("big.png", PNG + b"\x00" * (1024 * 1024), "image/png"))], "larger than"),
            ([("files", ("page.html", b"<html><script>1</script></html>", "text/html"))], "type"),
            (
                [
                    (
                        "files",
                        (
                            "x.svg",
                            b'<svg onload="alert(1)"><script>1</script></svg>',
                            "image/svg+xml",
                        ),
                    )
                ],
                "type",
            ),
            (
                [("files", ("fake.jpg", b"<html><script>1</script></html>", "image/jpeg"))],
                "content",
            ),
            (
                [
                    ("files", ("ok.png", PNG, "image/png")),
                    ("files", ("virus.exe", b"MZ\x90\x00", "application/octet-stream")),
                ],
                "type",
            ),
            ([("files", ("empty.png", b"", "image/png"))], "Choose at least one file"),
        ]
        for files, text in cases:
            response = self._post(invitation, files, csrf)
            self.assertEqual(response.status_code, 400, files[0][1][0])
            self.assertIn(text, response.text)
        self.assertFalse(self._case_attachments())
        self.case.invalidate_recordset()
        self.assertEqual(len(self.case.message_ids), messages)
        invitation.invalidate_recordset()
        self.assertEqual(invitation.use_count, 0, "a refused upload does not use the link")
        self.assertEqual(invitation.state, "active")
        # without the CSRF token, nothing either
        with mute_logger("odoo.http"):
            response = self._post(invitation, [("files", ("ok.png", PNG, "image/png"))], "bad")
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._case_attachments())
        # a good file still goes through afterwards
        response = self._post(invitation, [("files", ("ok.png", PNG, "image/png"))], csrf)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._case_attachments().mapped("name"), ["ok.png"])

    def test_upload_link_cannot_open_a_session_nor_a_chat_link_take_files(self):
        chat = self._invite(user=self.agent_sales)
        csrf = self._landing(chat)
        self.assertNotIn('type="file"', self._open(chat).text)
        # files posted to a chat link: it joins the chat, the files are dropped
        response = self._post(chat, [("files", ("ok.png", PNG, "image/png"))], csrf)
        self.assertEqual(response.status_code, 200)  # followed to the Discuss page
        self.assertIn("discuss_public_thread", response.text)
        self.assertFalse(self._case_attachments())
        # the upload link's form posted without files: no session either
        upload = self._invite(kind="upload", user=self.agent_sales)
        before = self._snapshot(upload)
        self.assertNotIn("o_omnichannel_invitation_join", self._open(upload).text)
        response = self._post(upload, [], self._upload_form(upload))
        self.assertEqual(response.status_code, 400)
        self.assertIn("Choose at least one file", response.text)
        self.assertEqual(self._snapshot(upload), before)
        self.assertFalse(upload.discuss_channel_id)


@tagged("post_install", "-at_install")
class TestInvitationUi(InvitationCommon, HttpCase):
    def test_agent_invites_from_a_case(self):
        self.start_tour(
            f"/odoo/action-omnichannel_cc.omnichannel_case_action/{self.case.id}",
            "omnichannel_cc_invitation_tour",
            login="occ_agent_sales",
        )
        invitation = self.env["omnichannel.invitation"].search([("case_id", "=", self.case.id)])
        self.assertEqual(len(invitation), 1)
        self.assertEqual(invitation.kind, "video")
        self.assertEqual(invitation.user_id, self.agent_sales)
        self.assertEqual(invitation.partner_id, self.customer_contact)
        self.assertEqual(invitation.channel_id, self.channel_video)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", "omnichannel.invitation"), ("res_id", "=", invitation.id)]
            )
        )
