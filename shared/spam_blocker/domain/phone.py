"""Phone numbers: E.164 normalisation, prefixes, emergency and short codes, toll-free."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo


class InvalidNumber(ValueError):
    """A number that cannot be parsed into E.164."""


# N11 service codes, 988 (US crisis line), and international emergency codes.
_SERVICE_CODES = frozenset({"211", "311", "411", "511", "611", "711", "811", "911", "988", "112", "999", "000", "110", "119", "08"})


def _digits_only(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit())


def is_emergency_or_short(raw: str, region: str = "US") -> bool:
    """True for 911/112/999/988/N11 and other short codes (6 or fewer digits), in any written form."""
    digits = _digits_only(raw.split(";")[0])
    if not digits:
        return False
    if digits in _SERVICE_CODES:
        return True
    # "+1911", "1911" etc.: a country code glued to a service code.
    if len(digits) <= 6:
        return True
    try:
        if shortnumberinfo.is_emergency_number(digits, region):
            return True
    except Exception:  # phonenumbers raises on odd regions; a parse problem is not an emergency
        return False
    return False


@lru_cache(maxsize=65536)
def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"cannot parse phone number {raw!r}: {exc}") from None
    # IS_POSSIBLE_LOCAL_ONLY ('555-0123' in the US: a number without its area code) is not a whole number.
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidNumber(f"not a possible phone number: {raw!r}")
    return number


def normalize(raw: str, region: str = "US") -> str:
    """Any common written form ('+1 (907) 555-0123', '19075550123', '907-555-0123') -> '+19075550123'.

    Extensions are dropped. Raises InvalidNumber for text that is not a possible number.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidNumber("empty phone number")
    text = raw.strip()
    digits = _digits_only(text)
    # Bare 11-digit NANP numbers ("19075550123") and international numbers written without '+'.
    if not text.startswith("+") and len(digits) == 11 and digits.startswith("1") and region in {"US", "CA"}:
        text = "+" + digits
    try:
        number = _parse(text, region)
    except InvalidNumber:
        # '00 44 20 7946 0960': 00 is the international prefix across most of the world, though not the
        # region's own (the US dials 011). Where the number does not read as written, read 00 as '+'.
        if text.startswith("+") or not digits.startswith("00") or len(digits) < 6:
            raise
        try:
            number = _parse("+" + digits[2:], region)
        except InvalidNumber:
            raise InvalidNumber(f"not a possible phone number: {raw!r}") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # A real number's E.164 form reads back as itself. Some digit strings do not ('(000) 000-0000' in DE gives
    # +49000000000, which reads as +4900000000): one caller would get several identities. Not a number.
    if phonenumbers.format_number(_parse(e164, region), phonenumbers.PhoneNumberFormat.E164) != e164:
        raise InvalidNumber(f"not a stable phone number: {raw!r}")
    return e164


def digits(e164: str) -> str:
    """'+19075550123' -> '19075550123' (Zoom's prefix form)."""
    return e164.lstrip("+")


@lru_cache(maxsize=65536)
def min_prefix_length(e164: str) -> int:
    """Digits of country code + area code: the shortest prefix that may ever be blocked (NANP: 4)."""
    number = _parse(e164, "ZZ")
    cc = len(str(number.country_code))
    area = phonenumbers.length_of_geographical_area_code(number) or phonenumbers.length_of_national_destination_code(number)
    return cc + max(area, 1)


@lru_cache(maxsize=65536)
def is_toll_free(e164: str) -> bool:
    number = _parse(e164, "ZZ")
    return phonenumbers.number_type(number) in (PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST)


def prefix_covers(prefix_digits: str, e164: str) -> bool:
    """True when a prefix (digits with country code, no '+') covers a number."""
    return digits(e164).startswith(prefix_digits)


def prefixes_of(e164: str, shortest: int | None = None, longest: int | None = None) -> list[str]:
    """All prefixes of a number from `shortest` (default: country+area code) to len-1 digits, shortest first."""
    d = digits(e164)
    lo = max(shortest or 0, min_prefix_length(e164))
    hi = min(longest if longest is not None else len(d) - 1, len(d) - 1)
    return [d[:n] for n in range(lo, hi + 1)]
