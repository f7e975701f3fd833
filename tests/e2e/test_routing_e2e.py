"""The product brief end to end over XML-RPC: a debtor calling the sales
line is offered to Collections; a customer with an open case to its owner."""

import uuid

import pytest

pytestmark = pytest.mark.e2e


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def brief(odoo_server, poland):
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    group = rpc.ref("omnichannel_cc.group_omnichannel_agent")

    def agent(name):
        login = unique(name)
        user_id = rpc.call(
            "res.users",
            "create",
            {"name": name, "login": login, "password": login, "groups_id": [(6, 0, [group])]},
        )
        rpc.call("omnichannel.agent", "create", {"user_id": user_id, "state": "available"})
        return user_id

    seller, collector, owner = agent("Seller"), agent("Collector"), agent("Case owner")
    sales = rpc.call(
        "omnichannel.queue", "create", {"name": unique("Sales"), "member_ids": [(6, 0, [seller])]}
    )
    collections = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique("Collections"), "member_ids": [(6, 0, [collector])]},
    )
    line = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Sales line", "channel_type": "phone", "address": line, "queue_id": sales},
    )
    rpc.call(
        "omnichannel.routing.rule",
        "create",
        {"name": "Case owner", "sequence": 1, "require_open_case": True, "prefer": "case_owner"},
    )
    rpc.call(
        "omnichannel.routing.rule",
        "create",
        {
            "name": "Debtors",
            "sequence": 2,
            "channel_ids": [(6, 0, [channel])],
            "min_overdue_amount": 0.01,
            "queue_id": collections,
        },
    )
    return {
        "line": line,
        "sales": sales,
        "collections": collections,
        "seller": seller,
        "collector": collector,
        "owner": owner,
    }


def customer(rpc, poland, name, mobile):
    return rpc.call("res.partner", "create", {"name": name, "country_id": poland, "mobile": mobile})


def call_in(rpc, line, sender):
    return rpc.call(
        "omnichannel.interaction",
        "api_inbound",
        {"channel_type": "phone", "channel": line, "from": sender, "external_id": unique("c")},
    )


def test_debtor_goes_to_collections(odoo_server, brief, poland):
    rpc = odoo_server
    debtor = customer(rpc, poland, "Dłużnik Sp. z o.o.", "+48 605 100 200")
    invoice = rpc.call(
        "account.move",
        "create",
        {
            "move_type": "out_invoice",
            "partner_id": debtor,
            "invoice_date": "2026-01-05",
            "invoice_date_due": "2026-01-20",
            "invoice_line_ids": [(0, 0, {"name": "Polisa", "quantity": 1, "price_unit": 950.0})],
        },
    )
    rpc.call("account.move", "action_post", [invoice])
    result = call_in(rpc, brief["line"], "0048 605-100-200")
    assert result["partner_id"] == debtor
    assert result["queue_id"] == brief["collections"]
    assert result["state"] == "offered"
    assert result["agent_id"] == brief["collector"]
    pop = rpc.call("res.partner", "omnichannel_screen_pop", [debtor])
    assert pop["has_overdue"] and pop["overdue_amount"] == pytest.approx(950.0)

    payer = customer(rpc, poland, "Płatnik", "+48 605 100 300")
    result = call_in(rpc, brief["line"], "605 100 300")
    assert result["partner_id"] == payer
    assert result["queue_id"] == brief["sales"]
    assert result["agent_id"] == brief["seller"]


def test_open_case_reaches_its_owner(odoo_server, brief, poland):
    rpc = odoo_server
    client = customer(rpc, poland, "Klient ze sprawą", "+48 605 100 400")
    rpc.call(
        "omnichannel.case",
        "create",
        {"subject": "Szkoda", "partner_id": client, "user_id": brief["owner"], "state": "open"},
    )
    result = call_in(rpc, brief["line"], "+48 605 100 400")
    assert result["state"] == "offered"
    assert result["agent_id"] == brief["owner"]
