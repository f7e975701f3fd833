"""The agent console's offer of a phone call: answered on the desk phone when
the PBX rings the agent's extension, accepted in the web client otherwise."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import OmnichannelVoipCommon


@tagged("post_install", "-at_install")
class TestConsoleOffer(OmnichannelVoipCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent.write({"omnichannel_extension": "2001", "omnichannel_softphone": False})

    def _offer(self, channel, direction="inbound", address="+3222903491"):
        """An interaction offered to the agent as the ACD offers it."""
        now = fields.Datetime.now()
        # sudo: the ACD's own writes (interaction, state, offer)
        interaction = (
            self.env["omnichannel.interaction"]
            .sudo()
            .create(
                {
                    "channel_id": channel.id,
                    "direction": direction,
                    "contact_address": address,
                    "queue_id": self.queue.id,
                    "state": "queued",
                }
            )
        )
        interaction._set_state("offered", agent_id=self.agent.id, date_offered=now)
        return (
            self.env["omnichannel.offer"]
            .sudo()
            .create(
                {
                    "interaction_id": interaction.id,
                    "user_id": self.agent.id,
                    "queue_id": self.queue.id,
                    "date_offered": now,
                    "date_expire": now + timedelta(seconds=30),
                }
            )
        )

    def _answer_on_phone(self, offer):
        """What the agent's console says of the offer, and the bus message too."""
        state = self.env["omnichannel.agent"].with_user(self.agent).action_console_state()
        [row] = [row for row in state["offers"] if row["offer_id"] == offer.id]
        pushed = offer._bus_payload()["answer_on_phone"]
        self.assertEqual(row["answer_on_phone"], pushed)
        return row["answer_on_phone"]

    def test_inbound_call_rings_the_desk_phone(self):
        offer = self._offer(self.phone_channel)
        self.assertIs(self._answer_on_phone(offer), True)

    def test_inbound_call_rings_the_browser_softphone(self):
        self.agent.omnichannel_softphone = True
        offer = self._offer(self.phone_channel)
        self.assertIs(self._answer_on_phone(offer), False)

    def test_agent_without_extension_accepts_in_the_popup(self):
        self.agent.omnichannel_extension = False
        offer = self._offer(self.phone_channel)
        self.assertIs(self._answer_on_phone(offer), False)

    def test_outbound_call_is_accepted_then_dialled(self):
        # a call-back or a campaign call: the agent takes it in Odoo, then calls
        offer = self._offer(self.phone_channel, direction="outbound")
        self.assertIs(self._answer_on_phone(offer), False)

    def test_other_channels_are_accepted_in_the_popup(self):
        offer = self._offer(self.email_channel, address="customer@example.com")
        self.assertIs(self._answer_on_phone(offer), False)
