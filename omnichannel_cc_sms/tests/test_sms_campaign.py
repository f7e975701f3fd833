"""SMS steps of campaigns: queued by the campaign's scheduled action with the
gates checked per message, sent by the SMS queue through the channel's
gateway (transport patched), once per contact; replies join the conversation."""

from datetime import datetime, timedelta
from unittest.mock import patch
from urllib.parse import parse_qsl, urlsplit

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models import omnichannel_campaign as sms_campaign
from ..tools import sms_providers
from .common import OmnichannelSmsGatewayCommon

# a Monday, 10:00 in Warsaw, 04:00 in New York
T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestSmsCampaign(OmnichannelSmsGatewayCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        pl = cls.poland.id

        def partner(name, mobile, **vals):
            return Partner.create(dict({"name": name, "country_id": pl, "mobile": mobile}, **vals))

        cls.p_ok = partner("Ola Kowalska", "601 100 001", omnichannel_marketing_consent=True)
        cls.p_black = partner(
            "Na Czarnej Liście", "601 100 004", omnichannel_marketing_consent=True
        )
        cls.p_dnc = partner("Nie Pisać", "601 100 005", omnichannel_marketing_consent=True)
        cls.p_far = partner(
            "Daleki Klient",
            "601 100 006",
            tz="America/New_York",
            omnichannel_marketing_consent=True,
        )
        cls.template = cls.env["sms.template"].create(
            {
                "name": "Campaign reminder",
                "model_id": cls.env["ir.model"]._get_id("omnichannel.campaign.contact"),
                "body": "Dzien dobry {{ object.partner_id.name }}: {{ object.campaign_id.name }}",
            }
        )

    def _campaign(self, partners, **vals):
        values = {
            "name": "Przypomnienie",
            "target_model": "res.partner",
            "target_domain": repr([("id", "in", partners.ids)]),
            "sms_step": "only",
            "sms_template_id": self.template.id,
            "sms_channel_id": self.kannel.id,
        }
        values.update(vals)
        return self.env["omnichannel.campaign"].create(values)

    def _contact(self, campaign, partner):
        return campaign.contact_ids.filtered(lambda c: c.partner_id == partner)

    def _send_step(self):
        """The campaign's scheduled action, as after the commit."""
        self.env.flush_all()
        self.env["omnichannel.campaign"]._cron_send_sms()
        self.env.invalidate_all()

    def _sent_to(self):
        return [dict(parse_qsl(urlsplit(request.url).query))["to"] for request in self.sent]

    def test_service_campaign_sends_once_per_contact_through_the_gateway_from_the_cron(self):
        campaign = self._campaign(self.p_ok | self.p_black | self.p_dnc | self.p_far)
        with freeze_time(T0):
            campaign.action_start()
            self.assertEqual(len(campaign.contact_ids), 4)
            # after the list was built: the gates are checked again per message
            self.env["phone.blacklist"].sudo()._add(["+48601100004"])
            campaign.dnc_ids = [Command.create({"number": "601 100 005"})]
            self.assertFalse(self._queued("+48601100001"), "nothing queued by the start")
            self._send_step()
            queued = self._queued("+48601100001")
            self.assertEqual(len(queued), 1)
            self.assertEqual(queued.omnichannel_channel_id, self.kannel)
            self.assertFalse(self.sent, "queued only: the SMS queue sends after the commit")
            self._run_queue()
        self.assertEqual(self._sent_to(), ["+48601100001"])
        (request,) = self.sent
        self.assertIn("/cgi-bin/sendsms", request.url)
        self.assertEqual(
            dict(parse_qsl(urlsplit(request.url).query))["text"],
            "Dzien dobry Ola Kowalska: Przypomnienie",
        )
        ok = self._contact(campaign, self.p_ok)
        self.assertEqual(ok.state, "done")
        self.assertTrue(ok.sms_date)
        conversation = ok.sms_interaction_id
        self.assertEqual(conversation.channel_id, self.kannel)
        self.assertEqual(conversation.direction, "outbound")
        self.assertEqual(conversation.partner_id, self.p_ok)
        message = conversation.message_ids.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(message), 1)
        self.assertIn("Ola Kowalska", message.body)
        expected = {
            self.p_black: ("excluded", "blacklisted"),
            self.p_dnc: ("excluded", "do_not_call"),
            # 04:00 in New York: tried again later
            self.p_far: ("pending", "outside_hours"),
        }
        for partner, (state, reason) in expected.items():
            contact = self._contact(campaign, partner)
            self.assertEqual((contact.state, contact.sms_skip_reason), (state, reason))
            self.assertFalse(contact.sms_date)
        self.assertEqual((campaign.sms_sent_count, campaign.sms_skipped_count), (1, 3))
        self.assertFalse(conversation.queue_id, "not a contact waiting in the channel's queue")

        # a rerun of both actions sends nothing twice
        with freeze_time(T0 + timedelta(minutes=10)):
            self._send_step()
            self._run_queue()
        self.assertEqual(self._sent_to(), ["+48601100001"])
        self.assertEqual(len(self.env["sms.sms"].sudo().search([("number", "like", "+486011")])), 1)

        # 10:00 in New York: the far contact gets theirs, once
        with freeze_time(T0 + timedelta(hours=6)):
            self._send_step()
            self._run_queue()
            self._send_step()
            self._run_queue()
        self.assertEqual(self._sent_to(), ["+48601100001", "+48601100006"])
        far = self._contact(campaign, self.p_far)
        self.assertEqual((far.state, far.sms_skip_reason), ("done", False))
        self.assertEqual((campaign.sms_sent_count, campaign.sms_skipped_count), (2, 2))

    def test_marketing_campaign_needs_consent_at_send_time(self):
        campaign = self._campaign(self.p_ok | self.p_dnc, purpose="marketing")
        with freeze_time(T0):
            campaign.action_start()
            self.assertEqual(campaign.contact_ids.mapped("state"), ["pending", "pending"])
            # consent withdrawn after the list was built
            self.p_dnc.omnichannel_marketing_consent = False
            self._send_step()
            self._run_queue()
        self.assertEqual(self._sent_to(), ["+48601100001"])
        withdrawn = self._contact(campaign, self.p_dnc)
        self.assertEqual((withdrawn.state, withdrawn.excluded_reason), ("excluded", "no_consent"))
        self.assertEqual(withdrawn.sms_skip_reason, "no_consent")

    def test_contacts_not_reached_after_the_calls_get_one_sms(self):
        campaign = self._campaign(
            self.p_ok | self.p_dnc | self.p_black,
            sms_step="not_reached",
            sms_after_attempts=2,
            queue_id=self.queue_sales.id,
            channel_id=self.channel_phone.id,
        )
        with freeze_time(T0):
            campaign.action_start()
            self._contact(campaign, self.p_ok).write(
                {"attempt_count": 2, "last_outcome": "no_answer"}
            )
            # one attempt only; reached (promise to pay)
            self._contact(campaign, self.p_dnc).write(
                {"attempt_count": 1, "last_outcome": "no_answer"}
            )
            self._contact(campaign, self.p_black).write(
                {"attempt_count": 2, "last_outcome": "promise_to_pay"}
            )
            self._send_step()
            self._run_queue()
            self._send_step()
            self._run_queue()
        self.assertEqual(self._sent_to(), ["+48601100001"])
        ok = self._contact(campaign, self.p_ok)
        self.assertEqual(ok.state, "pending", "the calls go on: only the SMS was sent")
        self.assertTrue(ok.sms_date)
        self.assertEqual(campaign.sms_sent_count, 1)

    def test_the_action_sends_in_batches(self):
        campaign = self._campaign(self.p_ok | self.p_dnc)
        with freeze_time(T0):
            campaign.action_start()
            with patch.object(sms_campaign, "SMS_BATCH", 1):
                self._send_step()
                self.assertEqual(campaign.sms_sent_count, 1, "one per run")
                self._send_step()
                self.assertEqual(campaign.sms_sent_count, 2)
                self._send_step()
            self._run_queue()
        self.assertEqual(sorted(self._sent_to()), ["+48601100001", "+48601100005"])

    def test_reply_joins_the_campaign_conversation(self):
        campaign = self._campaign(self.p_ok)
        with freeze_time(T0):
            campaign.action_start()
            self._send_step()
            self._run_queue()
        conversation = self._contact(campaign, self.p_ok).sms_interaction_id
        self.assertTrue(conversation)
        with freeze_time(T0 + timedelta(minutes=30)):
            result = self.env["omnichannel.interaction"]._sms_receive(
                self.kannel,
                sms_providers.Inbound("kannel-reply-1", "48601100001", "48225550202", "Dziękuję"),
            )
        self.assertEqual(result["interaction_id"], conversation.id)
        self.assertEqual(result["partner_id"], self.p_ok.id)
        self.assertIn("Dziękuję", conversation.message_ids[0].body)
        # the customer answered: an agent of the channel's queue takes it now
        self.assertEqual(conversation.queue_id, self.kannel.queue_id)
        self.assertIn(conversation.state, ("queued", "offered"))
        self.assertTrue(conversation.date_queued)

    def test_agents_cannot_send_a_campaign(self):
        campaign = self._campaign(self.p_ok)
        with self.assertRaises(AccessError):
            campaign.with_user(self.agent_sales).action_start()
        with self.assertRaises(AccessError):
            campaign.with_user(self.agent_sales).write({"sms_step": "not_reached"})
        self._send_step()
        self.assertFalse(self._queued("+48601100001"), "a draft campaign sends nothing")

    def test_sms_campaign_needs_template_channel_and_no_queue(self):
        campaign = self._campaign(self.p_ok, sms_channel_id=False)
        with self.assertRaises(UserError):
            campaign.action_start()
        campaign.write({"sms_channel_id": self.kannel.id, "queue_id": self.queue_sales.id})
        with self.assertRaises(UserError):
            campaign.action_start()
        campaign.queue_id = False
        campaign.action_start()
        self.assertEqual(campaign.state, "running")
