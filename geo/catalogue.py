"""The message catalogue: every word a person reads, in Vietnamese (default) and English.

One JSON file per language (``data/locales/vi.json``, ``en.json``) holds every
message of every floor under a namespaced key: ``ingest.*`` (why a row or a
file was refused), ``template.*`` (the import template's guidance),
``report.*`` (the reports), and the dashboard's own (``layer.*``, ``map.*``…).
A reviewer reads them all in one place; ``tests/test_i18n.py`` checks both
languages hold the same keys with the same placeholders, and that no
Vietnamese sentence is written in the code instead.

This module sits below every floor that speaks (``geo.ingest``, ``layers``,
``dashboard.i18n`` builds on it), so the flow stays one way.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from data import LOCALES_DIR
from geo.config import LANGUAGES  # the languages of the catalogue, the default first

__all__ = ["LANGUAGES", "catalogue", "format_number", "text"]


@lru_cache(maxsize=len(LANGUAGES))
def _read(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {LANGUAGES}")
    return json.loads((LOCALES_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def catalogue(lang: str = "vi") -> dict[str, str]:
    """All messages of ``lang``, ``{key: message}`` (a copy: the catalogue is never changed).

    >>> catalogue("en")["type.victim"]
    'Victim received'
    """
    return dict(_read(lang))


def text(key: str, lang: str = "vi", **params) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in.

    A key missing from the catalogue raises ``KeyError``, an unknown language
    ``ValueError``: the test suite checks both catalogues hold the same keys,
    so a gap is found before a user sees it.

    >>> text("ingest.date.future", "en", value="05/08/2031", today="23/11/2026")
    '05/08/2031 is in the future (after 23/11/2026)'
    >>> text("ingest.date.future", value="05/08/2031", today="23/11/2026")
    'Ngày 05/08/2031 ở tương lai (sau 23/11/2026)'
    """
    return _read(lang)[key].format(**params)


def format_number(value: float, lang: str = "vi", digits: int = 0) -> str:
    """A number with the locale's separators: 1835 → "1.835" (vi), "1,835" (en).

    >>> format_number(1835), format_number(1835, "en"), format_number(12.345, "vi", 1)
    ('1.835', '1,835', '12,3')
    """
    try:
        return _format_finite(value, lang, digits)
    except (InvalidOperation, ValueError, TypeError):  # NaN, infinities, what Babel refuses
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=_LOCALES.get(lang, "en_GB"))


#: The Babel locale of each catalogue language (its separators).
_LOCALES = {"vi": "vi_VN", "en": "en_GB"}


@lru_cache(maxsize=8)
def _separators(lang: str) -> dict[int, str]:
    locale = _LOCALES.get(lang, "en_GB")
    return {ord(","): get_group_symbol(locale), ord("."): get_decimal_symbol(locale)}


def _format_finite(value, lang: str, digits: int) -> str:
    """What Babel's ``format_decimal`` writes for a finite number, some fifty times faster.

    A map's hover text formats one value per commune (3,321 in the country): Babel
    parses its pattern and looks the locale up on every call. This reads the number as
    Babel does (``Decimal(str(value))``), rounds it as Babel does (half to even, at
    ``digits`` places; the sign of the value before rounding: -0.04 → "-0,0"), and puts
    the locale's separators in (groups of three).
    """
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError("not a finite number")
    rounded = abs(number).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    text = format(rounded, f",.{digits}f").translate(_separators(lang))
    return "-" + text if number.is_signed() else text
