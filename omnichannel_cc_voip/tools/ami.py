"""Asterisk Manager Interface (AMI) adapter: a small client and a translator
of AMI events into the contact center's PBX-neutral CTI events.

Pure Python, standard library only, no ORM: the models build the actions
of click-to-dial, transfer and listen-in with :func:`originate_action`,
:func:`spy_action` ... (checked while their transaction can still refuse
them), and ``omnichannel.voip.command`` sends them with :class:`AmiClient`
once that transaction has committed; the standalone
``scripts/ami_bridge.py`` feeds :class:`AmiEventTranslator` with the AMI
event stream and posts what it yields to Odoo. Connecting, sending and
waiting for an answer time out (``AmiClient(timeout=...)``, 5 s by default).

Wire format (Asterisk 18 and 20, AMI 7.x / 9.x): after the TCP connect the
server writes one banner line ``Asterisk Call Manager/9.0.0``; then every
message, in both directions, is a block of ``Key: Value`` lines ending with
``\\r\\n`` and closed by an empty line. A response carries ``Response:``
(``Success``, ``Error``, ``Goodbye``) and the ``ActionID`` of the action;
an event carries ``Event:`` (some events, ``OriginateResponse`` for one,
also carry ``Response`` and ``ActionID``: they are events all the same).
Actions listing things (``CoreShowChannels``) answer ``EventList: start``,
then one event per item carrying the ActionID, then a ``...Complete`` event.

The manager user needs ``read = call,dialplan`` (channel and ``VarSet``
events) and ``write = originate,call,reporting`` (Originate; Redirect and
BlindTransfer; CoreShowChannels). ``timestampevents = yes`` in
``manager.conf`` stamps events with the PBX clock, which the translator
prefers to its own.
"""

import re
import secrets
import socket
import time
from collections import OrderedDict, deque
from urllib.parse import quote

BANNER_PREFIX = "Asterisk Call Manager/"
DEFAULT_PORT = 5038

# Channel variable click-to-dial sets (originate(variables=...)); the
# translator adds it to the call's CTI events as "interaction_id".
INTERACTION_VARIABLE = "OMNICHANNEL_INTERACTION"
# Channel variables of a campaign dialer call (tools/dialer.py): the call id
# Odoo gave it, reported as the call's "call_id"; AMD()'s verdict, reported
# as an "answered" event with "amd".
DIALER_CALL_VARIABLE = "OMNICHANNEL_CALL_ID"
AMD_VARIABLE = "AMDSTATUS"

SPY_OPTIONS = {
    # ChanSpy options: q = no beep nor channel name announced, E = stop when
    # the spied-on channel hangs up (else ChanSpy waits for the agent's next
    # call), w = whisper to the spied-on channel, B = barge: talk to both.
    "listen": "qE",
    "whisper": "qEw",
    "barge": "qEB",
}

_EXTENSION_RE = re.compile(r"^\d{1,12}$")
_NUMBER_RE = re.compile(r"^\+?[0-9*#]{1,32}$")
_NUMBER_STRIP_RE = re.compile(r"[\s().\-/]")
_VARIABLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TECHNOLOGY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# "PJSIP/1001-0000002a", "SIP/1001-0000002a"; "Local/1001@agents-00000003;1"
_CHANNEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/(?P<endpoint>[^/@;]+)-[0-9a-fA-F]+$")
_LOCAL_CHANNEL_RE = re.compile(r"^Local/(?P<endpoint>[^/@;]+)@[^;]*-[0-9a-fA-F]+;[12]$")
_UNKNOWN = ("", "<unknown>")


class AmiError(Exception):
    """An AMI operation failed; the message is meant for the user."""


# ---------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------


def parse_messages(buffer):
    """Split AMI bytes into complete messages.

    :param buffer: bytes received so far (may end in the middle of a message)
    :return: ``(messages, rest)``: a list of dicts, one per complete message,
        and the bytes of the incomplete tail to prepend to the next read.
        The banner line becomes ``{"Banner": "Asterisk Call Manager/9.0.0"}``.
        A key given several times (``Variable``, ``ChanVariable``, ``Output``)
        keeps all its values joined by ``"\\n"``; a line without ``": "``
        (raw command output) is added to ``"Output"``.
    """
    data = buffer.replace(b"\r\n", b"\n")
    messages = []
    while data:
        if data.startswith(BANNER_PREFIX.encode()):
            line, sep, remainder = data.partition(b"\n")
            if not sep:
                break
            messages.append({"Banner": line.decode("utf-8", "replace").strip()})
            data = remainder
            continue
        if data.startswith(b"\n"):
            # stray empty line between messages
            data = data[1:]
            continue
        block, sep, remainder = data.partition(b"\n\n")
        if not sep:
            break
        data = remainder
        message = {}
        for raw_line in block.split(b"\n"):
            line = raw_line.decode("utf-8", "replace")
            key, colon, value = line.partition(":")
            if colon and key and " " not in key:
                key, value = key.strip(), value.strip()
            else:
                key, value = "Output", line
            if key in message:
                message[key] = message[key] + "\n" + value
            else:
                message[key] = value
        messages.append(message)
    return messages, data


