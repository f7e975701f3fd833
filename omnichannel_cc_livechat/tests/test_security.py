from odoo.tests import tagged

from .test_channel_chat import ChatCommon


# ---- issue 13, M3: anonymous visitors cannot mass-create missed chats ----
@tagged("post_install", "-at_install")
class TestSecurityReviewM3MissedChats(ChatCommon):
    """Nobody is available (every agent offline): each persisted session
    request of a visitor is answered False and may record a missed chat."""

    def _missed(self):
        return self.env["omnichannel.interaction"].search(
            [("channel_id", "=", self.channel_chat.id)], order="id"
        )

    def _footprint(self):
        """What a missed chat writes: interactions, messages, idempotency keys."""
        return (
            self.env["omnichannel.interaction"].sudo().search_count([]),
            self.env["mail.message"].sudo().search_count([]),
            self.env["omnichannel.event.key"].sudo().search_count([]),
        )

    def _as_guest(self, guest):
        self.opener.cookies[guest._cookie_name] = guest.sudo()._format_auth_cookie()

    def test_m3_repeats_of_an_anonymous_visitor_are_one_missed_chat(self):
        self.authenticate(None, None)
        self.assertIs(self._get_session(), False)
        missed = self._missed()
        self.assertEqual(len(missed), 1)
        self.assertEqual((missed.state, missed.end_reason), ("missed", "no_agent"))
        self.assertEqual(missed.contact_address, "Visitor")
        footprint = self._footprint()
        for _attempt in range(4):
            self.assertIs(self._get_session(), False)
        self.assertEqual(self._missed(), missed)
        self.assertEqual(self._footprint(), footprint, "a repeat writes nothing")

    def test_m3_repeats_of_a_guest_or_customer_are_one_missed_chat_each(self):
        guest = self.env["mail.guest"].sudo().create({"name": "Gość"})
        self.authenticate(None, None)
        self._as_guest(guest)
        for _attempt in range(3):
            self.assertIs(self._get_session(), False)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        for _attempt in range(3):
            self.assertIs(self._get_session(), False)
        missed = self._missed()
        self.assertEqual(len(missed), 2)
        self.assertEqual(missed.partner_id, self.customer_contact)
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"interaction:{self.channel_chat.id}"
        self.assertEqual(keys.search_count([("scope", "=", scope)]), 2)

    def test_m3_beyond_the_limit_nothing_is_written(self):
        self.channel_chat.chat_missed_rate_ip = 2
        guests = self.env["mail.guest"].sudo().create([{"name": f"Gość {n}"} for n in range(3)])
        self.authenticate(None, None)
        for guest in guests[:2]:
            self._as_guest(guest)
            self.assertIs(self._get_session(), False)
        self.assertEqual(len(self._missed()), 2)
        footprint = self._footprint()
        # a third visitor from the same address, a guest or anonymous: told
        # nobody is available, nothing recorded
        self._as_guest(guests[2])
        self.assertIs(self._get_session(), False)
        del self.opener.cookies[guests[2]._cookie_name]
        self.assertIs(self._get_session(), False)
        self.assertEqual(self._footprint(), footprint)
        # the visitors already recorded still find their missed chat
        self._as_guest(guests[0])
        self.assertIs(self._get_session(), False)
        self.assertEqual(self._footprint(), footprint)
        # no limit
        self.channel_chat.chat_missed_rate_ip = 0
        self.assertIs(self._get_session(persisted=True, anonymous_name="Another"), False)
        self.assertEqual(len(self._missed()), 2, "guest 0 again: its missed chat")
        del self.opener.cookies[guests[0]._cookie_name]
        self.assertIs(self._get_session(), False)
        self.assertEqual(len(self._missed()), 3)
