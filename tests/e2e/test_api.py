"""The public API of omnichannel_cc over XML-RPC, against a real server."""

import threading
import uuid
import xmlrpc.client

import pytest

pytestmark = pytest.mark.e2e

# xmlrpc/2 fault codes (odoo/addons/base/controllers/rpc.py)
FAULT_WARNING = 2  # UserError, ValidationError
FAULT_ACCESS_ERROR = 4

JAN_PHONE = "601 234 567"  # national, read in Poland
JAN_E164 = "+48601234567"
EWA_E164 = "+48602345678"
INBOUND_LINE = "+48221234567"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def data(odoo_server, poland):
    """Customers, a queue and a phone channel, created once over XML-RPC."""
    rpc = odoo_server
    # National numbers are read in the companies' countries.
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    jan = rpc.call(
        "res.partner",
        "create",
        {"name": "Jan Kowalski", "country_id": poland, "phone": JAN_PHONE},
    )
    company = rpc.call(
        "res.partner",
        "create",
        {"name": "Kowalski Sp. z o.o.", "is_company": True, "country_id": poland},
    )
    ewa = rpc.call(
        "res.partner",
        "create",
        {
            "name": "Ewa Nowak",
            "parent_id": company,
            "country_id": poland,
            "mobile": "+48 (602) 345-678",
        },
    )
    anna = rpc.call(
        "res.partner", "create", {"name": "Anna Nowak", "email": "Anna.Nowak@Example.com"}
    )
    queue = rpc.call("omnichannel.queue", "create", {"name": unique("Sales")})
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Sales line",
            "channel_type": "phone",
            "address": INBOUND_LINE,
            "queue_id": queue,
        },
    )
    return {
        "jan": jan,
        "company": company,
        "ewa": ewa,
        "anna": anna,
        "queue": queue,
        "channel": channel,
    }


def inbound(rpc, external_id, sender="+48 601 234 567", channel=INBOUND_LINE, **kwargs):
    payload = {
        "channel_type": "phone",
        "channel": channel,
        "from": sender,
        "external_id": external_id,
        "subject": "Question about my invoice",
    }
    return rpc.call("omnichannel.interaction", "api_inbound", payload, **kwargs)


# ---------------------------------------------------------------------------
# Caller identification
# ---------------------------------------------------------------------------
def test_partner_phone_stored_in_e164(odoo_server, data):
    rows = odoo_server.call(
        "res.partner",
        "read",
        [data["jan"], data["ewa"]],
        fields=["phone_e164", "mobile_e164"],
    )
    by_id = {row["id"]: row for row in rows}
    assert by_id[data["jan"]]["phone_e164"] == JAN_E164
    assert by_id[data["ewa"]]["mobile_e164"] == EWA_E164


@pytest.mark.parametrize(
    "address",
    ["+48 601-234-567", "0048601234567", "601 234 567", "(+48) 601.234.567", "48601234567"],
)
def test_identify_phone_formats(odoo_server, data, address):
    found = odoo_server.call("res.partner", "omnichannel_identify", address)
    assert found, f"nobody found for {address}"
    assert found[0]["id"] == data["jan"]
    assert set(found[0]) == {"id", "name", "commercial_partner_id"}
    assert found[0]["name"] == "Jan Kowalski"
    assert found[0]["commercial_partner_id"] == data["jan"]


def test_identify_mobile_of_company_contact(odoo_server, data):
    found = odoo_server.call("res.partner", "omnichannel_identify", "+48 602 345 678", "phone")
    assert [row["id"] for row in found] == [data["ewa"]]
    assert found[0]["commercial_partner_id"] == data["company"]


@pytest.mark.parametrize("address", ["ANNA.NOWAK@example.com", "Anna <anna.nowak@EXAMPLE.com>"])
def test_identify_email(odoo_server, data, address):
    found = odoo_server.call("res.partner", "omnichannel_identify", address, channel_type="email")
    assert [row["id"] for row in found] == [data["anna"]]


def test_identify_nobody(odoo_server, data):
    assert odoo_server.call("res.partner", "omnichannel_identify", "+48 699 999 999") == []


@pytest.mark.parametrize("address", ["hello", "12"])
def test_identify_garbage_is_a_validation_error(odoo_server, data, address):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        odoo_server.call("res.partner", "omnichannel_identify", address)
    assert fault.value.faultCode == FAULT_WARNING, fault.value.faultString
    assert address in fault.value.faultString


# ---------------------------------------------------------------------------
# Screen-pop
# ---------------------------------------------------------------------------
def test_screen_pop(odoo_server, data):
    result = inbound(odoo_server, unique("pop"))
    pop = odoo_server.call("res.partner", "omnichannel_screen_pop", [data["jan"]])
    expected = {
        "partner",
        "commercial_partner",
        "invoices",
        "overdue_amount",
        "total_due",
        "currency",
        "sale_orders",
        "cases",
        "interactions",
    }
    assert expected <= set(pop), f"missing keys {expected - set(pop)}"
    assert pop["partner"]["id"] == data["jan"]
    assert pop["commercial_partner"]["id"] == data["jan"]
    assert isinstance(pop["invoices"], list)
    assert isinstance(pop["sale_orders"], list)
    assert isinstance(pop["cases"], list)
    assert pop["overdue_amount"] == 0
    assert pop["total_due"] == 0
    assert result["interaction_id"] in [row["id"] for row in pop["interactions"]]