def _encode_action(name, action_id, fields):
    lines = [("Action", name), ("ActionID", action_id)]
    for key, value in fields.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "true" if item else "false"
            lines.append((key, str(item)))
    out = []
    for key, value in lines:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", key):
            raise ValueError(f"invalid AMI header name {key!r}")
        if "\r" in value or "\n" in value:
            raise ValueError(f"AMI header {key} must not contain a line break")
        out.append(f"{key}: {value}\r\n")
    out.append("\r\n")
    return "".join(out).encode()


def _escape_variable_value(value):
    # Asterisk splits each "Variable:" header on commas, honouring quotes,
    # brackets and backslash escapes: escape them so a value stays whole.
    return re.sub(r'([\\,"()\[\]])', r"\\\1", str(value))


def _check_extension(extension, what="extension"):
    extension = str(extension or "").strip()
    if not _EXTENSION_RE.match(extension):
        raise ValueError(f"{what} must be digits only, got {extension!r}")
    return extension


def _check_technology(technology):
    if not _TECHNOLOGY_RE.match(technology or ""):
        raise ValueError(f"invalid channel technology {technology!r}")
    return technology


def normalize_number(number):
    """Return ``number`` without separators (``+48 123-456 789`` gives
    ``+48123456789``); ValueError if something else than digits, a leading
    ``+``, ``*`` or ``#`` remains."""
    cleaned = _NUMBER_STRIP_RE.sub("", str(number or ""))
    if not _NUMBER_RE.match(cleaned):
        raise ValueError(f"not a dialable number: {number!r}")
    return cleaned


# ---------------------------------------------------------------------------
# Actions: (name, fields) checked before anything is sent
# ---------------------------------------------------------------------------


def _checked(name, fields):
    """``(name, fields)`` once they are known to encode (no line break, valid
    header names): a bad value is refused before a connection is opened,
    e.g. while the transaction asking for the action can still roll back."""
    _encode_action(name, "check", fields)
    return name, fields


def _variables(variables):
    if not variables:
        return None
    headers = []
    for key, value in variables.items():
        if not _VARIABLE_NAME_RE.match(str(key)):
            raise ValueError(f"invalid channel variable name {key!r}")
        headers.append(f"{key}={_escape_variable_value(value)}")
    return headers


def originate_action(
    extension, number, context, caller_id=None, variables=None, technology="PJSIP"
):
    """Click-to-dial from a desk phone: ring ``<technology>/<extension>``
    and, once it answers, run ``number`` at priority 1 of ``context``.

    :param variables: dict of channel variables set on the call, e.g.
        ``{"OMNICHANNEL_INTERACTION": 42}``
    :return: ``("Originate", fields)``; ValueError on a bad argument
    """
    extension = _check_extension(extension)
    number = normalize_number(number)
    technology = _check_technology(technology)
    if not context:
        raise ValueError("a dialplan context is needed to originate a call")
    return _checked(
        "Originate",
        {
            "Channel": f"{technology}/{extension}",
            "Exten": number,
            "Context": context,
            "Priority": "1",
            "Async": "true",
            "CallerID": caller_id or None,
            "Variable": _variables(variables),
        },
    )


