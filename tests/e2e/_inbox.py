"""Applying what the fire-and-forget webhooks stored in the event inbox.

``/omnichannel/voip/<token>/event`` answers 200 ``{"queued": true,
"duplicate", "inbox_id"}`` once the event is stored; the inbox's cron applies
it. The e2e server runs no cron thread (``--max-cron-threads=0``, so that no
sweep changes a test's state behind its back): :func:`wait_applied` runs the
applier (``ir.cron.method_direct_trigger``, as admin) and polls the row until
it is applied or a dead letter, with a deadline.
"""

import time
import xmlrpc.client

CRON = "omnichannel_cc.ir_cron_event_inbox"
WAIT = 60.0


def run_applier(server):
    """One run of the inbox's applier; False when another run holds it."""
    cron = server.ref(CRON)
    try:
        server.call("ir.cron", "method_direct_trigger", [cron])
    except xmlrpc.client.Fault as fault:
        # a concurrent manual run has the cron's lock: it applies our rows too
        if "cannot be modified right now" in fault.faultString or "running" in fault.faultString:
            return False
        raise
    return True


def wait_applied(server, inbox_ids, timeout=WAIT):
    """The inbox rows ``inbox_ids`` once applied or dead (``state``,
    ``result``, ``last_error``), running the applier until then."""
    ids = sorted(set(inbox_ids))
    deadline = time.monotonic() + timeout
    while True:
        run_applier(server)
        rows = server.call(
            "omnichannel.event.inbox",
            "read",
            ids,
            fields=["state", "result", "last_error", "attempts"],
        )
        if all(row["state"] in ("done", "dead", "discarded") for row in rows):
            return {row["id"]: row for row in rows}
        assert time.monotonic() < deadline, f"inbox rows not applied in {timeout:g} s: {rows}"
        time.sleep(0.2)


def outcome(server, status, answer, timeout=WAIT):
    """``(status, answer)`` of a webhook call as it was before the inbox:
    a queued delivery's applied result (200; its first application's, with
    ``duplicate`` true for a redelivery) or its dead letter's error (400);
    any other answer (a refusal at receipt) as is."""
    if status != 200 or not (isinstance(answer, dict) and answer.get("queued")):
        return status, answer
    row = wait_applied(server, [answer["inbox_id"]], timeout)[answer["inbox_id"]]
    if row["state"] != "done":
        return 400, {"error": row["last_error"]}
    result = row["result"]
    if answer["duplicate"] and isinstance(result, dict) and "duplicate" in result:
        result = dict(result, duplicate=True)
    return 200, result


def wait_call(server, call_id, count, timeout=WAIT):
    """The ``count`` inbox rows of the PBX call ``call_id`` once applied
    (posted by a client that does not show its answers: the AMI bridge)."""
    deadline = time.monotonic() + timeout
    while True:
        ids = server.call(
            "omnichannel.event.inbox",
            "search",
            [("kind", "=", "_voip_event"), ("conversation", "=", call_id)],
        )
        if len(ids) >= count:
            return wait_applied(server, ids, max(deadline - time.monotonic(), 1.0))
        assert time.monotonic() < deadline, f"{len(ids)} inbox rows of {call_id}, {count} expected"
        time.sleep(0.2)
