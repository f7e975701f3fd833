"""Test helper: apply what a fire-and-forget webhook stored in the event inbox.

In an ``HttpCase`` the request runs in the test's cursor and no cron runs:
:func:`apply_inbox` runs the inbox's applier at once and gives the outcome
shaped as the webhook answered before it had an inbox (200 and the applying
method's result; 400 and the error of a row refused as a dead letter), so a
test that posts an event and reads the state at once keeps its asserts.
"""

import json


class AppliedDelivery:
    """A queued delivery once applied: ``status_code``, ``json()``, ``text``
    of the old synchronous answer; ``receipt`` is the webhook's real answer
    (``{"queued", "duplicate", "inbox_id"}``) and ``row`` the inbox row."""

    def __init__(self, receipt, row, duplicate):
        self.receipt = receipt
        self.row = row
        self.headers = receipt.headers
        if row.state == "done":
            self.status_code = 200
            body = row.result
            if duplicate and isinstance(body, dict) and "duplicate" in body:
                body = dict(body, duplicate=True)
        elif row.state == "dead":
            self.status_code = 400
            body = {"error": row.last_error}
        else:
            self.status_code = 500
            body = {"error": f"inbox row {row.id} is {row.state}: {row.last_error}"}
        self._body = body
        self.text = json.dumps(body)

    def json(self):
        return self._body


def apply_inbox(env, response, inbox_id=None):
    """``response`` as is, unless it queued a delivery (or ``inbox_id`` says
    which row it stored, for a gateway answered in its own format): then the
    inbox is applied and the :class:`AppliedDelivery` returned."""
    duplicate = False
    if inbox_id is None:
        if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
            return response
        receipt = response.json()
        if not (isinstance(receipt, dict) and receipt.get("queued")):
            return response
        inbox_id, duplicate = receipt["inbox_id"], receipt["duplicate"]
    Inbox = env["omnichannel.event.inbox"].sudo()
    Inbox._cron_apply()
    row = Inbox.browse(inbox_id)
    row.invalidate_recordset()
    env.invalidate_all()
    return AppliedDelivery(response, row, duplicate)