def spy_action(supervisor_extension, target_extension, mode, technology="PJSIP"):
    """Listen-in for a supervisor: ring the supervisor's phone and, once
    answered, run ``ChanSpy`` on the target extension's channel.

    :param mode: ``"listen"`` (silent), ``"whisper"`` (the agent hears the
        supervisor, the customer does not) or ``"barge"`` (both hear).
    :return: ``("Originate", fields)``; ValueError on a bad argument
    """
    if mode not in SPY_OPTIONS:
        raise ValueError(f"unknown spy mode {mode!r}: use one of {', '.join(SPY_OPTIONS)}")
    supervisor_extension = _check_extension(supervisor_extension, "supervisor extension")
    target_extension = _check_extension(target_extension, "target extension")
    technology = _check_technology(technology)
    # The trailing "-" makes the ChanSpy prefix match PJSIP/1001-0000002a
    # and never PJSIP/10012-...
    return _checked(
        "Originate",
        {
            "Channel": f"{technology}/{supervisor_extension}",
            "Application": "ChanSpy",
            "Data": f"{technology}/{target_extension}-,{SPY_OPTIONS[mode]}",
            "Async": "true",
            "CallerID": f'"{mode.capitalize()} {target_extension}" <{target_extension}>',
        },
    )


def redirect_action(channel, exten, context, priority=1, extra_channel=None):
    """Blind transfer: send ``channel`` (and ``extra_channel`` along with
    it, e.g. both legs of a call) to ``exten`` at ``priority`` of
    ``context``. :return: ``("Redirect", fields)``"""
    if not channel or not exten or not context:
        raise ValueError("redirect needs a channel, an extension and a context")
    fields = {
        "Channel": channel,
        "Exten": str(exten),
        "Context": context,
        "Priority": str(int(priority)),
    }
    if extra_channel:
        fields.update(
            ExtraChannel=extra_channel,
            ExtraExten=str(exten),
            ExtraContext=context,
            ExtraPriority=str(int(priority)),
        )
    return _checked("Redirect", fields)


def blind_transfer_action(channel, exten, context=None):
    """Blind transfer as if the agent on ``channel`` had transferred: the
    parties bridged to ``channel`` go to ``exten`` (``BlindTransfer``
    action, Asterisk 12+); ``channel`` is hung up by Asterisk.
    :return: ``("BlindTransfer", fields)``"""
    if not channel or not exten:
        raise ValueError("a blind transfer needs the agent's channel and an extension")
    return _checked("BlindTransfer", {"Channel": channel, "Exten": str(exten), "Context": context})


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------


