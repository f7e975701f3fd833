"""E-mail channel end to end: a raw RFC 822 message enters through Odoo's mail
gateway entry point over XML-RPC (``mail.thread.message_process``, exactly what
Odoo's ``mailgate`` script calls), an agent answers, and the answer leaves
through a real SMTP server (aiosmtpd on 127.0.0.1) into a Maildir the test
reads. The customer's reply to that mail comes back through the gateway and
lands on the same interaction."""

import importlib.util
import mailbox
import socket
import subprocess
import sys
import time
import uuid
import xmlrpc.client
from email import message_from_bytes, policy
from email.utils import make_msgid

import pytest

from tests.e2e.conftest import free_port, stop

pytestmark = pytest.mark.e2e

CUSTOMER = "marta.e2e@customer.example"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory):
    """A real SMTP server program (aiosmtpd) storing every message in a Maildir."""
    if importlib.util.find_spec("aiosmtpd") is None:
        pytest.fail("aiosmtpd is missing: pip install -r requirements.txt", pytrace=False)
    maildir = tmp_path_factory.mktemp("smtp") / "Maildir"
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                assert sock.recv(1024).startswith(b"220")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                stop(process)
                pytest.fail(f"aiosmtpd did not start: {output}", pytrace=False)
            time.sleep(0.2)
    yield {"port": port, "maildir": maildir}
    stop(process)


def received(maildir, to, contains, timeout=30):
    """Messages of the Maildir sent to ``to`` whose text contains ``contains``."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        if maildir.exists():
            box = mailbox.Maildir(str(maildir), create=False)
            for key in box.iterkeys():
                raw = box.get_bytes(key)
                message = message_from_bytes(raw, policy=policy.default)
                body = message.get_body(preferencelist=("plain", "html"))
                text = body.get_content() if body else ""
                if to in (message["To"] or "") and contains in text:
                    found.append(message)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module")
def email_center(odoo_server, smtp_server):
    rpc = odoo_server
    login = unique("mail-agent")
    agent = rpc.call(
        "res.users",
        "create",
        {
            "name": "Mail Agent",
            "login": login,
            "password": login,
            "email": f"{login}@e2e-company.example",
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
        },
    )
    queue = rpc.call(
        "omnichannel.queue", "create", {"name": unique("Mail"), "member_ids": [(6, 0, [agent])]}
    )
    alias = f"{unique('support')}@e2e-mail.example"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Support mail",
            "channel_type": "email",
            "address": alias,
            "queue_id": queue,
            "email_ack_template_id": rpc.ref("omnichannel_cc.mail_template_email_ack"),
        },
    )
    customer = rpc.call("res.partner", "create", {"name": "Marta E2E", "email": CUSTOMER})
    # every outgoing mail goes through the real SMTP server
    for server in rpc.call("ir.mail_server", "search", []):
        rpc.call("ir.mail_server", "write", [server], {"active": False})
    rpc.call(
        "ir.mail_server",
        "create",
        {
            "name": "aiosmtpd",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server["port"],
            "smtp_encryption": "none",
            "sequence": 1,
        },
    )
    return {
        "agent": agent,
        "login": login,
        "queue": queue,
        "alias": alias,
        "channel": channel,
        "customer": customer,
    }


def deliver(rpc, raw):
    """What odoo-mailgate.py does with a mail piped in by the MTA."""
    return rpc.call(
        "mail.thread",
        "message_process",
        False,
        xmlrpc.client.Binary(raw.encode()),
        context={"mail_notify_force_send": False},
    )


def raw_mail(sender, to, subject, body, message_id, extra=""):
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n"
        f"{body}\r\n"
    )


def run_mail_queue(rpc):
    cron = rpc.ref("mail.ir_cron_mail_scheduler_action")
    assert rpc.call("ir.cron", "method_direct_trigger", [cron])


def test_email_in_through_gateway_reply_out_through_smtp(odoo_server, smtp_server, email_center):
    rpc = odoo_server
    data = email_center
    maildir = smtp_server["maildir"]
    message_id = make_msgid(domain="customer.example")
    raw = raw_mail(
        f"Marta <{CUSTOMER.upper()}>",
        data["alias"],
        "My parcel did not arrive",
        "Order S00042 was due on Monday. Where is it?",
        message_id,
    )
    thread_id = deliver(rpc, raw)
    assert thread_id
    [interaction] = rpc.call(
        "omnichannel.interaction",
        "search_read",
        [("channel_id", "=", data["channel"])],
        fields=["partner_id", "queue_id", "state", "contact_address", "subject", "name"],
    )
    assert interaction["id"] == thread_id
    assert interaction["partner_id"][0] == data["customer"]
    assert interaction["contact_address"] == CUSTOMER
    assert interaction["queue_id"][0] == data["queue"]
    assert interaction["state"] == "queued"
    assert interaction["subject"] == "My parcel did not arrive"

    # the same mail delivered again changes nothing
    deliver(rpc, raw)
    assert (
        rpc.call("omnichannel.interaction", "search_count", [("channel_id", "=", data["channel"])])
        == 1
    )

    # the agent takes it and answers from the chatter ("Send message")
    agent_uid = rpc.login(data["login"], data["login"])
    as_agent = {"uid": agent_uid, "password": data["login"]}
    rpc.call("omnichannel.interaction", "action_answer", [thread_id], **as_agent)
    answer = f"Your parcel leaves today {uuid.uuid4().hex[:6]}"
    rpc.call(
        "omnichannel.interaction",
        "message_post",
        [thread_id],
        body=answer,
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
        context={"mail_notify_force_send": False},
        **as_agent,
    )
    assert not received(maildir, CUSTOMER, answer, timeout=1), "sent only by the mail queue"
    run_mail_queue(rpc)

    [reply] = received(maildir, CUSTOMER, answer)
    assert data["alias"] in reply["Reply-To"]
    # the acknowledgement went out once, too
    acks = received(maildir, CUSTOMER, interaction["name"])
    assert len([m for m in acks if "we received your message" in m.get_body().get_content()]) == 1

    # the customer answers the agent's mail: it lands on the same interaction
    customer_reply_id = make_msgid(domain="customer.example")
    deliver(
        rpc,
        raw_mail(
            CUSTOMER,
            data["alias"],
            f"Re: {reply['Subject']}",
            "Thank you!",
            customer_reply_id,
            extra=f"In-Reply-To: {reply['Message-ID']}\r\nReferences: {reply['Message-ID']}\r\n",
        ),
    )
    messages = rpc.call(
        "mail.message",
        "search_read",
        [("model", "=", "omnichannel.interaction"), ("message_id", "=", customer_reply_id)],
        fields=["res_id", "author_id"],
    )
    assert [m["res_id"] for m in messages] == [thread_id]
    assert messages[0]["author_id"][0] == data["customer"]
    assert (
        rpc.call("omnichannel.interaction", "search_count", [("channel_id", "=", data["channel"])])
        == 1
    )
