"""Headers of inbound e-mail that decide how the contact center treats it.

Pure functions over a header mapping (an ``email.message.Message`` or a dict):
no ORM. Odoo's gateway drops these headers before ``message_new`` runs, so the
model keeps the few it needs (see ``mail_thread._message_route_process``).
"""

KEPT_HEADERS = (
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
    "Return-Path",
    "X-Fax-From",
)
# Precedence values of robots and mailing lists (RFC 3834 section 2)
AUTOMATIC_PRECEDENCE = ("bulk", "junk", "list", "auto_reply", "auto-reply")


def kept_headers(message):
    """{header: value} for the headers this module needs ('' when absent)."""
    return {name: str(message.get(name) or "").strip() for name in KEPT_HEADERS}


def is_automatic(headers):
    """True for mail no human wrote: auto-replies, bounces, lists (RFC 3834).

    Answering those with an acknowledgement starts mail loops.
    """

    def header(name):
        return (headers.get(name) or "").strip().lower()

    auto_submitted = header("Auto-Submitted")
    if auto_submitted and auto_submitted != "no":
        return True
    if header("Precedence") in AUTOMATIC_PRECEDENCE:
        return True
    if header("X-Autoreply") or header("X-Autorespond"):
        return True
    if any(v.strip() in ("all", "oof") for v in header("X-Auto-Response-Suppress").split(",")):
        return True
    # the null reverse path of bounces and delivery reports (RFC 5321 4.5.5)
    return header("Return-Path") == "<>"
