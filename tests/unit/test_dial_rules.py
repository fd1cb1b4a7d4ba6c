"""The outbound guard rails: which numbers a rep may dial, and why the others are refused."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.softphone.dial_rules import (
    SPOKEN_JA,
    DialPolicy,
    Refusal,
    check_number,
)

JAPAN_ONLY = DialPolicy.of("JP", "JP")


class DoNotCall:
    """The list as a set; records which numbers were looked up."""

    def __init__(self, *numbers: str, readable: bool = True) -> None:
        self.numbers = set(numbers)
        self.readable = readable
        self.asked: list[str] = []

    def __call__(self, number: str) -> bool | None:
        self.asked.append(number)
        return number in self.numbers if self.readable else None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03-1234-5678", "+81312345678"),  # Tokyo landline
        ("090-1234-5678", "+819012345678"),  # mobile
        ("0120-123-456", "+81120123456"),  # toll-free (free to the caller's callee, not us)
        ("+81 3 1234 5678", "+81312345678"),
        ("０３－１２３４－５６７８", "+81312345678"),  # full-width, as pasted from a CRM
    ],
)
def test_ordinary_japanese_numbers_are_dialled(raw: str, expected: str) -> None:
    dnc = DoNotCall()
    check = check_number(raw, JAPAN_ONLY, dnc)
    assert (check.allowed, check.number_e164, check.refused) == (True, expected, None)
    assert dnc.asked == [expected]


@pytest.mark.parametrize(
    ("raw", "refusal"),
    [
        ("+1 212 555 0100", Refusal.COUNTRY_NOT_ALLOWED),
        ("+44 20 7946 0958", Refusal.COUNTRY_NOT_ALLOWED),
        ("0990-123-456", Refusal.PREMIUM_RATE),  # Japan's dial-Q2 premium-rate range
        ("12", Refusal.INVALID_NUMBER),
        ("not a number", Refusal.INVALID_NUMBER),
    ],
)
def test_refused_numbers_never_reach_the_list_and_say_why(raw: str, refusal: Refusal) -> None:
    dnc = DoNotCall()
    check = check_number(raw, JAPAN_ONLY, dnc)
    assert check.refused == refusal
    assert not check.allowed
    assert check.reason_ja == SPOKEN_JA[refusal]
    assert dnc.asked == []


def test_another_country_is_dialled_once_allowed_but_its_premium_numbers_are_not() -> None:
    policy = DialPolicy.of("jp, US ", "JP")
    assert policy.allowed_countries == frozenset({"JP", "US"})
    assert check_number("+1 212 555 0100", policy, DoNotCall()).allowed
    assert check_number("+1 900 200 0000", policy, DoNotCall()).refused == Refusal.PREMIUM_RATE


def test_shared_cost_numbers_are_refused_even_in_an_allowed_country() -> None:
    # Japan has no number libphonenumber types SHARED_COST (0570 Navi Dial is UAN): Belgium's
    # 078 range is one.
    policy = DialPolicy.of("JP,BE", "JP")
    assert check_number("+32 78 79 12 34", policy, DoNotCall()).refused == Refusal.SHARED_COST


def test_a_number_on_the_do_not_call_list_is_refused_in_any_format() -> None:
    dnc = DoNotCall("+81312345678")
    for raw in ("03-1234-5678", "+81-3-1234-5678", "tel:+81-3-1234-5678"):
        check = check_number(raw, JAPAN_ONLY, dnc)
        assert check.refused == Refusal.DO_NOT_CALL
        assert check.as_json() == {
            "number": "+81312345678",
            "allowed": False,
            "reason": "do_not_call",
            "message": SPOKEN_JA[Refusal.DO_NOT_CALL],
        }


def test_an_unreadable_list_refuses_rather_than_risk_the_call() -> None:
    check = check_number("03-1234-5678", JAPAN_ONLY, DoNotCall(readable=False))
    assert check.refused == Refusal.UNCHECKED


def test_every_refusal_has_a_japanese_reason() -> None:
    assert set(SPOKEN_JA) == set(Refusal)
    assert all(text.endswith("。") for text in SPOKEN_JA.values())


@given(st.text(max_size=24))
def test_whatever_is_typed_the_answer_is_a_verdict_and_only_allowed_numbers_are_dialled(
    raw: str,
) -> None:
    check = check_number(raw, JAPAN_ONLY, DoNotCall())
    if check.allowed:
        parsed = phonenumbers.parse(check.number_e164)
        assert phonenumbers.region_code_for_number(parsed) == "JP"
        assert phonenumbers.number_type(parsed) not in (
            phonenumbers.PhoneNumberType.PREMIUM_RATE,
            phonenumbers.PhoneNumberType.SHARED_COST,
        )
    else:
        assert check.refused in set(Refusal)