# ---------------------------------------------------------------------------
# Inbound API
# ---------------------------------------------------------------------------
def test_api_inbound_creates_interaction(odoo_server, data):
    result = inbound(odoo_server, unique("call"))
    assert set(result) == {"interaction_id", "partner_id", "queue_id", "agent_id", "state"}
    assert isinstance(result["interaction_id"], int) and result["interaction_id"] > 0
    assert result["partner_id"] == data["jan"]
    assert result["queue_id"] == data["queue"]
    assert result["agent_id"] is False or isinstance(result["agent_id"], int)
    assert isinstance(result["state"], str) and result["state"]
    record = odoo_server.call(
        "omnichannel.interaction",
        "read",
        [result["interaction_id"]],
        fields=["channel_id", "partner_id", "queue_id", "direction"],
    )[0]
    assert record["channel_id"][0] == data["channel"]
    assert record["partner_id"][0] == data["jan"]
    assert record["direction"] == "inbound"


def test_api_inbound_unknown_caller(odoo_server, data):
    result = inbound(odoo_server, unique("anon"), sender="+48 699 888 777")
    assert result["partner_id"] is False
    assert result["queue_id"] == data["queue"]


def test_api_inbound_is_idempotent(odoo_server, data):
    external_id = unique("call")
    first = inbound(odoo_server, external_id)
    second = inbound(odoo_server, external_id)
    assert second["interaction_id"] == first["interaction_id"]
    count = odoo_server.call(
        "omnichannel.interaction", "search_count", [("external_id", "=", external_id)]
    )
    assert count == 1


def test_api_inbound_unknown_channel(odoo_server, data):
    external_id = unique("nochannel")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        inbound(odoo_server, external_id, channel="+48 22 999 99 99")
    assert fault.value.faultCode == FAULT_WARNING, fault.value.faultString
    count = odoo_server.call(
        "omnichannel.interaction", "search_count", [("external_id", "=", external_id)]
    )
    assert count == 0


@pytest.mark.parametrize("sender", ["xyz", "12", ""])
def test_api_inbound_bad_sender(odoo_server, data, sender):
    external_id = unique("bad")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        inbound(odoo_server, external_id, sender=sender)
    assert fault.value.faultCode == FAULT_WARNING, fault.value.faultString
    count = odoo_server.call(
        "omnichannel.interaction", "search_count", [("external_id", "=", external_id)]
    )
    assert count == 0


def test_api_inbound_race(odoo_server, data):
    """8 concurrent pushes of one call (2 workers): one interaction, one id."""
    external_id = unique("race")
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results, errors = [], []
    lock = threading.Lock()

    def push():
        try:
            barrier.wait(timeout=30)
            result = inbound(odoo_server, external_id)
        except Exception as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(error))
        else:
            with lock:
                results.append(result["interaction_id"])

    threads = [threading.Thread(target=push) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a push never returned"
    assert not errors, errors
    assert len(results) == threads_count
    assert len(set(results)) == 1, results
    count = odoo_server.call(
        "omnichannel.interaction", "search_count", [("external_id", "=", external_id)]
    )
    assert count == 1


# ---------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------
def test_agent_sees_only_own_queue(odoo_server, data):
    rpc = odoo_server
    agent_group = rpc.ref("omnichannel_cc.group_omnichannel_agent")
    login = unique("agent")
    password = unique("pw")
    agent = rpc.call(
        "res.users",
        "create",
        {
            "name": "Agent Test",
            "login": login,
            "password": password,
            "groups_id": [(6, 0, [agent_group])],
        },
    )
    own_queue = rpc.call(
        "omnichannel.queue", "create", {"name": unique("Support"), "member_ids": [(6, 0, [agent])]}
    )
    own_line = "+48 22 555 00 01"
    rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Support line",
            "channel_type": "phone",
            "address": own_line,
            "queue_id": own_queue,
        },
    )
    mine = inbound(rpc, unique("own"), channel=own_line)["interaction_id"]
    other = inbound(rpc, unique("other"))["interaction_id"]

    agent_uid = rpc.login(login, password)
    as_agent = {"uid": agent_uid, "password": password}
    visible = rpc.call(
        "omnichannel.interaction", "search", [("id", "in", [mine, other])], **as_agent
    )
    assert visible == [mine]
    assert (
        rpc.call(
            "omnichannel.interaction", "search", [("queue_id", "=", data["queue"])], **as_agent
        )
        == []
    )
    with pytest.raises(xmlrpc.client.Fault) as fault:
        rpc.call("omnichannel.interaction", "read", [other], fields=["name"], **as_agent)
    assert fault.value.faultCode == FAULT_ACCESS_ERROR, fault.value.faultString
    # and an agent may not push inbound contacts (integration users are managers)
    with pytest.raises(xmlrpc.client.Fault):
        inbound(rpc, unique("byagent"), **as_agent)
