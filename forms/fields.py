"""Custom WTForms fields the workflow forms need: mobile numbers, euros, multiple checkboxes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from wtforms import SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from services.phones import normalise_mobile

MONEY = re.compile(
    r"^\s*(\d{1,3}(?:[ \u00a0\u202f]?\d{3})*|\d+)(?:[.,](\d{1,2}))?\s*(?:€|EUR)?\s*$"
)


def parse_euros(text: str) -> int | None:
    """Turn '12,50', '12.5', '1 234,56 €' into cents; None when it is not an amount."""
    match = MONEY.match(text or "")
    if match is None:
        return None
    whole = re.sub(r"\D", "", match.group(1))
    cents = (match.group(2) or "0").ljust(2, "0")
    try:
        return int(Decimal(whole) * 100 + Decimal(cents))
    except InvalidOperation:
        return None


def format_euros(cents: int | None) -> str:
    """Write cents as a French amount without the symbol: 1250 -> '12,50'."""
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


class MobileField(StringField):
    """A phone number typed any usual way, kept in E.164 (+33612345678)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.raw = self.data
        if self.data:
            normalised = normalise_mobile(self.data)
            self.data = normalised
            if normalised is None:
                raise ValueError(
                    "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78 "
                    "ou +32 470 12 34 56."
                )


class MoneyField(StringField):
    """An amount in euros typed with a comma or a dot, kept as integer cents."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_euros(self.data) if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_data = valuelist
        text = (valuelist[0] if valuelist else "") or ""
        if not text.strip():
            self.data = None
            return
        self.data = parse_euros(text)
        if self.data is None:
            raise ValueError("Saisissez un montant en euros, par exemple 12,50.")


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
