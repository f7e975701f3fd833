"""Invitation links against a real multi-worker server: created over XML-RPC
by an agent, opened over plain HTTP, checked over XML-RPC.

A GET of a link only shows a page (e-mail scanners open links before the
customer); the POST of its Join form, with the page's CSRF token, uses it."""

import http.cookiejar
import re
import threading
import urllib.error
import urllib.request
import uuid
import xmlrpc.client
from urllib.parse import urlencode, urlsplit

import pytest

pytestmark = pytest.mark.e2e

AGENT_PASSWORD = "agent-e2e-Pa55"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """A visitor: its own cookie jar, redirects not followed."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, path, data=None, headers=None):
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def head(self, path):
        req = urllib.request.Request(self.base_url + path, method="HEAD")
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def landing(self, path):
        """GET the landing page of a session link: the CSRF token of its Join form."""
        status, _headers, page = self.request(path)
        assert status == 200, page[:500]
        assert "o_omnichannel_invitation_join" in page
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def session_csrf(self):
        """A CSRF token of this browser's session, from Odoo's login page."""
        _status, _headers, page = self.request("/web/login")
        return re.search(r'csrf_token: "([^"]+)"', page).group(1)

    def post(self, path, fields):
        return self.request(
            path,
            data=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def join(self, path, csrf=None):
        """Press Join (the landing page's form)."""
        return self.post(path, {"csrf_token": csrf or self.landing(path)})

    def post_files(self, path, fields, files):
        boundary = uuid.uuid4().hex
        body = b""
        for name, value in fields.items():
            body += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            ).encode()
        for name, (filename, content, mimetype) in files:
            body += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {mimetype}\r\n\r\n'
            ).encode()
            body += content + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        return self.request(
            path, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )


@pytest.fixture(scope="module")
def setup(odoo_server):
    rpc = odoo_server
    group_agent = rpc.ref("omnichannel_cc.group_omnichannel_agent")
    agents = []
    for name in ("Iga Invite", "Olek Other"):
        login = unique("invite-agent")
        uid = rpc.call(
            "res.users",
            "create",
            {
                "name": name,
                "login": login,
                "password": AGENT_PASSWORD,
                "email": f"{login}@example.com",
                "groups_id": [(6, 0, [rpc.ref("base.group_user"), group_agent])],
            },
        )
        agents.append(uid)
    queue = rpc.call(
        "omnichannel.queue", "create", {"name": unique("Invite"), "member_ids": [(6, 0, agents)]}
    )
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Web chat",
            "channel_type": "chat",
            "address": unique("invite-chat"),
            "queue_id": queue,
        },
    )
    partner = rpc.call(
        "res.partner", "create", {"name": "Marta Klientka", "email": "marta@example.com"}
    )
    case = rpc.call(
        "omnichannel.case",
        "create",
        {
            "subject": "Broken window",
            "partner_id": partner,
            "user_id": agents[0],
            "queue_id": queue,
        },
    )
    return {
        "agent": agents[0],
        "other": agents[1],
        "queue": queue,
        "channel": channel,
        "partner": partner,
        "case": case,
    }


def as_agent(rpc, setup, model, method, *args, user="agent", **kwargs):
    return rpc.call(model, method, *args, uid=setup[user], password=AGENT_PASSWORD, **kwargs)


def invite(rpc, setup, **values):
    values = dict(
        {
            "kind": "chat",
            "partner_id": setup["partner"],
            "case_id": setup["case"],
            "channel_id": setup["channel"],
        },
        **values,
    )
    invitation = as_agent(rpc, setup, "omnichannel.invitation", "create", values)
    [row] = as_agent(rpc, setup, "omnichannel.invitation", "read", [invitation], ["url"])
    return invitation, urlsplit(row["url"]).path


def read_invitation(rpc, invitation):
    [row] = rpc.call(
        "omnichannel.invitation",
        "read",
        [invitation],
        ["state", "use_count", "discuss_channel_id", "session_interaction_id"],
    )
    return row


