"""Phone numbers as schools record them and as parents type them, kept in E.164."""

from __future__ import annotations

import phonenumbers


def normalise_mobile(text: str | None, region: str = "FR") -> str | None:
    """Return the E.164 form of a phone number, or None when it cannot be one.

    Numbers the library calls merely *possible* are accepted: fiction ranges used by
    schools and new number blocks are not always *valid* for it. A national number is read
    as French; `00` international prefixes work too.
    """
    text = (text or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """Tell whether an E.164 number can receive SMS (French 06/07 or any foreign mobile)."""
    number = phonenumbers.parse(e164, None)
    kind = phonenumbers.number_type(number)
    mobile_kinds = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if kind in mobile_kinds:
        return True
    # Fiction and new blocks are not 'valid' for the library: judge French ones by prefix.
    return e164.startswith(("+336", "+337"))


def masked(e164: str) -> str:
    """Show a number the way a page may: 06 •• •• •• 10."""
    national = phonenumbers.format_number(
        phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    digits = national.split()
    if len(digits) < 3:
        return national[:2] + " •• " + national[-2:]
    return " ".join([digits[0], *["••"] * (len(digits) - 2), digits[-1]])
