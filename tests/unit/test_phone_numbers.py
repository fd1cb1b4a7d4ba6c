from __future__ import annotations

import pytest

from chalicelib.telephony.phone_numbers import InvalidPhoneNumber, caller_e164, masked, to_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03-1234-5678", "+81312345678"),
        ("090-1234-5678", "+819012345678"),
        ("(06) 6123-4567", "+81661234567"),
        ("+81 3 1234 5678", "+81312345678"),
        ("０３－１２３４－５６７８", "+81312345678"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_national_and_international_formats_become_e164(raw: str, expected: str) -> None:
    assert to_e164(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "03-12", "+81 0000"])
def test_unusable_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw)


@pytest.mark.parametrize("raw", ["client:sato.haruto", "anonymous", "+266696687", "", "sip:x@y"])
def test_browser_and_withheld_callers_have_no_number(raw: str) -> None:
    assert caller_e164(raw) is None


def test_masked_number_keeps_country_and_last_digits_only() -> None:
    assert masked("+819012345678") == "+819*******78"
    assert masked(None) == "-"