def test_chat_link_opens_one_session_and_reuse_returns_to_it(odoo_server, setup):
    rpc = odoo_server
    invitation, path = invite(rpc, setup)
    visitor = Browser(rpc.url)
    untouched = read_invitation(rpc, invitation)
    for _attempt in range(2):
        status, _headers, page = visitor.request(path)
        assert status == 200, page[:500]
        assert "Iga Invite" in page
        assert ">Join</button>" in page
    # showing the page twice: no use, no Discuss channel, no interaction
    assert read_invitation(rpc, invitation) == untouched
    assert untouched["use_count"] == 0
    assert not untouched["discuss_channel_id"]
    assert not untouched["session_interaction_id"]
    assert (
        rpc.call(
            "omnichannel.interaction",
            "search_count",
            [("external_id", "=", f"invitation:{invitation}")],
        )
        == 0
    )
    status, headers, body = visitor.join(path)
    assert status == 303, body[:500]
    location = urlsplit(headers["Location"]).path
    row = read_invitation(rpc, invitation)
    discuss_id = row["discuss_channel_id"][0]
    [discuss] = rpc.call("discuss.channel", "read", [discuss_id], ["channel_type"])
    assert location == f"/discuss/channel/{discuss_id}"
    assert discuss["channel_type"] == "group"
    members = rpc.call(
        "discuss.channel.member",
        "search_read",
        [("channel_id", "=", discuss_id)],
        ["partner_id", "guest_id"],
    )
    [agent_partner] = rpc.call("res.users", "read", [setup["agent"]], ["partner_id"])
    assert {m["partner_id"][0] for m in members if m["partner_id"]} == {
        agent_partner["partner_id"][0]
    }
    assert len([m for m in members if m["guest_id"]]) == 1
    [interaction] = rpc.call(
        "omnichannel.interaction",
        "read",
        [row["session_interaction_id"][0]],
        ["partner_id", "case_id", "channel_id", "preferred_agent_id", "discuss_channel_id"],
    )
    assert interaction["partner_id"][0] == setup["partner"]
    assert interaction["case_id"][0] == setup["case"]
    assert interaction["channel_id"][0] == setup["channel"]
    assert interaction["preferred_agent_id"][0] == setup["agent"]
    assert interaction["discuss_channel_id"][0] == discuss_id
    # Discuss's own public page opens for the guest (its cookie)
    status, _headers, body = visitor.request(location)
    assert status == 200
    assert "discuss_public_thread" in body
    # not for someone else who got hold of the address
    assert Browser(rpc.url).request(location)[0] == 404
    # a multi-use link joined again (another worker, maybe) returns to the session
    status, headers, _body = Browser(rpc.url).join(path)
    assert status == 303
    assert urlsplit(headers["Location"]).path == location
    row = read_invitation(rpc, invitation)
    assert row["use_count"] == 2
    assert row["discuss_channel_id"][0] == discuss_id
    assert (
        rpc.call(
            "omnichannel.interaction",
            "search_count",
            [("external_id", "=", f"invitation:{invitation}")],
        )
        == 1
    )


