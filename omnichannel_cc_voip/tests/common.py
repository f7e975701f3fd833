from odoo.tests import TransactionCase, new_test_user

from ..tools import cti


def store_event(inbox, channel, payload):
    """Store one CTI event in the event inbox as ``/event`` does: parsed,
    keyed by its idempotency key, in its call's conversation (a keypad
    answer's key also holds its digits there: not for those)."""
    values = cti.parse_event(payload)
    return inbox._receive(
        channel,
        "_voip_event",
        f"voip:{channel.id}",
        cti.event_key(values),
        values["call_id"],
        values,
    )


class OmnichannelVoipCommon(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.be")
        cls.other_company = cls.env["res.company"].create(
            {"name": "Other Contact Center Company", "country_id": cls.env.ref("base.be").id}
        )
        cls.manager = new_test_user(
            cls.env,
            login="voip_manager",
            groups="omnichannel_cc.group_omnichannel_manager",
            company_ids=[(6, 0, (cls.company | cls.other_company).ids)],
        )
        cls.agent = new_test_user(
            cls.env,
            login="voip_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
        )
        cls.queue = cls.env["omnichannel.queue"].create(
            {"name": "Voice", "member_ids": [(6, 0, cls.agent.ids)]}
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
                "name": "Support mailbox",
                "channel_type": "email",
                "address": "support@example.com",
                "queue_id": cls.queue.id,
            }
        )
