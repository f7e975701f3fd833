import contextlib
from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.web.controllers import dataset

from ..models import omnichannel_queue


def record_web_client_calls(test):
    """The web client's RPCs (``/web/dataset/call_kw``) as the server of
    an HttpCase receives them, for the rest of ``test``: a list of
    ``(model, method, args)`` filled as they come."""
    calls = []
    original = dataset.call_kw

    def call_kw(model, method, args, kwargs):
        calls.append((model._name, method, args))
        return original(model, method, args, kwargs)

    test.patch(dataset, "call_kw", call_kw)
    return calls


class OmnichannelCommon(AccountTestInvoicingCommon):
    """Queues, channels, agents and customers; invoices on a real chart of accounts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # the accounting test user also runs the integration (api_inbound)
        cls.env.user.groups_id += cls.env.ref("omnichannel_cc.group_omnichannel_manager")
        cls.company = cls.env.company
        cls.poland = cls.env.ref("base.pl")
        cls.company.country_id = cls.poland

        group = "omnichannel_cc.group_omnichannel_"
        cls.agent_sales = new_test_user(
            cls.env, "occ_agent_sales", groups=group + "agent", name="Anna Sales"
        )
        cls.agent_claims = new_test_user(
            cls.env, "occ_agent_claims", groups=group + "agent", name="Tomasz Claims"
        )
        cls.supervisor_sales = new_test_user(
            cls.env, "occ_supervisor_sales", groups=group + "supervisor", name="Kasia Supervisor"
        )
        cls.manager = new_test_user(cls.env, "occ_manager", groups=group + "manager")
        cls.plain_user = new_test_user(cls.env, "occ_plain", groups="base.group_user")

        Queue = cls.env["omnichannel.queue"]
        cls.queue_sales = Queue.create(
            {
                "name": "Sales",
                "code": "T_SALES",
                "member_ids": [Command.set(cls.agent_sales.ids)],
                "supervisor_ids": [Command.set(cls.supervisor_sales.ids)],
            }
        )
        cls.queue_claims = Queue.create(
            {
                "name": "Claims",
                "code": "T_CLAIMS",
                "member_ids": [Command.set(cls.agent_claims.ids)],
            }
        )
        Channel = cls.env["omnichannel.channel"]
        cls.channel_phone = Channel.create(
            {
                "name": "Sales line",
                "channel_type": "phone",
                "address": "+48 22 555 01 01",
                "queue_id": cls.queue_sales.id,
            }
        )
        cls.channel_email = Channel.create(
            {
                "name": "Claims mail",
                "channel_type": "email",
                "address": "claims-test@example.com",
                "queue_id": cls.queue_claims.id,
            }
        )

        Partner = cls.env["res.partner"]
        cls.customer_company = Partner.create(
            {
                "name": "Tartak Test Sp. j.",
                "is_company": True,
                "country_id": cls.poland.id,
                "phone": "12 399 88 77",
                "email": "biuro@tartak-test.example",
            }
        )
        cls.customer_contact = Partner.create(
            {
                "name": "Jan Testowy",
                "parent_id": cls.customer_company.id,
                "country_id": cls.poland.id,
                "mobile": "609 876 543",
                "email": "Jan.Testowy@Tartak-Test.example",
            }
        )
        cls.customer_plain = Partner.create(
            {"name": "Zofia Bez Długów", "country_id": cls.poland.id, "mobile": "+48 509 333 444"}
        )

    @contextlib.contextmanager
    def _wallboard_pushed_just_now(self):
        """The company's wallboards pushed by this process a moment ago, for
        as long as the block lasts: the wallboard push is rate-limited by the
        clock (one per PUSH_INTERVAL), so without this a query count that
        includes a transaction's precommit hooks depends on how long the test
        took (a slow machine lets the window pass: a push, two statements
        more). It is the usual case of a busy center: the push skipped
        without asking PostgreSQL."""
        seen = {(self.env.cr.dbname, self.company.id): fields.Datetime.now()}
        with (
            patch.object(omnichannel_queue, "PUSH_INTERVAL", 3600),
            patch.dict(omnichannel_queue._LAST_PUSH_SEEN, seen),
        ):
            yield

    @classmethod
    def _create_invoice(cls, partner, amount, due_days_ago, post=True, invoice_days_ago=None):
        today = fields.Date.context_today(cls.env["res.partner"])
        invoice_days_ago = due_days_ago + 14 if invoice_days_ago is None else invoice_days_ago
        move = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": today - timedelta(days=invoice_days_ago),
                "invoice_date_due": today - timedelta(days=due_days_ago),
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Polisa", "quantity": 1, "price_unit": amount, "tax_ids": []}
                    )
                ],
            }
        )
        if post:
            move.action_post()
        return move

    @classmethod
    def _payload(cls, external_id, sender, channel=None, **extra):
        channel = channel or cls.channel_phone
        return dict(
            {
                "channel_type": channel.channel_type,
                "channel": channel.address,
                "from": sender,
                "external_id": external_id,
            },
            **extra,
        )

    @classmethod
    def _inbound(cls, external_id, sender, channel=None, env=None, **extra):
        env = env or cls.env
        payload = cls._payload(external_id, sender, channel=channel, **extra)
        return env["omnichannel.interaction"].api_inbound(payload)
