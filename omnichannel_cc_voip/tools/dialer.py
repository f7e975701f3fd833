"""The campaign dialer's PBX contract: dial commands and call outcomes.

Pure Python, no ORM. The dialer (``omnichannel.campaign`` in this addon)
places each call with one command, sent after its transaction commits:

- Asterisk: an AMI ``Originate`` of ``Local/<number>@<dial context>`` which,
  once answered, runs extension ``s`` of the campaign context (by default
  ``omnichannel-dialer``) with answering-machine detection: the channel
  variables ``OMNICHANNEL_INTERACTION``, ``OMNICHANNEL_CALL_ID``,
  ``OMNICHANNEL_CAMPAIGN``, ``OMNICHANNEL_AMD=1`` and ``OMNICHANNEL_MACHINE``
  (``hangup`` / ``message``) tell the dialplan what to do (``AMD()``, then
  post ``answered`` with ``amd`` = ``AMDSTATUS`` in lower case);
- any other PBX: a signed HTTP POST of :func:`http_dial_body` (JSON, signed
  ``X-Omnichannel-Signature: sha256=<hex of HMAC-SHA256(secret, body)>`` as
  the webhooks are) to the channel's dial URL; a 2xx answer means accepted.

The PBX reports the call with the ``call_id`` it was given, on the usual
``/event`` webhook: ``ringing``; ``answered`` with ``"amd": "human"`` or
``"machine"`` (no ``amd``: a person); ``failed`` with a ``reason`` (``busy``
... see :func:`failure_outcome`); ``hangup``.
"""

from . import ami

DIAL_COMMAND = "dial"
HANGUP_COMMAND = "hangup"
AMD_VALUES = ("human", "machine", "notsure")
MACHINE_ACTIONS = ("hangup", "message")
DEFAULT_DIALER_CONTEXT = "omnichannel-dialer"
# words of a failure reason (SIP, Q.850, AMI DIALSTATUS) meaning "busy"
BUSY_MARKS = ("busy", "486", "600", "congestion", "cause 17")
NO_ANSWER_MARKS = ("no answer", "noanswer", "480", "408", "timeout", "cause 19", "cancel")


def failure_outcome(reason):
    """The campaign outcome of a call that was never answered: ``busy`` or
    ``no_answer`` (any other failure is retried as ``no_answer`` too, but
    counted as ``failed`` by the pacing: see :func:`pacing_outcome`)."""
    text = (reason or "").lower()
    if any(mark in text for mark in BUSY_MARKS):
        return "busy"
    return "no_answer"


def pacing_outcome(reason):
    """The pacing statistics' outcome of a failed call."""
    text = (reason or "").lower()
    if any(mark in text for mark in BUSY_MARKS):
        return "busy"
    if any(mark in text for mark in NO_ANSWER_MARKS) or not text:
        return "no_answer"
    return "failed"


def is_machine(amd):
    """An ``answered`` event's ``amd`` says an answering machine (``notsure``
    counts as a person: a person hung up on is worse than a message missed)."""
    return (amd or "").lower() == "machine"


def http_dial_body(
    call_id,
    number,
    caller_id,
    timestamp,
    interaction_id,
    campaign_id,
    campaign,
    ring_seconds,
    machine_action,
    machine_message=None,
):
    """The JSON object of an HTTP dial command (see the module docstring)."""
    if machine_action not in MACHINE_ACTIONS:
        raise ValueError(f"unknown machine action {machine_action!r}")
    return {
        "command": DIAL_COMMAND,
        "call_id": call_id,
        "to": ami.normalize_number(number),
        "caller_id": caller_id or None,
        "timestamp": int(timestamp),
        "interaction_id": interaction_id,
        "campaign_id": campaign_id,
        "campaign": campaign,
        "ring_seconds": int(ring_seconds),
        "amd": True,
        "machine_action": machine_action,
        "machine_message": machine_message or None,
    }


def http_hangup_body(call_id, timestamp, reason):
    """The JSON object of an HTTP hang-up command (an abandoned call)."""
    return {
        "command": HANGUP_COMMAND,
        "call_id": call_id,
        "timestamp": int(timestamp),
        "reason": reason,
    }


def originate_dialer_action(
    number,
    dial_context,
    call_id,
    interaction_id,
    campaign_id,
    caller_id=None,
    ring_seconds=30,
    machine_action="hangup",
    machine_message=None,
    dialer_context=DEFAULT_DIALER_CONTEXT,
):
    """AMI ``Originate`` of a campaign call with answering-machine detection.

    :return: ``("Originate", fields)``; ValueError on a bad argument
    """
    number = ami.normalize_number(number)
    if not dial_context or not dialer_context:
        raise ValueError("a dialplan context is needed to originate a call")
    if machine_action not in MACHINE_ACTIONS:
        raise ValueError(f"unknown machine action {machine_action!r}")
    variables = {
        ami.INTERACTION_VARIABLE: interaction_id,
        "OMNICHANNEL_CALL_ID": call_id,
        "OMNICHANNEL_CAMPAIGN": campaign_id,
        "OMNICHANNEL_AMD": 1,
        "OMNICHANNEL_MACHINE": machine_action,
    }
    if machine_message:
        variables["OMNICHANNEL_MACHINE_MESSAGE"] = machine_message
    return ami._checked(
        "Originate",
        {
            "Channel": f"Local/{number}@{dial_context}",
            "Exten": "s",
            "Context": dialer_context,
            "Priority": "1",
            "Async": "true",
            "Timeout": str(int(ring_seconds) * 1000),
            "CallerID": caller_id or None,
            "Variable": ami._variables(variables),
        },
    )
