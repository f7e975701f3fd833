import base64

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.mail.tests.common import MailCase

from .common import OmnichannelCommon

MAIL_PLAIN = """Return-Path: {return_path}
To: {to}
cc: {cc}
From: {email_from}
Subject: {subject}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Date: Fri, 10 Aug 2012 14:16:26 +0000
Message-ID: {msg_id}
{extra}
Hello, my car was damaged yesterday. Please call me back.
"""

MAIL_WITH_ATTACHMENT = """Return-Path: {return_path}
To: {to}
cc: {cc}
From: {email_from}
Subject: {subject}
MIME-Version: 1.0
Date: Fri, 10 Aug 2012 14:16:26 +0000
Message-ID: {msg_id}
Content-Type: multipart/mixed; boundary="BOUNDARY-42"
{extra}
--BOUNDARY-42
Content-Type: text/plain; charset=utf-8

{body}
--BOUNDARY-42
Content-Type: {attachment_type}; name="{attachment_name}"
Content-Disposition: attachment; filename="{attachment_name}"
Content-Transfer-Encoding: base64

{attachment_b64}
--BOUNDARY-42--
"""

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class EmailChannelCommon(OmnichannelCommon, MailCase):
    """Omnichannel fixtures plus Odoo's mail gateway helpers (MailCase).

    Outgoing SMTP is mocked by ``mock_mail_gateway`` (no SMTP server in module
    tests; the repo's e2e test sends through a real one)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._init_mail_gateway()
        cls._init_mail_servers()
        cls.env["ir.config_parameter"].set_param("mail.restrict.template.rendering", False)
        cls.ack_template = cls.env.ref("omnichannel_cc.mail_template_email_ack")
        cls.channel_email.email_ack_template_id = cls.ack_template
        cls.claims_alias = cls.channel_email.alias_email
        cls.env["omnichannel.agent"]._for_user(cls.agent_claims)._change_state("available")

    def _deliver(self, email_from, subject="Car damage", to=None, template=MAIL_PLAIN, **kwargs):
        """Process one raw mail through the real gateway (``message_process``)."""
        return self.format_and_process(
            template,
            email_from,
            to or self.claims_alias,
            subject=subject,
            target_model="omnichannel.interaction",
            target_field="subject",
            **kwargs,
        )

    def _interactions(self, channel=None):
        return self.env["omnichannel.interaction"].search(
            [("channel_id", "=", (channel or self.channel_email).id)]
        )


@tagged("post_install", "-at_install")
class TestChannelEmail(EmailChannelCommon):
    def test_channel_alias_is_its_address(self):
        channel = self.channel_email
        self.assertTrue(channel.alias_id)
        self.assertEqual(channel.alias_email, "claims-test@example.com")
        self.assertEqual(channel.alias_id.alias_model_id.model, "omnichannel.interaction")
        self.assertIn(str(channel.id), channel.alias_defaults)
        # renaming the alias renames the address, and the other way round
        channel.alias_name = "claims-renamed"
        self.assertEqual(channel.address, "claims-renamed@example.com")
        channel.address = "Szkody@Example.com"
        self.assertEqual(channel.alias_name, "szkody")
        self.assertEqual(channel.alias_email, "szkody@example.com")
        # a channel created on a new domain gets that alias domain
        other = self.env["omnichannel.channel"].create(
            {
                "name": "Other mail",
                "channel_type": "email",
                "address": "help@other-domain.example",
                "queue_id": self.queue_sales.id,
            }
        )
        self.assertEqual(other.alias_email, "help@other-domain.example")
        # a phone channel has no alias
        self.assertFalse(self.channel_phone.alias_id)

    def test_new_email_creates_routed_interaction_on_customer(self):
        with self.mock_mail_gateway():
            interaction = self._deliver("Jan <JAN.TESTOWY@tartak-test.EXAMPLE>")
        self.assertEqual(len(interaction), 1)
        self.assertEqual(interaction.channel_id, self.channel_email)
        self.assertEqual(interaction.partner_id, self.customer_contact)
        self.assertEqual(interaction.contact_address, "jan.testowy@tartak-test.example")
        self.assertEqual(interaction.queue_id, self.queue_claims)
        # routed through the ACD: offered to the available claims agent
        self.assertEqual(interaction.state, "offered")
        self.assertEqual(interaction.offer_ids.user_id, self.agent_claims)
        message = interaction.message_ids.filtered(lambda m: m.message_type == "email")
        self.assertEqual(len(message), 1)
        self.assertEqual(message.author_id, self.customer_contact)
        self.assertIn("my car was damaged", message.body)
        self.assertEqual(message.subject, "Car damage")
        self.assertIn(self.customer_contact, interaction.message_partner_ids)

    def test_redelivery_is_idempotent(self):
        msg_id = "<redelivered-1@tartak-test.example>"
        with self.mock_mail_gateway():
            first = self._deliver(self.customer_contact.email, msg_id=msg_id)
            raw = self.format(
                MAIL_PLAIN,
                to=self.claims_alias,
                subject="Car damage",
                email_from=self.customer_contact.email,
                msg_id=msg_id,
            )
            self.env["mail.thread"].sudo().message_process(None, raw)
        self.assertEqual(self._interactions(), first)
        self.assertEqual(len(first.message_ids.filtered(lambda m: m.message_id == msg_id)), 1)
        # the adapter itself is idempotent too, even without the gateway's check
        msg_dict = {"message_id": msg_id, "email_from": self.customer_contact.email}
        again = (
            self.env["omnichannel.interaction"]
            .sudo()
            .message_new(msg_dict, {"channel_id": self.channel_email.id})
        )
        self.assertEqual(again, first)
        self.assertEqual(self._interactions(), first)

    def test_second_email_joins_open_interaction_and_reply_lands_on_it(self):
        with self.mock_mail_gateway():
            first = self._deliver(self.customer_contact.email, msg_id="<first@tartak>")
            self._deliver(
                self.customer_contact.email,
                subject="Photos of the damage",
                msg_id="<second@tartak>",
            )
        self.assertEqual(self._interactions(), first)
        self.assertEqual(
            set(first.message_ids.mapped("message_id")) & {"<first@tartak>", "<second@tartak>"},
            {"<first@tartak>", "<second@tartak>"},
        )
        # a reply by References lands on its interaction, even to a closed-channel address
        with self.mock_mail_gateway():
            self._deliver(
                self.customer_contact.email,
                subject="Re: something else",
                to="someone@elsewhere.example",
                msg_id="<third@tartak>",
                extra="References: <first@tartak>",
            )
        self.assertIn("<third@tartak>", first.message_ids.mapped("message_id"))
        self.assertEqual(self._interactions(), first)

    def test_reply_to_closed_interaction_opens_new_one_on_same_case(self):
        case = self.env["omnichannel.case"].create(
            {"subject": "Car claim", "partner_id": self.customer_contact.id}
        )
        with self.mock_mail_gateway():
            first = self._deliver(self.customer_contact.email, msg_id="<closed-1@tartak>")
        self.assertEqual(first.case_id, case, "the customer's open case is linked")
        first.with_user(self.agent_claims).action_answer()
        first.with_user(self.agent_claims).action_close()
        self.assertEqual(first.state, "done")
        with self.mock_mail_gateway():
            self._deliver(
                self.customer_contact.email,
                subject="Re: Car damage",
                msg_id="<closed-2@tartak>",
                extra="In-Reply-To: <closed-1@tartak>\nReferences: <closed-1@tartak>",
            )
        second = self._interactions() - first
        self.assertEqual(len(second), 1)
        self.assertEqual(first.state, "done", "the closed interaction stays closed")
        self.assertNotIn("<closed-2@tartak>", first.message_ids.mapped("message_id"))
        self.assertIn("<closed-2@tartak>", second.message_ids.mapped("message_id"))
        self.assertEqual(second.case_id, case)
        self.assertEqual(second.partner_id, self.customer_contact)
        self.assertIn(second.state, ("queued", "offered"))

    def test_attachments_kept(self):
        with self.mock_mail_gateway():
            interaction = self._deliver(
                self.customer_contact.email,
                template=MAIL_WITH_ATTACHMENT,
                body="Photos attached",
                attachment_type="image/png",
                attachment_name="damage.png",
                attachment_b64=base64.b64encode(b"\x89PNG fake image").decode(),
            )
        attachment = self.env["ir.attachment"].search(
            [("res_model", "=", interaction._name), ("res_id", "=", interaction.id)]
        )
        self.assertEqual(attachment.name, "damage.png")
        self.assertEqual(attachment.raw, b"\x89PNG fake image")
        self.assertIn(attachment, interaction.message_ids.attachment_ids)

    def test_acknowledgement_once_and_never_to_robots(self):
        with self.mock_mail_gateway():
            first = self._deliver(self.customer_contact.email, msg_id="<ack-1@tartak>")
            self._deliver(self.customer_contact.email, subject="More", msg_id="<ack-2@tartak>")
        acks = self._new_mails.filtered(lambda m: first.name in (m.subject or ""))
        self.assertEqual(len(acks), 1, "one acknowledgement per new interaction")
        self.assertEqual(acks.recipient_ids, self.customer_contact)
        self.assertIn("claims-test@example.com", acks.reply_to)

        # an out-of-office reply opens an interaction but gets no acknowledgement
        with self.mock_mail_gateway():
            robot = self._deliver(
                "Zofia <zofia@example.org>",
                subject="Out of office",
                extra="Auto-Submitted: auto-replied",
            )
        self.assertTrue(robot)
        self.assertFalse(self._new_mails.filtered(lambda m: robot.name in (m.subject or "")))
        # nor does mail from one of our own aliases
        with self.mock_mail_gateway():
            own = self._deliver(
                f"Catchall <{self.mail_alias_domain.catchall_email}>", subject="Loop?"
            )
        self.assertTrue(own)
        self.assertFalse(self._new_mails.filtered(lambda m: own.name in (m.subject or "")))

    def test_agent_reply_is_mailed_to_customer(self):
        with self.mock_mail_gateway():
            interaction = self._deliver(self.customer_contact.email)
        interaction.with_user(self.agent_claims).action_answer()
        with self.mock_mail_gateway():
            interaction.with_user(self.agent_claims).message_post(
                body="We will send an expert tomorrow.",
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        reply = self._new_mails.filtered(lambda m: "expert tomorrow" in (m.body_html or ""))
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.recipient_ids, self.customer_contact)
        sent_to = [email["email_to"] for email in self._mails]
        self.assertIn([self.customer_contact.email_formatted], sent_to)
        self.assertIn("claims-test@example.com", reply.reply_to)

    def test_unknown_sender_gets_a_contact(self):
        with self.mock_mail_gateway():
            interaction = self._deliver("Ewa Nieznana <Ewa.Nieznana@Example.org>")
        partner = interaction.partner_id
        self.assertTrue(partner)
        self.assertEqual(partner.name, "Ewa Nieznana")
        self.assertEqual(partner.email, "ewa.nieznana@example.org")
        self.assertIn(partner, interaction.message_partner_ids)
        # with the option off, no contact is created
        self.channel_email.email_create_partner = False
        with self.mock_mail_gateway():
            other = self._deliver("nobody@example.net", subject="Who am I")
        self.assertFalse(other.partner_id)
        self.assertEqual(other.contact_address, "nobody@example.net")
        self.assertFalse(self.env["res.partner"].search([("email", "=", "nobody@example.net")]))

    def test_email_joins_customers_open_case(self):
        case = self.env["omnichannel.case"].create(
            {"subject": "Invoice dispute", "partner_id": self.customer_company.id}
        )
        with self.mock_mail_gateway():
            interaction = self._deliver(self.customer_contact.email)
        self.assertEqual(interaction.case_id, case)

    def test_archived_channel_bounces(self):
        self.channel_email.active = False
        with self.mock_mail_gateway(), mute_logger("odoo.addons.mail.models.mail_thread"):
            self._deliver(self.customer_contact.email, subject="Anybody there?")
        self.assertFalse(self._interactions())
        bounce = self._new_mails.filtered(lambda m: "Anybody there?" in (m.subject or ""))
        self.assertEqual(len(bounce), 1, "the sender is told the mail was not delivered")

    def test_agent_of_another_queue_cannot_read(self):
        with self.mock_mail_gateway():
            interaction = self._deliver(self.customer_contact.email)
        interaction.with_user(self.agent_claims).read(["subject"])
        with self.assertRaises(AccessError):
            interaction.with_user(self.agent_sales).read(["subject"])
        with self.assertRaises(AccessError):
            self.env["ir.attachment"].with_user(self.agent_sales).create(
                {"name": "x.pdf", "res_model": interaction._name, "res_id": interaction.id}
            )


@tagged("post_install", "-at_install")
class TestChannelFax(EmailChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.alias_domain_id = cls.mail_alias_domain
        cls.channel_fax = cls.env["omnichannel.channel"].create(
            {
                "name": "Claims fax",
                "channel_type": "fax",
                "address": "+48 22 555 09 09",
                "queue_id": cls.queue_claims.id,
                "alias_name": "fax-in",
                "alias_domain_id": cls.mail_alias_domain.id,
                "fax_gateway_domain": "Fax.Example.com",
            }
        )
        cls.fax_alias = cls.channel_fax.alias_email
        cls.customer_company.write({"phone": "+48 22 123 45 67"})

    def _fax(self, email_from, subject, extra="", with_pdf=True):
        if with_pdf:
            return self._deliver(
                email_from,
                subject=subject,
                to=self.fax_alias,
                template=MAIL_WITH_ATTACHMENT,
                extra=extra,
                body="You received a fax (1 page).",
                attachment_type="application/pdf",
                attachment_name="fax-0001.pdf",
                attachment_b64=base64.b64encode(PDF_BYTES).decode(),
            )
        return self._deliver(email_from, subject=subject, to=self.fax_alias, extra=extra)

    def test_fax_alias_keeps_fax_number_as_address(self):
        self.assertEqual(self.fax_alias, f"fax-in@{self.alias_domain}")
        self.assertEqual(self.channel_fax.address_normalized, "+48225550909")

    def test_inbound_fax_sender_forms(self):
        forms = [
            ("+48221234567@fax.example.com", "Incoming document", ""),
            ("gateway@fax.example.com", "Fax from +48 22 123 45 67", ""),
            ("gateway@fax.example.com", "New fax", "X-Fax-From: 0048 22 123 45 67"),
            ("gateway@fax.example.com", "New national fax", "X-Fax-From: 22 123 45 67"),
        ]
        for index, (email_from, subject, extra) in enumerate(forms):
            with self.subTest(subject=subject), self.mock_mail_gateway():
                interaction = self._fax(email_from, f"[{index}] {subject}", extra=extra)
                self.assertEqual(interaction.channel_id, self.channel_fax)
                self.assertEqual(interaction.contact_address, "+48221234567")
                self.assertEqual(interaction.partner_id, self.customer_company)
                self.assertEqual(interaction.queue_id, self.queue_claims)
                self.assertIn(interaction.state, ("queued", "offered"))
                pdf = self.env["ir.attachment"].search(
                    [("res_model", "=", interaction._name), ("res_id", "=", interaction.id)]
                )
                self.assertEqual(pdf.mapped("name"), ["fax-0001.pdf"])
                self.assertEqual(pdf.raw, PDF_BYTES)
                # no acknowledgement or notification goes back to the gateway
                self.assertFalse(
                    self._new_mails.filtered(lambda m: "fax.example.com" in (m.email_to or ""))
                )

    def test_fax_without_pdf_is_flagged(self):
        with self.mock_mail_gateway():
            interaction = self._fax("+48221234567@fax.example.com", "Empty fax", with_pdf=False)
        self.assertEqual(interaction.channel_id, self.channel_fax)
        self.assertTrue(
            interaction.message_ids.filtered(lambda m: "no PDF attachment" in (m.body or ""))
        )

    def test_send_fax_from_interaction(self):
        with self.mock_mail_gateway():
            inbound = self._fax("+48221234567@fax.example.com", "Fax to answer")
        pdf = inbound.message_ids.attachment_ids
        wizard_form = Form(
            self.env["omnichannel.fax.send"]
            .with_user(self.agent_claims)
            .with_context(default_interaction_id=inbound.id)
        )
        self.assertEqual(wizard_form.channel_id, self.channel_fax)
        self.assertEqual(wizard_form.fax_number, "+48221234567")
        wizard_form.attachment_id = pdf
        wizard = wizard_form.save()
        with self.mock_mail_gateway():
            wizard.action_send()
        outbound = self._interactions(self.channel_fax).filtered(
            lambda i: i.direction == "outbound"
        )
        self.assertEqual(len(outbound), 1)
        self.assertEqual(outbound.partner_id, self.customer_company)
        self.assertEqual(outbound.contact_address, "+48221234567")
        self.assertEqual(outbound.agent_id, self.agent_claims)
        mail = self.env["mail.mail"].search([("email_to", "=", "48221234567@fax.example.com")])
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.attachment_ids.raw, PDF_BYTES)
        self.assertEqual(mail.attachment_ids.mimetype, "application/pdf")
        self.assertTrue(outbound.message_ids.filtered(lambda m: "sent to +48221234567" in m.body))
        self.assertTrue(inbound.message_ids.filtered(lambda m: outbound.name in (m.body or "")))

    def test_send_fax_report_from_partner(self):
        report = self.env.ref("account.account_invoices")
        wizard = (
            self.env["omnichannel.fax.send"]
            .with_context(default_partner_id=self.customer_company.id)
            .create({"source": "report", "report_id": report.id})
        )
        self.assertEqual(wizard.channel_id, self.channel_fax)
        self.assertEqual(wizard.fax_number, "+48 22 123 45 67")
        with self.assertRaisesRegex(UserError, "needs a record"):
            wizard.action_send()
        self.assertFalse(self.env["mail.mail"].search([("email_to", "like", "@fax.example.com")]))

    def test_send_fax_report_of_linked_invoice(self):
        invoice = self._create_invoice(self.customer_company, 120.0, due_days_ago=3)
        with self.mock_mail_gateway():
            inbound = self._fax("+48221234567@fax.example.com", "Where is my invoice")
        inbound.invoice_id = invoice
        wizard = (
            self.env["omnichannel.fax.send"]
            .with_context(default_interaction_id=inbound.id)
            .create({"source": "report", "report_id": self.env.ref("account.account_invoices").id})
        )
        wizard.action_send()
        mail = self.env["mail.mail"].search([("email_to", "=", "48221234567@fax.example.com")])
        self.assertEqual(len(mail), 1)
        self.assertTrue(mail.attachment_ids.name.endswith(".pdf"))
        self.assertIn(invoice.name.replace("/", "-"), mail.attachment_ids.name)
        self.assertTrue(mail.attachment_ids.raw)

    def test_send_fax_bad_number_sends_nothing(self):
        attachment = self.env["ir.attachment"].create(
            {
                "name": "offer.pdf",
                "raw": PDF_BYTES,
                "mimetype": "application/pdf",
                "res_model": "res.partner",
                "res_id": self.customer_plain.id,
            }
        )
        before = self.env["omnichannel.interaction"].search_count([])
        for number in ("12ab", "+48 1", ""):
            wizard = self.env["omnichannel.fax.send"].create(
                {
                    "partner_id": self.customer_plain.id,
                    "channel_id": self.channel_fax.id,
                    "fax_number": number or "x",
                    "attachment_id": attachment.id,
                }
            )
            with self.subTest(number=number), self.assertRaisesRegex(UserError, "not a fax number"):
                wizard.action_send()
        self.assertEqual(self.env["omnichannel.interaction"].search_count([]), before)
        self.assertFalse(self.env["mail.mail"].search([("email_to", "like", "@fax.example.com")]))
        # no gateway domain: clear error too
        self.channel_fax.fax_gateway_domain = False
        wizard.fax_number = "+48 22 123 45 67"
        with self.assertRaisesRegex(UserError, "no gateway domain"):
            wizard.action_send()
        channel_form = Form(self.channel_fax)
        channel_form.fax_gateway_domain = "not a domain"
        with self.assertRaises(ValidationError):
            channel_form.save()

    def test_send_fax_partner_pdf_creates_outbound_interaction(self):
        attachment = self.env["ir.attachment"].create(
            {
                "name": "offer.pdf",
                "raw": PDF_BYTES,
                "mimetype": "application/pdf",
                "res_model": "res.partner",
                "res_id": self.customer_plain.id,
            }
        )
        wizard = self.env["omnichannel.fax.send"].create(
            {
                "partner_id": self.customer_plain.id,
                "channel_id": self.channel_fax.id,
                "fax_number": "22 123 45 99",
                "attachment_id": attachment.id,
            }
        )
        wizard.action_send()
        outbound = self._interactions(self.channel_fax)
        self.assertEqual(outbound.partner_id, self.customer_plain)
        self.assertEqual(outbound.direction, "outbound")
        self.assertEqual(outbound.state, "done")
        mail = self.env["mail.mail"].search([("email_to", "=", "48221234599@fax.example.com")])
        self.assertEqual(mail.attachment_ids.name, "offer.pdf")
        self.assertEqual(mail.model, "omnichannel.interaction")
        self.assertEqual(mail.res_id, outbound.id)
