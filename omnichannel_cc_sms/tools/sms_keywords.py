"""Opt-out, opt-in and help keywords of received SMS.

Pure Python, no ORM. A keyword is the whole message: trimmed, compared
case-insensitively (``stop``, `` Stop `` and ``STOP`` match ``STOP``; ``stop
calling me`` does not), internal runs of spaces counting as one
(``STOP  ALL`` matches ``STOP ALL``).
"""

import re

OPTOUT = "optout"
OPTIN = "optin"
HELP = "help"

# Not "NIE" by default although Polish senders often print "wyślij NIE": it
# is also the ordinary "no" a customer answers an agent with, and an opt-out
# cannot be undone by the agent. A channel that advertises it adds it.
DEFAULT_OPTOUT = (
    "STOP,STOP ALL,STOPALL,UNSUBSCRIBE,END,QUIT,CANCEL,OPTOUT,REVOKE,REZYGNUJĘ,REZYGNUJE,WYPISZ"
)
DEFAULT_OPTIN = "START,UNSTOP,TAK"
DEFAULT_HELP = "HELP,POMOC"

_SPACES = re.compile(r"\s+")


def normalize(text):
    """The comparable form of a message or keyword."""
    return _SPACES.sub(" ", (text or "").strip()).casefold()


def parse_keywords(text):
    """The normalized keywords of a comma-separated list (empty ones dropped)."""
    return frozenset(normalize(word) for word in (text or "").split(",") if normalize(word))


def match_keyword(text, optout="", optin="", help_words=""):
    """``"optout"``, ``"optin"`` or ``"help"`` when the whole of ``text`` is
    one of the keywords of that comma-separated list (opt-out wins when a
    word is in several lists), else None."""
    message = normalize(text)
    if not message:
        return None
    for kind, words in ((OPTOUT, optout), (OPTIN, optin), (HELP, help_words)):
        if message in parse_keywords(words):
            return kind
    return None
