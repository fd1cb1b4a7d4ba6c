"""What a rep may dial: the guard rails checked before any outbound `<Dial>`, and why a number
is refused, in the words the rep hears and reads.

A stolen softphone session is a phone that calls anywhere on the company's account (toll
fraud), and a rep who calls a number on the do-not-call list breaks a promise the company made.
So every outbound number passes, in this order: it is a number at all, it is in an allowed
country, it is not premium-rate or shared-cost (libphonenumber's number types), and it is not
on the do-not-call list. The cheap checks come first; the list costs a DynamoDB read.

Pure: the do-not-call look-up is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from chalicelib.telephony.phone_numbers import InvalidPhoneNumber, to_e164


class Refusal(StrEnum):
    INVALID_NUMBER = "invalid_number"
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    DO_NOT_CALL = "do_not_call"
    # The do-not-call list could not be read: the number is not dialled (no customer waits on
    # an outbound call; the rep tries again), rather than risk calling someone on the list.
    UNCHECKED = "unchecked"


# What the rep hears (<Say language="ja-JP">) and reads in the page, per refusal.
SPOKEN_JA: dict[Refusal, str] = {
    Refusal.INVALID_NUMBER: "おかけになった番号は正しくありません。番号を確認してください。",
    Refusal.COUNTRY_NOT_ALLOWED: "この国の番号には発信できません。",
    Refusal.PREMIUM_RATE: "有料情報サービスの番号には発信できません。",
    Refusal.SHARED_COST: "通話料を分担する番号には発信できません。",
    Refusal.DO_NOT_CALL: "この番号は発信禁止リストに登録されているため、発信できません。",
    Refusal.UNCHECKED: "発信禁止リストを確認できませんでした。しばらくしてからおかけ直しください。",
}


@dataclass(frozen=True)
class DialPolicy:
    """The countries reps may call (libphonenumber region codes) and how national numbers
    are read."""

    allowed_countries: frozenset[str]
    default_country: str = "JP"

    @classmethod
    def of(cls, allowed_countries: str, default_country: str) -> DialPolicy:
        """From the settings' comma-separated list ("JP", "JP, US")."""
        countries = frozenset(
            code.strip().upper() for code in allowed_countries.split(",") if code.strip()
        )
        return cls(countries, default_country)


@dataclass(frozen=True)
class DialCheck:
    """The number as dialled (E.164, when it parsed) and, if refused, why."""

    number_e164: str = ""
    refused: Refusal | None = None

    @property
    def allowed(self) -> bool:
        return self.refused is None

    @property
    def reason_ja(self) -> str:
        return SPOKEN_JA[self.refused] if self.refused else ""

    def as_json(self) -> dict[str, object]:
        return {
            "number": self.number_e164,
            "allowed": self.allowed,
            "reason": self.refused.value if self.refused else None,
            "message": self.reason_ja or None,
        }


# libphonenumber's types that bill the caller more than a call (toll fraud pays out on
# premium-rate numbers) or split the cost with the callee. libphonenumber types Japan's 0570
# Navi Dial as UAN, not SHARED_COST, so it is dialled (put such numbers on the list to stop it).
_REFUSED_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: Refusal.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST: Refusal.SHARED_COST,
}


def check_number(
    raw: str, policy: DialPolicy, on_do_not_call_list: Callable[[str], bool | None]
) -> DialCheck:
    """Whether `raw` may be dialled. `on_do_not_call_list(e164)` answers None when the list
    cannot be read."""
    try:
        number = to_e164(raw, policy.default_country)
    except InvalidPhoneNumber:
        return DialCheck(refused=Refusal.INVALID_NUMBER)
    parsed = phonenumbers.parse(number)
    if phonenumbers.region_code_for_number(parsed) not in policy.allowed_countries:
        return DialCheck(number, Refusal.COUNTRY_NOT_ALLOWED)
    refused_type = _REFUSED_TYPES.get(phonenumbers.number_type(parsed))
    if refused_type is not None:
        return DialCheck(number, refused_type)
    listed = on_do_not_call_list(number)
    if listed is None:
        return DialCheck(number, Refusal.UNCHECKED)
    if listed:
        return DialCheck(number, Refusal.DO_NOT_CALL)
    return DialCheck(number)
