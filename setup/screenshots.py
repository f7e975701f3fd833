#!/usr/bin/env python3
"""Screenshots of the agent console and the manager's views, from a running demo server.

    setup/run --db occ_shots --port 8069 &        # demo database, any name
    python3 setup/screenshots.py --url http://127.0.0.1:8069 --db occ_shots

The headline scenario on the demo data: Jan from Tartak (60 days overdue)
calls the sales line; the routing rule sends debtors to Collections, where
Ewa works. Ewa goes available from the systray, the call is offered with the
customer panel open before she answers, she accepts, ends and wraps up.

Needs Chromium (or Chrome) and the ``websocket-client`` package; drives the
browser through the DevTools protocol. Writes PNGs to docs/screenshots/.
The call it creates is closed at the end, and Ewa is left offline.

Then Marek, the manager, on the four weeks of simulated history that
setup/run writes into a new demo database: the Contact Center dashboard in
the Dashboards app, the wallboard's charts of the day and the Sales queue's
staffing plan with its chart (``--only manager`` for these alone).
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

try:
    import websocket
except ImportError:  # pragma: no cover - a set-up message, not logic
    sys.exit("screenshots.py needs the websocket-client package: pip install websocket-client")

REPO = Path(__file__).resolve().parent.parent
SALES_LINE = "+48 22 100 20 30"
CALLER = "+48 601 234 567"  # Jan, Tartak: an invoice 60 days overdue


class Browser:
    """The few DevTools calls the screenshots need."""

    def __init__(self, binary, width, height):
        self.profile = tempfile.mkdtemp(prefix="occ_shots_")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ws = websocket.create_connection(self._page_ws_url(), timeout=30)
        self.msg_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def _page_ws_url(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json") as resp:
                    pages = [t for t in json.load(resp) if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("Chromium did not open its DevTools port")

    def call(self, method, params=None):
        self.msg_id += 1
        self.ws.send(json.dumps({"id": self.msg_id, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.msg_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def js(self, expression):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url):
        self.call("Page.navigate", {"url": url})

    def wait(self, selector, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.js(f"!!document.querySelector({json.dumps(selector)})"):
                    return
            except RuntimeError:
                pass  # page navigating
            time.sleep(0.25)
        raise TimeoutError(f"{selector} did not appear within {timeout} s")

    def click(self, selector):
        self.wait(selector)
        self.js(f"document.querySelector({json.dumps(selector)}).click()")

    def fill(self, selector, value):
        self.wait(selector)
        self.js(
            f"""(() => {{
                const el = document.querySelector({json.dumps(selector)});
                el.value = {json.dumps(value)};
                el.dispatchEvent(new Event("input", {{bubbles: true}}));
                el.dispatchEvent(new Event("change", {{bubbles: true}}));
            }})()"""
        )

    def screenshot(self, path):
        time.sleep(0.8)  # let transitions and timers settle
        # a demo server's own notices ("page out of date") are not the subject
        self.js("document.querySelectorAll('.o_notification').forEach((n) => n.remove())")
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"wrote {path}")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            self.process.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)


class Rpc:
    def __init__(self, url, db, login, password):
        self.db, self.password = db, password
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        self.uid = common.authenticate(db, login, password, {})
        if not self.uid:
            sys.exit(f"cannot log in to {db} as {login}: is it a demo database?")
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, self.password, model, method, args, kwargs)


def login(browser, url, db, user):
    browser.goto(f"{url}/web/login?db={db}")
    browser.fill("input#login", user)
    browser.fill("input#password", user)
    browser.click("form.oe_login_form button[type=submit]")
    browser.wait(".o_main_navbar", timeout=60)


def manager_views(args, manager):
    """The manager's places (issue 18): the Contact Center dashboard in the
    Dashboards app, the wallboard's charts of the day and the staffing plan,
    on the demo's simulated history."""
    browser = Browser(args.chromium, 1440, 900)
    try:
        login(browser, args.url, args.db, args.manager)
        browser.goto(f"{args.url}/odoo/action-spreadsheet_dashboard.ir_actions_dashboard_action")
        browser.click(".o_spreadsheet_dashboard_search_panel li[data-name='Contact Center']")
        browser.wait(".o_spreadsheet_dashboard_action .o_renderer .o-spreadsheet", timeout=60)
        time.sleep(6)  # the pivots load after the grid is drawn
        browser.screenshot(args.out / "dashboard.png")

        browser.goto(f"{args.url}/odoo/action-omnichannel_cc.omnichannel_wallboard_action")
        browser.wait(".o_omnichannel_wallboard_charts_grid canvas", timeout=60)
        browser.js("document.querySelector('.o_omnichannel_wallboard_charts').scrollIntoView()")
        time.sleep(2)  # Chart.js animates the first drawing
        browser.screenshot(args.out / "wallboard_charts.png")

        plan = manager(
            "omnichannel.staffing.plan",
            "search",
            [("queue_id.code", "=", "SALES")],
            limit=1,
        )
        if not plan:
            sys.exit("no staffing plan of the Sales queue: is it the demo database?")
        manager("omnichannel.staffing.plan", "action_compute", plan)
        browser.goto(
            f"{args.url}/odoo/action-omnichannel_cc.omnichannel_staffing_plan_action/{plan[0]}"
        )
        browser.wait(".o_field_widget[name='line_ids'] .o_data_row", timeout=60)
        # the whole plan on one tall page: parameters, then every interval
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1440, "height": 2100, "deviceScaleFactor": 1, "mobile": False},
        )
        time.sleep(1)
        browser.screenshot(args.out / "staffing_plan.png")
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.click("button[name='action_view_chart']")
        browser.wait(".o_graph_renderer canvas", timeout=60)
        browser.screenshot(args.out / "staffing_plan_chart.png")
    finally:
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("OMNICHANNEL_URL", "http://127.0.0.1:8069"))
    parser.add_argument("--db", default=os.environ.get("OMNICHANNEL_DB", "omnichannel_demo"))
    parser.add_argument("--agent", default="ewa", help="agent login (password = login in demo)")
    parser.add_argument("--manager", default="marek", help="manager login, pushes the call")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chrome"))
    parser.add_argument(
        "--only",
        choices=["console", "manager"],
        help="only the agent console's screenshots, or only the manager's (dashboard, "
        "wallboard charts, staffing plan)",
    )
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("no chromium / chrome on PATH: give --chromium")
    args.out.mkdir(parents=True, exist_ok=True)

    manager = Rpc(args.url, args.db, args.manager, args.manager)
    if args.only != "console":
        manager_views(args, manager)
    if args.only == "manager":
        return
    agent = Rpc(args.url, args.db, args.agent, args.agent)
    agent("omnichannel.agent", "action_my_state", "offline")
    call = manager(
        "omnichannel.interaction",
        "api_inbound",
        {
            "channel_type": "phone",
            "channel": SALES_LINE,
            "from": CALLER,
            "external_id": f"screenshots-{int(time.time())}",
            "subject": "Question about the last invoice",
        },
    )
    print(f"call {call['interaction_id']} waits in queue {call['queue_id']}")
    time.sleep(4)  # some waiting time on the clock

    browser = Browser(args.chromium, 1440, 900)
    try:
        browser.goto(f"{args.url}/web/login?db={args.db}")
        browser.fill("input#login", args.agent)
        browser.fill("input#password", args.agent)
        browser.click("form.oe_login_form button[type=submit]")
        browser.wait(".o_omnichannel_console_toggle", timeout=60)
        # let the bus worker of the login redirect go before the real page
        browser.goto("about:blank")
        time.sleep(2)
        browser.goto(f"{args.url}/odoo/action-omnichannel_cc.omnichannel_interaction_action_my")
        browser.wait(".o_omnichannel_console_toggle[data-state='offline']", timeout=60)
        browser.wait(".o_list_view, .o_kanban_view", timeout=60)

        browser.click(".o_omnichannel_console_toggle")
        browser.wait(".o_omnichannel_console_dropdown .o_omnichannel_console_queue")
        browser.screenshot(args.out / "agent_console_systray.png")

        browser.click(".o_omnichannel_console_state_available")
        browser.wait(".o_omnichannel_offer_popup")
        browser.wait(".o_omnichannel_screen_pop .o_omnichannel_screen_pop_overdue")
        browser.screenshot(args.out / "agent_console_offer_screen_pop.png")

        browser.click(".o_omnichannel_offer_accept")
        browser.wait(".o_omnichannel_screen_pop_interaction[data-state='active']")
        browser.click(".o_omnichannel_console_open")  # the interaction's form, beside the panel
        browser.wait(".o_form_view .o_statusbar_status")
        time.sleep(3)  # a few seconds of talk on the timer
        browser.screenshot(args.out / "agent_console_active.png")

        browser.click(".o_omnichannel_action_end")
        browser.wait(".o_omnichannel_wrapup_disposition")
        browser.js(
            """(() => {
                const select = document.querySelector(".o_omnichannel_wrapup_disposition");
                const option = [...select.options].find((o) => o.text.includes("Promise to pay"));
                select.value = option.value;
                select.dispatchEvent(new Event("change", {bubbles: true}));
            })()"""
        )
        browser.fill(".o_omnichannel_wrapup_notes", "Pays the overdue invoice on Friday.")
        browser.screenshot(args.out / "agent_console_wrapup.png")
        browser.click(".o_omnichannel_wrapup_close")
        browser.wait(".o_omnichannel_console_toggle[data-state='available']")
    finally:
        browser.close()
        agent("omnichannel.agent", "action_my_state", "offline")


if __name__ == "__main__":
    main()
