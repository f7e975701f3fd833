"""omnichannel_cc_voip/tools/cti.py: the keypad survey event, without Odoo."""

import pytest

from tests.unit._tools import load_tools

(cti,) = load_tools("cti", addon="omnichannel_cc_voip")


def keypad(**extra):
    return dict({"event": "survey_answer", "call_id": "c-1", "timestamp": 1_700_000_000}, **extra)


def test_survey_answer_needs_no_numbers():
    values = cti.parse_event(keypad(digits="10"))
    assert (values["event"], values["digits"], values["from"], values["to"]) == (
        "survey_answer",
        "10",
        None,
        None,
    )
    # a JSON number is taken as its digits
    assert cti.parse_event(keypad(digits=4))["digits"] == "4"


@pytest.mark.parametrize("digits", [None, "", "4a", "*", "-1", "1.5", "\u0664", "12345", "4 2"])
def test_survey_answer_refuses_other_than_digits(digits):
    with pytest.raises(cti.CtiError) as raised:
        cti.parse_event(keypad(digits=digits))
    assert raised.value.status == 400


def test_digits_on_another_event_refused():
    with pytest.raises(cti.CtiError):
        cti.parse_event(
            {
                "event": "hangup",
                "call_id": "c",
                "from": "1",
                "to": "2",
                "timestamp": 1,
                "digits": "4",
            }
        )
    # the other events still need their numbers
    with pytest.raises(cti.CtiError):
        cti.parse_event({"event": "hangup", "call_id": "c", "timestamp": 1})