class AmiClient:
    """Blocking AMI client over one TCP connection; not thread-safe.

    ``with AmiClient(host, port, user, secret) as ami: ami.originate(...)``
    connects, reads the banner and logs in on enter, logs off on exit.

    :param events: ``False`` (``Events: off``, the default: actions only),
        ``True`` (``Events: on``) or an AMI event mask such as
        ``"call,dialplan"``. With events on, events arriving while an action
        waits for its response are kept for :meth:`read_event`.
    """

    def __init__(self, host, port, username, secret, timeout=5, events=False):
        self.host = host or "127.0.0.1"
        self.port = int(port or DEFAULT_PORT)
        self.username = username or ""
        self.secret = secret or ""
        self.timeout = timeout
        if events is True:
            self.events_mask = "on"
        elif not events:
            self.events_mask = "off"
        else:
            self.events_mask = str(events)
        self.banner = None
        self._sock = None
        self._buffer = b""
        self._messages = deque()
        self._events = deque()
        self._action_prefix = secrets.token_hex(4)
        self._action_count = 0

    # -- connection --------------------------------------------------------

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def connected(self):
        return self._sock is not None

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, exc_type, exc, traceback):
        if self._sock is None:
            return
        if exc_type is None:
            self.logoff()
        else:
            self.close()

    def connect(self):
        """Open the TCP connection, check the banner and log in."""
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except ConnectionRefusedError as err:
            raise AmiError(
                f"Cannot connect to the Asterisk manager interface at {self.address}: "
                "connection refused. Check the channel's AMI settings (host, port) and "
                "that manager.conf enables AMI on that address."
            ) from err
        except TimeoutError as err:
            raise AmiError(
                f"Cannot connect to the Asterisk manager interface at {self.address}: "
                f"no answer within {self.timeout} s. Check the channel's AMI settings "
                "and the firewall."
            ) from err
        except OSError as err:
            raise AmiError(
                f"Cannot connect to the Asterisk manager interface at {self.address}: "
                f"{err.strerror or err}. Check the channel's AMI settings."
            ) from err
        try:
            try:
                first = self._next_message(time.monotonic() + self.timeout, "the banner")
            except TimeoutError as err:
                raise AmiError(
                    f"{self.address} accepted the connection but sent no Asterisk banner "
                    f"within {self.timeout} s. Check the channel's AMI settings."
                ) from err
            if "Banner" not in first:
                raise AmiError(
                    f"{self.address} is not an Asterisk manager interface "
                    f"(no 'Asterisk Call Manager' banner). Check the channel's AMI settings."
                )
            self.banner = first["Banner"]
            self._login()
        except BaseException:
            self.close()
            raise

    def _login(self):
        try:
            self.action(
                "Login", Username=self.username, Secret=self.secret, Events=self.events_mask
            )
        except _ActionError as err:
            raise AmiError(
                f"Asterisk at {self.address} refused the AMI login of user "
                f"'{self.username}': {err.asterisk_message}. Check the channel's AMI "
                "settings (user and secret, manager.conf permit/deny)."
            ) from err

    def close(self):
        """Close the socket without logging off."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def logoff(self):
        """Send ``Logoff`` (Asterisk answers ``Goodbye``) and close."""
        try:
            if self._sock is not None:
                self.action("Logoff")
        except AmiError:
            pass
        finally:
            self.close()

    # -- reading -----------------------------------------------------------

    def _next_message(self, deadline, waiting_for):
        """Return the next message: TimeoutError past ``deadline`` (None:
        none), AmiError when the connection is closed or broken."""
        while not self._messages:
            if self._sock is None:
                raise AmiError(f"Not connected to the Asterisk manager at {self.address}.")
            remaining = deadline - time.monotonic() if deadline is not None else None
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise  # an OSError too, but the connection is still usable
            except OSError as err:
                self.close()
                raise AmiError(
                    f"Connection to the Asterisk manager at {self.address} lost: {err}"
                ) from err
            if not chunk:
                self.close()
                raise AmiError(
                    f"Asterisk closed the manager connection at {self.address} "
                    f"while waiting for {waiting_for}."
                )
            messages, self._buffer = parse_messages(self._buffer + chunk)
            self._messages.extend(messages)
        return self._messages.popleft()

    def read_event(self, timeout=None):
        """Return the next event (a dict), or None if none came within
        ``timeout`` seconds (``None``: wait forever). AmiError when the
        connection is lost."""
        if self._events:
            return self._events.popleft()
        deadline = time.monotonic() + timeout if timeout is not None else None
        while True:
            try:
                message = self._next_message(deadline, "events")
            except TimeoutError:
                return None
            if "Event" in message:
                return message

    # -- actions -----------------------------------------------------------

    def _new_action_id(self):
        self._action_count += 1
        return f"{self._action_prefix}-{self._action_count}"

    def action(self, name, **fields):
        """Send the action ``name`` and return Asterisk's response as a dict.

        Field values are strings; a list or tuple sends the header once per
        item (``Variable``); ``None`` omits the header. A listing action
        (the response says ``EventList: start``) also gets the listed events,
        up to the ``...Complete`` event, under the key ``"events"``.
        Raises AmiError when Asterisk answers ``Response: Error``.
        """
        if self._sock is None:
            raise AmiError(f"Not connected to the Asterisk manager at {self.address}.")
        action_id = self._new_action_id()
        payload = _encode_action(name, action_id, fields)
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(payload)
        except OSError as err:
            self.close()
            raise AmiError(
                f"Connection to the Asterisk manager at {self.address} lost: {err}"
            ) from err
        deadline = time.monotonic() + self.timeout
        response = None
        listed = []
        try:
            while True:
                message = self._next_message(deadline, f"the answer to {name}")
                if message.get("ActionID") != action_id:
                    if "Event" in message:
                        self._events.append(message)
                    continue
                if "Event" not in message:
                    response = message
                    if response.get("Response") == "Error":
                        raise _ActionError(name, response)
                    if response.get("EventList", "").lower() != "start":
                        return response
                    continue
                if response is None:
                    # an event carrying this ActionID before the response
                    self._events.append(message)
                    continue
                if message.get("EventList", "").lower() == "complete":
                    response["events"] = listed
                    return response
                listed.append(message)
        except TimeoutError as err:
            raise AmiError(
                f"No answer from the Asterisk manager at {self.address} to {name} "
                f"within {self.timeout} s."
            ) from err

    def ping(self):
        """Keep-alive: ``Ping`` answers ``Ping: Pong``."""
        return self.action("Ping")

    def originate(self, *args, **kwargs):
        """Send :func:`originate_action` (same arguments); the response says
        ``Originate successfully queued``: the call itself is asynchronous."""
        name, fields = originate_action(*args, **kwargs)
        return self.action(name, **fields)

    _variables = staticmethod(_variables)

    def redirect(self, *args, **kwargs):
        """Send :func:`redirect_action` (same arguments)."""
        name, fields = redirect_action(*args, **kwargs)
        return self.action(name, **fields)

    def blind_transfer(self, *args, **kwargs):
        """Send :func:`blind_transfer_action` (same arguments)."""
        name, fields = blind_transfer_action(*args, **kwargs)
        return self.action(name, **fields)

    def core_show_channels(self):
        """Return the list of ``CoreShowChannel`` events (one per channel)."""
        return self.action("CoreShowChannels").get("events", [])

    def find_channel(self, extension, technology="PJSIP"):
        """Return the name of the active channel of ``extension`` (e.g.
        ``PJSIP/1001-0000002a``), preferring an answered one, or None."""
        extension = _check_extension(extension)
        prefix = f"{_check_technology(technology)}/{extension}-"
        found = [
            event
            for event in self.core_show_channels()
            if event.get("Channel", "").startswith(prefix)
        ]
        if not found:
            return None
        found.sort(key=lambda event: event.get("ChannelState") != "6")
        return found[0]["Channel"]

    def spy(self, *args, **kwargs):
        """Send :func:`spy_action` (same arguments)."""
        name, fields = spy_action(*args, **kwargs)
        return self.action(name, **fields)


class _ActionError(AmiError):
    def __init__(self, name, response):
        self.asterisk_message = response.get("Message") or "no reason given"
        self.response = response
        super().__init__(f"Asterisk refused the AMI action {name}: {self.asterisk_message}")


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


class _Call:
    """What the translator knows of one call (all channels of one Linkedid)."""

    def __init__(self, linkedid):
        self.linkedid = linkedid
        self.origin_seen = False
        self.origin_extension = None
        self.caller = ""
        self.called = ""
        self.external = False
        self.answered = False
        self.agent = None
        self.agent_leg = None
        self.held = False
        self.transfers = 0
        self.last_dial_status = None
        self.interaction_id = None
        self.dialer_call_id = None
        self.emitted = set()
        self.pending = []


class AmiEventTranslator:
    """Turn AMI events into the contact center's CTI events.

    Feed it every AMI event dict with :meth:`feed`; it returns the CTI events
    (``{"event", "call_id", "from", "to", "timestamp"[, "agent", "reason",
    "recording_url"]}``) the event implies, often none. A call is all the
    channels sharing one ``Linkedid``, which is the ``call_id``.

    - ``ringing``: an agent's extension starts ringing (``DialBegin``), or,
      for an outgoing call placed by an agent, the customer's line;
    - ``answered``: that dial is answered (``DialEnd`` ``ANSWER``), with the
      agent's extension;
    - ``held`` / ``resumed``: ``Hold`` / ``Unhold`` while answered;
    - ``transferred``: ``BlindTransfer`` / ``AttendedTransfer`` succeeded;
      ``agent`` is the target extension when it is one. An attended transfer
      is followed by ``answered`` for the target (already talking); a blind
      one by ``ringing`` and ``answered`` when the target picks up;
    - ``hangup``: the answered conversation ends (agent leg or customer leg
      hangs up, whichever first);
    - ``failed``: the customer hangs up before any agent answered, with
      ``reason`` (Asterisk's hang-up cause, and the last dial status);
    - ``voicemail``: a message was left (``VarSet VM_MESSAGEFILE``, or
      ``MessageWaiting`` carrying the caller's channel, Asterisk 18.10+);
    - ``recording``: ``MixMonitor`` records the call
      (``VarSet MIXMONITOR_FILENAME``).

    ``from``/``to`` are the customer's number and the dialled number (DID)
    for incoming calls; the agent's extension and the customer's number for
    calls an agent places. Calls between extensions only are not reported.
    An event repeated by Asterisk does not produce its CTI event twice.
    When the call carries the ``OMNICHANNEL_INTERACTION`` channel variable
    (click-to-dial), its events also carry ``"interaction_id"`` (int). A
    campaign dialer call (``OMNICHANNEL_CALL_ID`` set by its Originate) is
    reported under that call id, and the ``AMDSTATUS`` its dialplan's
    ``AMD()`` sets becomes ``answered`` with ``"amd"`` (``human``,
    ``machine``, ``notsure``) and no agent.

    :param clock: returns UNIX seconds; used when events carry no
        ``Timestamp`` (``timestampevents = no`` in manager.conf)
    :param extension_pattern: regular expression of agents' extensions
        (endpoint names); other endpoints are trunks
    :param recording_base_url: where the PBX publishes its spool directory
        over HTTP (``https://pbx.example.com/spool``); files under
        ``spool_dir`` get URLs below it. Without it URLs are ``file://``.
    :param voicemail_format: file extension appended to ``VM_MESSAGEFILE``
        (Asterisk gives the name without it)
    """

    MAX_CALLS = 5000
    MAX_FINISHED = 2000

    def __init__(
        self,
        clock=time.time,
        extension_pattern=r"\d{1,6}",
        recording_base_url=None,
        spool_dir="/var/spool/asterisk",
        voicemail_format="wav",
    ):
        self.clock = clock
        self.extension_re = re.compile(rf"^(?:{extension_pattern})$")
        self.recording_base_url = (recording_base_url or "").rstrip("/") or None
        self.spool_dir = spool_dir.rstrip("/")
        self.voicemail_format = voicemail_format
        self.calls = OrderedDict()
        self._finished = OrderedDict()
        self._agent_legs = {}
        self._handlers = {
            "Newchannel": self._on_channel_update,
            "Newstate": self._on_channel_update,
            "Newexten": self._on_channel_update,
            "NewCallerid": self._on_channel_update,
            "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end,
            "Hold": self._on_hold,
            "Unhold": self._on_unhold,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "VarSet": self._on_var_set,
            "MessageWaiting": self._on_message_waiting,
            "Hangup": self._on_hangup,
        }

    # -- helpers -----------------------------------------------------------

    def extension_of(self, channel):
        """Agent extension behind a channel name, or None for trunks,
        spies and other channels."""
        match = _CHANNEL_RE.match(channel or "") or _LOCAL_CHANNEL_RE.match(channel or "")
        if match and self.extension_re.match(match["endpoint"]):
            return match["endpoint"]
        return None

    def _timestamp(self, event):
        try:
            return int(float(event["Timestamp"]))
        except (KeyError, TypeError, ValueError):
            return int(self.clock())

    def _recording_url(self, path):
        if not path:
            return None
        if self.recording_base_url and path.startswith(self.spool_dir + "/"):
            relative = path[len(self.spool_dir) + 1 :]
            return f"{self.recording_base_url}/{quote(relative)}"
        if self.recording_base_url and not path.startswith("/"):
            return f"{self.recording_base_url}/{quote(path)}"
        return "file://" + quote(path)

    def _get_call(self, linkedid, create=True):
        if not linkedid or linkedid in self._finished:
            return None
        call = self.calls.get(linkedid)
        if call is None and create:
            call = self.calls[linkedid] = _Call(linkedid)
            while len(self.calls) > self.MAX_CALLS:
                self._forget(next(iter(self.calls)))
        return call

    def _call_of_leg(self, event, prefix=""):
        """The call a channel belongs to: the call it is the agent leg of
        (its Linkedid may differ after an attended transfer), else its
        Linkedid's."""
        linkedid = self._agent_legs.get(event.get(prefix + "Uniqueid"))
        if linkedid and linkedid in self.calls:
            return self.calls[linkedid]
        return self._get_call(event.get(prefix + "Linkedid") or event.get(prefix + "Uniqueid"))

    def _note_channel(self, call, event, prefix=""):
        """Learn the call's parties from its originating channel."""
        uniqueid = event.get(prefix + "Uniqueid")
        if not uniqueid or uniqueid != call.linkedid:
            return
        channel = event.get(prefix + "Channel", "")
        if not call.origin_seen:
            call.origin_seen = True
            call.origin_extension = self.extension_of(channel)
            call.external = call.origin_extension is None
        if call.origin_extension:
            call.caller = call.origin_extension
        elif not call.caller:
            number = event.get(prefix + "CallerIDNum", "")
            call.caller = "" if number in _UNKNOWN else number
        exten = event.get(prefix + "Exten", "")
        if not call.called and exten not in ("", "s", "<unknown>"):
            call.called = exten

    def _emit(self, call, name, event, key=None, **extra):
        if key is not None:
            if key in call.emitted:
                return []
            call.emitted.add(key)
        cti = {
            "event": name,
            "call_id": call.dialer_call_id or call.linkedid,
            "from": call.caller,
            "to": call.called,
            "timestamp": self._timestamp(event),
        }
        if call.interaction_id:
            cti["interaction_id"] = call.interaction_id
        cti.update({k: v for k, v in extra.items() if v})
        return [cti]

    def _become_external(self, call):
        """An agent's own call reached a customer: report what was held back."""
        call.external = True
        pending, call.pending = call.pending, []
        out = []
        for name, event, key, extra in pending:
            out += self._emit(call, name, event, key=key, **extra)
        return out

    def _emit_or_defer(self, call, name, event, key, **extra):
        if call.external:
            return self._emit(call, name, event, key=key, **extra)
        if call.origin_extension:
            call.pending.append((name, event, key, extra))
        return []

    def _finish(self, call, name, event, **extra):
        out = self._emit(call, name, event, **extra) if call.external else []
        self._forget(call.linkedid)
        return out

    def _forget(self, linkedid):
        call = self.calls.pop(linkedid, None)
        if call is not None:
            self._agent_legs = {
                leg: lid for leg, lid in self._agent_legs.items() if lid != linkedid
            }
        self._finished[linkedid] = True
        while len(self._finished) > self.MAX_FINISHED:
            self._finished.popitem(last=False)

    # -- handlers ----------------------------------------------------------

    def feed(self, event):
        """Translate one AMI event; return the list of CTI events."""
        handler = self._handlers.get(event.get("Event"))
        return handler(event) if handler else []

    def _on_channel_update(self, event):
        call = self._get_call(event.get("Linkedid"))
        if call is not None:
            self._note_channel(call, event)
        return []

    def _dial_agent(self, call, event):
        """(agent extension, agent channel prefix) of a dial, or (None, None)."""
        dest_extension = self.extension_of(event.get("DestChannel"))
        if dest_extension:
            return dest_extension, "Dest"
        if call.origin_extension:
            return call.origin_extension, ""
        return None, None

    def _on_dial_begin(self, event):
        if "Channel" not in event:
            # Originate rings the agent's phone first: no caller yet
            call = self._get_call(event.get("DestLinkedid"))
            if call is not None:
                self._note_channel(call, event, "Dest")
            return []
        call = self._get_call(event.get("Linkedid"))
        if call is None:
            return []
        self._note_channel(call, event)
        out = []
        dest_extension = self.extension_of(event.get("DestChannel"))
        if dest_extension is None and call.origin_extension and not call.external:
            # an agent's call leaves through a trunk: it reaches a customer
            if not call.called:
                exten = event.get("Exten", "")
                call.called = "" if exten in ("", "s") else exten
            out += self._become_external(call)
        if not call.external:
            return out
        agent, _prefix = self._dial_agent(call, event)
        if agent is None or (call.answered and call.agent == agent):
            return out
        return out + self._emit(
            call, "ringing", event, key=("ringing", agent, call.transfers), agent=agent
        )

    def _on_dial_end(self, event):
        call = self._get_call(event.get("Linkedid"), create=False)
        if call is None or not call.external:
            return []
        status = event.get("DialStatus", "")
        if status != "ANSWER":
            call.last_dial_status = status
            return []
        agent, prefix = self._dial_agent(call, event)
        if agent is None:
            return []
        call.answered = True
        call.agent = agent
        call.held = False
        leg_channel = event.get(prefix + "Channel", "")
        if not leg_channel.startswith("Local/"):
            # Local channels are optimised away mid-call: never an agent leg
            self._set_agent_leg(call, event.get(prefix + "Uniqueid"))
        return self._emit(
            call, "answered", event, key=("answered", agent, call.transfers), agent=agent
        )

    def _set_agent_leg(self, call, uniqueid):
        if call.agent_leg:
            self._agent_legs.pop(call.agent_leg, None)
        call.agent_leg = uniqueid
        if uniqueid:
            self._agent_legs[uniqueid] = call.linkedid

    def _on_hold(self, event):
        call = self._call_of_leg(event)
        if call is None or not call.external or not call.answered or call.held:
            return []
        call.held = True
        return self._emit(call, "held", event, agent=call.agent)

    def _on_unhold(self, event):
        call = self._call_of_leg(event)
        if call is None or not call.external or not call.held:
            return []
        call.held = False
        return self._emit(call, "resumed", event, agent=call.agent)

    def _on_blind_transfer(self, event):
        if event.get("Result") != "Success":
            return []
        call = self._call_of_leg(event, "Transferer")
        if call is None:
            call = self._get_call(event.get("TransfereeLinkedid"), create=False)
        if call is None or not call.external:
            return []
        target = event.get("Extension", "")
        key = ("transferred", event.get("TransfererUniqueid"), target)
        if key in call.emitted:
            return []
        call.transfers += 1
        call.held = False
        call.agent = None
        self._set_agent_leg(call, None)
        return self._emit(
            call,
            "transferred",
            event,
            key=key,
            agent=target if self.extension_re.match(target) else None,
            reason=f"blind transfer to {target}",
        )

    def _on_attended_transfer(self, event):
        if event.get("Result") != "Success":
            return []
        call = self._call_of_leg(event, "OrigTransferer")
        if call is None:
            call = self._get_call(event.get("TransfereeLinkedid"), create=False)
        if call is None or not call.external:
            return []
        key = ("transferred", event.get("OrigTransfererUniqueid"), "attended")
        if key in call.emitted:
            return []
        target_channel = event.get("TransferTargetChannel", "")
        target = self.extension_of(target_channel)
        call.transfers += 1
        call.held = False
        call.agent = target
        if target and not target_channel.startswith("Local/"):
            self._set_agent_leg(call, event.get("TransferTargetUniqueid"))
        else:
            self._set_agent_leg(call, None)
        described = target or event.get("SecondTransfererConnectedLineNum", "")
        out = self._emit(
            call,
            "transferred",
            event,
            key=key,
            agent=target,
            reason=f"attended transfer to {described}",
        )
        if target:
            out += self._emit(
                call, "answered", event, key=("answered", target, call.transfers), agent=target
            )
        return out

    def _on_var_set(self, event):
        variable = event.get("Variable", "")
        if variable not in (
            INTERACTION_VARIABLE,
            DIALER_CALL_VARIABLE,
            AMD_VARIABLE,
            "MIXMONITOR_FILENAME",
            "VM_MESSAGEFILE",
        ):
            return []
        call = self._call_of_leg(event)
        if call is None:
            return []
        self._note_channel(call, event)
        value = event.get("Value", "")
        if variable == INTERACTION_VARIABLE:
            if value.isdigit() and not call.interaction_id:
                call.interaction_id = int(value)
            return []
        if variable == DIALER_CALL_VARIABLE:
            if value and not call.dialer_call_id:
                call.dialer_call_id = value
                # Originate of Local/<number>@<context>: the number called
                local = _LOCAL_CHANNEL_RE.match(event.get("Channel", ""))
                if local and not call.called:
                    call.called = local["endpoint"]
            return []
        if variable == AMD_VARIABLE:
            verdict = value.lower()
            if not call.dialer_call_id or verdict not in ("human", "machine", "notsure"):
                return []  # not a campaign call, or AMD saw a hang-up (its Hangup follows)
            return self._emit(call, "answered", event, key=("answered", "amd"), amd=verdict)
        if variable == "MIXMONITOR_FILENAME":
            return self._emit_or_defer(
                call,
                "recording",
                event,
                ("recording", value),
                recording_url=self._recording_url(value),
                agent=call.agent,
            )
        path = None
        if value and value != "IMAP_STORAGE":
            path = f"{value}.{self.voicemail_format}" if self.voicemail_format else value
        return self._emit_or_defer(
            call, "voicemail", event, ("voicemail",), recording_url=self._recording_url(path)
        )

    def _on_message_waiting(self, event):
        # Asterisk 18.10+ adds the channel that left the message; without it
        # (a mailbox changed by other means) nothing ties it to a call.
        if not event.get("Linkedid") or self.extension_of(event.get("Channel")):
            return []
        try:
            if int(event.get("New", "0")) < 1:
                return []
        except ValueError:
            return []
        call = self._get_call(event["Linkedid"], create=False)
        if call is None or not call.external:
            return []
        return self._emit(call, "voicemail", event, key=("voicemail",))

    def _on_hangup(self, event):
        uniqueid = event.get("Uniqueid")
        linkedid = self._agent_legs.get(uniqueid)
        if linkedid:
            call = self.calls.get(linkedid)
            if call is not None and call.agent_leg == uniqueid and call.answered:
                return self._finish(call, "hangup", event, agent=call.agent)
        call = self._get_call(event.get("Linkedid"), create=False)
        if call is None or uniqueid != call.linkedid:
            return []
        if call.answered:
            return self._finish(call, "hangup", event, agent=call.agent)
        reason = event.get("Cause-txt") or f"cause {event.get('Cause', '?')}"
        if call.last_dial_status:
            reason = f"{reason} (dial status {call.last_dial_status})"
        return self._finish(call, "failed", event, reason=reason)
