"""Security review H3 (issue 13), over XML-RPC against a real server: an agent
changes her interactions only through the actions; the state, agent, queue,
times and links to records she may not read are refused, and nothing is
written."""

import random
import uuid
import xmlrpc.client

import pytest

pytestmark = pytest.mark.e2e

FAULT_ACCESS_ERROR = 4  # odoo/addons/base/controllers/rpc.py
STAMPS = ["state", "agent_id", "queue_id", "date_queued", "date_answered", "wait_duration"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def phone_number():
    return f"+4822{random.randint(1000000, 9999999)}"


@pytest.fixture(scope="module")
def h3(odoo_server, poland):
    """Two agents of one queue, another queue, a customer and her call."""
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    agent_group = rpc.ref("omnichannel_cc.group_omnichannel_agent")
    users = {}
    for name in ("anna", "bartek"):
        login, password = unique(f"h3-{name}"), unique("pw")
        user_id = rpc.call(
            "res.users",
            "create",
            {
                "name": f"H3 {name}",
                "login": login,
                "password": password,
                "groups_id": [(6, 0, [agent_group])],
            },
        )
        users[name] = {"id": user_id, "uid": rpc.login(login, password), "password": password}
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique("H3"), "member_ids": [(6, 0, [u["id"] for u in users.values()])]},
    )
    other_queue = rpc.call("omnichannel.queue", "create", {"name": unique("H3 other")})
    line = phone_number()
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "H3 line", "channel_type": "phone", "address": line, "queue_id": queue},
    )
    customer_phone = phone_number()
    customer = rpc.call(
        "res.partner",
        "create",
        {"name": "H3 Customer", "country_id": poland, "phone": customer_phone},
    )
    return {
        "users": users,
        "queue": queue,
        "other_queue": other_queue,
        "channel": channel,
        "line": line,
        "customer": customer,
        "customer_phone": customer_phone,
    }


def as_user(rpc, user, model, method, *args, **kwargs):
    return rpc.call(model, method, *args, uid=user["uid"], password=user["password"], **kwargs)


def answered_call(rpc, h3):
    """A call of the customer, waiting in the queue, answered by Anna."""
    result = rpc.call(
        "omnichannel.interaction",
        "api_inbound",
        {
            "channel_type": "phone",
            "channel": h3["line"],
            "from": h3["customer_phone"],
            "external_id": unique("h3-call"),
        },
    )
    call = result["interaction_id"]
    as_user(rpc, h3["users"]["anna"], "omnichannel.interaction", "action_answer", [call])
    return call


def snapshot(rpc, call):
    (row,) = rpc.call(
        "omnichannel.interaction",
        "read",
        [call],
        fields=[*STAMPS, "case_id", "sale_order_id", "notes"],
    )
    return row


def refused(rpc, user, method, *args, field=None):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        as_user(rpc, user, "omnichannel.interaction", method, *args)
    assert fault.value.faultCode == FAULT_ACCESS_ERROR, fault.value.faultString
    if field:
        assert field in fault.value.faultString


def test_h3_agent_cannot_fake_kpis_or_requeue_over_xmlrpc(odoo_server, h3):
    rpc, anna = odoo_server, h3["users"]["anna"]
    call = answered_call(rpc, h3)
    before = snapshot(rpc, call)
    assert before["state"] == "active"
    assert before["agent_id"][0] == anna["id"]
    answered = before["date_answered"]
    refused(rpc, anna, "write", [call], {"date_queued": answered}, field="date_queued")
    refused(rpc, anna, "write", [call], {"date_answered": answered, "notes": "x"})
    refused(rpc, anna, "write", [call], {"queue_id": h3["other_queue"]}, field="queue_id")
    refused(rpc, anna, "write", [call], {"state": "queued", "agent_id": False}, field="state")
    assert snapshot(rpc, call) == before


def test_h3_agent_cannot_put_work_on_another_console_over_xmlrpc(odoo_server, h3):
    rpc, anna, bartek = odoo_server, h3["users"]["anna"], h3["users"]["bartek"]
    call = answered_call(rpc, h3)
    before = snapshot(rpc, call)
    refused(rpc, anna, "write", [call], {"agent_id": bartek["id"]}, field="agent_id")
    subject = unique("h3-planted")
    refused(
        rpc,
        anna,
        "create",
        {
            "channel_id": h3["channel"],
            "queue_id": h3["queue"],
            "agent_id": bartek["id"],
            "state": "active",
            "subject": subject,
        },
        field="agent_id",
    )
    assert snapshot(rpc, call) == before
    assert rpc.call("omnichannel.interaction", "search", [("subject", "=", subject)]) == []
    assert rpc.call("omnichannel.interaction", "search", [("agent_id", "=", bartek["id"])]) == []


def test_h3_agent_cannot_link_records_she_cannot_read_over_xmlrpc(odoo_server, h3):
    rpc, anna = odoo_server, h3["users"]["anna"]
    call = answered_call(rpc, h3)
    before = snapshot(rpc, call)
    # another customer's: an open case of this customer would be linked to her next calls
    other = rpc.call("res.partner", "create", {"name": unique("H3 other customer")})
    case = rpc.call(
        "omnichannel.case",
        "create",
        {"subject": "Other team's", "partner_id": other, "queue_id": h3["other_queue"]},
    )
    order = rpc.call("sale.order", "create", {"partner_id": other})
    refused(rpc, anna, "write", [call], {"case_id": case})
    refused(rpc, anna, "write", [call], {"sale_order_id": order})
    assert snapshot(rpc, call) == before


def test_h3_agent_still_handles_her_call_over_xmlrpc(odoo_server, h3):
    rpc, anna = odoo_server, h3["users"]["anna"]
    call = answered_call(rpc, h3)
    as_user(rpc, anna, "omnichannel.interaction", "action_hold", [call])
    as_user(rpc, anna, "omnichannel.interaction", "action_resume", [call])
    as_user(rpc, anna, "omnichannel.interaction", "write", [call], {"notes": "Wants an offer"})
    case = as_user(
        rpc,
        anna,
        "omnichannel.case",
        "create",
        {"subject": "Offer", "partner_id": h3["customer"], "queue_id": h3["queue"]},
    )
    as_user(rpc, anna, "omnichannel.interaction", "write", [call], {"case_id": case})
    as_user(rpc, anna, "omnichannel.interaction", "action_end", [call])
    resolved = rpc.ref("omnichannel_cc.disposition_resolved")
    as_user(
        rpc, anna, "omnichannel.interaction", "action_console_close", [call], resolved, "Offer sent"
    )
    row = snapshot(rpc, call)
    assert row["state"] == "done"
    assert row["case_id"][0] == case
    assert row["notes"] == "Offer sent"