def test_single_use_link_joined_twice_at_once_wins_once(odoo_server, setup):
    """Two browsers show the page, then press Join at the same moment."""
    rpc = odoo_server
    invitation, path = invite(rpc, setup, single_use=True)
    browsers = [Browser(rpc.url) for _ in range(2)]
    tokens = [browser.landing(path) for browser in browsers]
    assert read_invitation(rpc, invitation)["use_count"] == 0
    results = []
    barrier = threading.Barrier(2)

    def join(browser, csrf):
        barrier.wait()
        results.append(browser.join(path, csrf)[0])

    threads = [
        threading.Thread(target=join, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results) == [303, 410]
    row = read_invitation(rpc, invitation)
    assert row["state"] == "used"
    assert row["use_count"] == 1
    [ref] = rpc.call("omnichannel.invitation", "read", [invitation], ["name"])
    assert rpc.call("discuss.channel", "search_count", [("name", "like", ref["name"])]) == 1
    interactions = rpc.call(
        "omnichannel.interaction",
        "search_count",
        [("external_id", "=", f"invitation:{invitation}")],
    )
    assert interactions == 1
    # reused later: gone, nothing new
    status, _headers, body = Browser(rpc.url).request(path)
    assert status == 410
    assert "already used" in body
    for browser, csrf in zip(browsers, tokens, strict=True):
        status, _headers, body = browser.join(path, csrf)
        assert status == 410
        assert "already used" in body
    assert read_invitation(rpc, invitation) == row


def test_scanners_do_not_use_a_single_use_link(odoo_server, setup):
    """Outlook Safe Links / Gmail open the link first (GET, HEAD, no cookies):
    the customer still joins afterwards, once."""
    rpc = odoo_server
    invitation, path = invite(rpc, setup, single_use=True)
    untouched = read_invitation(rpc, invitation)
    for _scanner in range(3):
        scanner = Browser(rpc.url)
        assert scanner.request(path)[0] == 200
        assert scanner.head(path) == 200
    assert read_invitation(rpc, invitation) == untouched
    assert untouched["state"] == "active"
    assert untouched["use_count"] == 0
    # the customer: page, Join
    customer = Browser(rpc.url)
    csrf = customer.landing(path)
    status, headers, body = customer.join(path, csrf)
    assert status == 303, body[:500]
    assert urlsplit(headers["Location"]).path.startswith("/discuss/channel/")
    row = read_invitation(rpc, invitation)
    assert row["state"] == "used"
    assert row["use_count"] == 1
    assert row["discuss_channel_id"]
    # the form posted a second time: gone
    status, _headers, body = customer.join(path, csrf)
    assert status == 410
    assert read_invitation(rpc, invitation) == row


def test_join_without_the_csrf_token_changes_nothing(odoo_server, setup):
    rpc = odoo_server
    invitation, path = invite(rpc, setup, single_use=True)
    visitor = Browser(rpc.url)
    csrf = visitor.landing(path)
    untouched = read_invitation(rpc, invitation)
    assert visitor.post(path, {})[0] == 400
    assert visitor.post(path, {"csrf_token": "forged"})[0] == 400
    # the token of another browser's page
    assert Browser(rpc.url).join(path, csrf)[0] == 400
    assert read_invitation(rpc, invitation) == untouched
    assert visitor.join(path, csrf)[0] == 303


def test_revoked_expired_and_forged_links(odoo_server, setup):
    rpc = odoo_server
    revoked, revoked_path = invite(rpc, setup)
    as_agent(rpc, setup, "omnichannel.invitation", "action_revoke", [revoked])
    status, _headers, body = Browser(rpc.url).request(revoked_path)
    assert status == 410
    assert "withdrawn" in body
    assert not read_invitation(rpc, revoked)["discuss_channel_id"]

    visitor = Browser(rpc.url)
    status, _headers, body = visitor.join(revoked_path, visitor.session_csrf())
    assert status == 410
    assert not read_invitation(rpc, revoked)["discuss_channel_id"]

    expired, expired_path = invite(rpc, setup, expiry="2020-01-01 00:00:00")
    status, _headers, body = visitor.request(expired_path)
    assert status == 410
    assert "expired" in body
    # a GET reads only: the cron (or a POST) marks the link expired
    assert read_invitation(rpc, expired)["state"] == "active"
    status, _headers, body = visitor.join(expired_path, visitor.session_csrf())
    assert status == 410
    row = read_invitation(rpc, expired)
    assert row["state"] == "expired"
    assert row["use_count"] == 0
    assert not row["discuss_channel_id"]

    forged = "/omnichannel/invite/" + "x" * 43
    assert visitor.request(forged)[0] == 404
    assert visitor.join(forged, visitor.session_csrf())[0] == 404


def test_upload_link_stores_files_on_the_case(odoo_server, setup):
    rpc = odoo_server
    invitation, path = invite(rpc, setup, kind="upload", single_use=True, channel_id=False)
    visitor = Browser(rpc.url)
    status, _headers, page = visitor.request(path)
    assert status == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    status, _headers, body = visitor.post_files(
        path, {"csrf_token": csrf}, [("files", ("bad.html", b"<html></html>", "text/html"))]
    )
    assert status == 400
    attachments = [("res_model", "=", "omnichannel.case"), ("res_id", "=", setup["case"])]
    assert rpc.call("ir.attachment", "search_count", attachments) == 0
    status, _headers, body = visitor.post_files(
        path, {"csrf_token": csrf}, [("files", ("window.png", PNG, "image/png"))]
    )
    assert status == 200, body[:500]
    [attachment] = rpc.call("ir.attachment", "search_read", attachments, ["name"])
    assert attachment["name"] == "window.png"
    # the agent who sent the link sees the file on their case
    assert as_agent(rpc, setup, "ir.attachment", "search_count", attachments) == 1
    assert read_invitation(rpc, invitation)["state"] == "used"
    assert visitor.request(path)[0] == 410


def test_another_agent_cannot_read_my_invitation(odoo_server, setup):
    rpc = odoo_server
    invitation, _path = invite(rpc, setup)
    with pytest.raises(xmlrpc.client.Fault):
        as_agent(rpc, setup, "omnichannel.invitation", "read", [invitation], ["url"], user="other")
    assert (
        as_agent(
            rpc,
            setup,
            "omnichannel.invitation",
            "search_count",
            [("id", "=", invitation)],
            user="other",
        )
        == 0
    )
    # the administrator (a contact center manager) can
    assert rpc.call("omnichannel.invitation", "read", [invitation], ["state"])
