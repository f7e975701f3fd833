"""omnichannel_cc_voip/tools/dialer.py: the campaign dialer's PBX contract, without Odoo."""

import sys

import pytest

from tests.unit._tools import load_tools

(dialer,) = load_tools("dialer", addon="omnichannel_cc_voip")


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


@pytest.mark.parametrize(
    ("reason", "outcome", "pacing"),
    [
        ("busy", "busy", "busy"),
        ("SIP 486 Busy Here", "busy", "busy"),
        ("Circuit/channel congestion (dial status CONGESTION)", "busy", "busy"),
        ("no answer", "no_answer", "no_answer"),
        ("Normal Clearing (dial status NOANSWER)", "no_answer", "no_answer"),
        (None, "no_answer", "no_answer"),
        ("Unallocated number", "no_answer", "failed"),
    ],
)
def test_failure_outcomes(reason, outcome, pacing):
    assert dialer.failure_outcome(reason) == outcome
    assert dialer.pacing_outcome(reason) == pacing


def test_machine_only_when_the_pbx_says_so():
    assert dialer.is_machine("MACHINE")
    assert not dialer.is_machine("notsure")
    assert not dialer.is_machine(None)


def test_http_dial_body():
    body = dialer.http_dial_body(
        "dialer-1-2-ab",
        "+48 601 200 001",
        "+48225550101",
        1_772_442_000.7,
        7,
        3,
        "Debts",
        30,
        "message",
        "sorry.wav",
    )
    assert body == {
        "command": "dial",
        "call_id": "dialer-1-2-ab",
        "to": "+48601200001",
        "caller_id": "+48225550101",
        "timestamp": 1_772_442_000,
        "interaction_id": 7,
        "campaign_id": 3,
        "campaign": "Debts",
        "ring_seconds": 30,
        "amd": True,
        "machine_action": "message",
        "machine_message": "sorry.wav",
    }
    with pytest.raises(ValueError):
        dialer.http_dial_body("c", "+48601200001", None, 0, 1, 1, "x", 30, "sing")
    with pytest.raises(ValueError):
        dialer.http_dial_body("c", "601; DROP", None, 0, 1, 1, "x", 30, "hangup")


def test_originate_refuses_what_would_break_the_ami_message():
    name, fields = dialer.originate_dialer_action("+48601200001", "trunk", "c-1", 5, 2)
    assert name == "Originate"
    assert fields["Channel"] == "Local/+48601200001@trunk"
    assert "OMNICHANNEL_MACHINE=hangup" in fields["Variable"]
    with pytest.raises(ValueError):
        dialer.originate_dialer_action("+48601200001", "trunk", "c-1\r\nAction: Hangup", 5, 2)
    with pytest.raises(ValueError):
        dialer.originate_dialer_action("+48601200001", "", "c-1", 5, 2)


def test_ami_bridge_reports_a_campaign_call_under_its_call_id_with_amd():
    (ami,) = load_tools("ami", addon="omnichannel_cc_voip")
    translator = ami.AmiEventTranslator(clock=lambda: 1_772_442_000)
    leg = {
        "Channel": "Local/+48601200001@from-internal-00000001;1",
        "Uniqueid": "1772442000.1",
        "Linkedid": "1772442000.1",
        "CallerIDNum": "+48225550101",
        "Exten": "s",
    }
    out = translator.feed(dict(leg, Event="Newchannel"))
    out += translator.feed(
        dict(leg, Event="VarSet", Variable="OMNICHANNEL_CALL_ID", Value="dialer-3-9-ab")
    )
    out += translator.feed(dict(leg, Event="VarSet", Variable="AMDSTATUS", Value="MACHINE"))
    # repeated by Asterisk: reported once
    out += translator.feed(dict(leg, Event="VarSet", Variable="AMDSTATUS", Value="MACHINE"))
    assert [(e["event"], e["call_id"], e.get("amd"), e.get("agent")) for e in out] == [
        ("answered", "dialer-3-9-ab", "machine", None)
    ]
    (cti,) = load_tools("cti", addon="omnichannel_cc_voip")
    assert cti.parse_event(out[0])["amd"] == "machine"


def test_ami_bridge_ignores_amd_of_other_calls():
    (ami,) = load_tools("ami", addon="omnichannel_cc_voip")
    translator = ami.AmiEventTranslator(clock=lambda: 1_772_442_000)
    leg = {"Channel": "PJSIP/trunk-00000002", "Uniqueid": "7.2", "Linkedid": "7.2"}
    translator.feed(dict(leg, Event="Newchannel", CallerIDNum="+48601200002", Exten="100"))
    assert translator.feed(dict(leg, Event="VarSet", Variable="AMDSTATUS", Value="HUMAN")) == []
