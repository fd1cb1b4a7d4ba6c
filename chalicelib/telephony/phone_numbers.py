"""Callers' numbers in one canonical form (E.164), whatever shape the CRM or Twilio gives them.

The CRM is full of Japanese national formats (`03-1234-5678`, `090-1234-5678`); Twilio sends
E.164, a withheld-number placeholder, or `client:<identity>` for browser calls. The lookup key
in the customers table is E.164, so both sides go through here.
"""

from __future__ import annotations

import phonenumbers

# What Twilio sends in `From` when the caller withheld their number.
_WITHHELD = frozenset(
    {"anonymous", "restricted", "unknown", "private", "unavailable", "+266696687"}
)


class InvalidPhoneNumber(ValueError):
    """The text is not a dialable phone number."""


def to_e164(raw: str, default_country: str = "JP") -> str:
    """Normalise a number to E.164, or raise InvalidPhoneNumber."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("empty phone number")
    try:
        parsed = phonenumbers.parse(text, default_country)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"cannot parse {text!r}: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} is not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def caller_e164(raw_from: str, default_country: str = "JP") -> str | None:
    """The caller's E.164 number, or None for a browser client or a withheld number."""
    text = raw_from.strip()
    if not text or text.lower().startswith(("client:", "sip:")) or text.lower() in _WITHHELD:
        return None
    try:
        return to_e164(text, default_country)
    except InvalidPhoneNumber:
        return None


def for_display(number: str, home_country: str = "JP") -> str:
    """How the floor reads a number: national format for the home country (`03-3736-3999`),
    international for the rest (`+1 415-555-0100`); anything unparseable as given."""
    try:
        parsed = phonenumbers.parse(number, home_country)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    home = phonenumbers.region_code_for_number(parsed) == home_country
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def masked(number: str | None) -> str:
    """A number safe for logs: enough to correlate, not enough to identify the caller."""
    if not number:
        return "-"
    return number[:4] + "*" * max(len(number) - 6, 0) + number[-2:]
