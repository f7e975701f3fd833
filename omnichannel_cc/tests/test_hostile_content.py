"""Hostile customer text is shown as text, never run (issue 19).

Every string a customer controls (name, e-mail address and subject, message
body, attachment file name, case subject, notes) holds an HTML/JS payload
that would set ``window.__xss`` if a browser ran it. The records come in
through the normal paths: an e-mail from an unknown sender (which creates
the customer), a call through ``api_inbound``. Chromium then walks the
agent's console (systray, offer popup, screen-pop: cases and history, the
interaction form and its chatter) and the supervisor's wallboard and
report: at each step the payload must be visible as text and
``window.__xss`` must still be undefined.
"""

import base64
from email.message import EmailMessage

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"
IMG = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@tagged("post_install", "-at_install")
class TestHostileContentTour(OmnichannelCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tour_agent = new_test_user(
            cls.env, "occ_hostile_agent", groups=AGENT, name="Hostile Tour Agent"
        )
        cls.queue_sales.write(
            {"member_ids": [Command.set(cls.tour_agent.ids)], "ring_timeout": 600}
        )
        cls.mail_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Hostile mail",
                "channel_type": "email",
                "address": "hostile-test@example.com",
                "queue_id": cls.queue_sales.id,
                "email_create_partner": True,
            }
        )
        # an e-mail from an unknown sender: the customer is created from its
        # From name; subject, body and attachment name are all payloads
        mail = EmailMessage()
        mail["From"] = f'"{IMG}" <hostile.sender@example.com>'
        mail["To"] = "hostile-test@example.com"
        mail["Subject"] = f"{SCRIPT} subject"
        mail["Message-ID"] = "<hostile-1@example.com>"
        mail.set_content(f"Body {IMG} {SCRIPT} {SVG}")
        mail.add_attachment(PDF_BYTES, maintype="application", subtype="pdf", filename=f"{SVG}.pdf")
        cls.env["mail.thread"].message_process(
            "omnichannel.interaction",
            mail.as_bytes(),
            custom_values={"channel_id": cls.mail_channel.id},
        )
        Interaction = cls.env["omnichannel.interaction"]
        cls.mail = Interaction.search([("channel_id", "=", cls.mail_channel.id)])
        cls.customer = cls.mail.partner_id
        cls.mail.write({"notes": f"Note {SVG}"})
        # already handled by the agent (their history shows it): only the
        # call is offered in the tour
        cls.mail.write({"state": "active", "agent_id": cls.tour_agent.id})
        cls.mail.write({"state": "done"})
        cls.agent_record = cls.env["omnichannel.agent"]._for_user(cls.tour_agent)
        cls.agent_record._change_state("offline")
        # the same customer calls: identified by the number now on their card
        cls.customer.mobile = "+48 601 666 999"
        result = cls._inbound("hostile-call", "+48 601 666 999", subject=f"{SCRIPT} call")
        cls.call = Interaction.browse(result["interaction_id"])
        cls.case = cls.env["omnichannel.case"].create(
            {
                "partner_id": cls.customer.id,
                "subject": f"Case {SVG}",
                "description": f"<p>{IMG}</p>",
                "queue_id": cls.queue_sales.id,
            }
        )

    def test_records_hold_the_payloads(self):
        self.assertEqual(len(self.mail), 1)
        # named after the From header (its quotes and brackets dropped by the
        # parser: still a payload a browser would run)
        self.assertTrue(self.customer.name.startswith("<img src=x onerror="), self.customer.name)
        self.assertEqual(self.call.partner_id, self.customer)
        self.assertIn(SCRIPT, self.mail.subject)
        attachment = self.mail.message_ids.attachment_ids
        self.assertEqual(attachment.mapped("name"), [f"{SVG}.pdf"])
        self.assertIn(base64.b64encode(PDF_BYTES), attachment.datas)

    def test_agent_sees_payloads_as_text(self):
        self.start_tour("/odoo", "omnichannel_cc_hostile_agent_tour", login="occ_hostile_agent")
        self.call.invalidate_recordset()
        self.assertEqual(self.call.state, "active")
        self.assertEqual(self.call.agent_id, self.tour_agent)

    def test_supervisor_sees_payloads_as_text(self):
        self.start_tour(
            "/odoo/omnichannel-wallboard",
            "omnichannel_cc_hostile_wallboard_tour",
            login="occ_supervisor_sales",
        )
        self.start_tour(
            "/odoo/action-omnichannel_cc.omnichannel_interaction_report_action?view_type=list",
            "omnichannel_cc_hostile_report_tour",
            login="occ_supervisor_sales",
        )
