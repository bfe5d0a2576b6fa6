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

import numpy as np
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from data import LOCALES_DIR
from geo.config import LANGUAGES  # the languages of the catalogue, the default first

__all__ = ["LANGUAGES", "catalogue", "format_number", "format_numbers", "text"]


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


#: Below this many units of the last place shown, a float and the shortest decimal that
#: reads back as it (what :func:`format_number` rounds) round alike unless they sit within
#: a millionth of a half: past it, or that near a half, :func:`format_numbers` asks
#: :func:`format_number` itself.
_EXACT_BELOW = 1e9
_HALF_MARGIN = 1e-6


def format_numbers(values, lang: str = "vi", digits=0) -> list[str]:
    """Many numbers written as :func:`format_number` writes each one, the same text, at once.

    The hover text of a map writes one number per commune (3,321 in the country) on every
    change of the filters: here they are rounded in one pass of numpy and only put
    together as text one by one. The few whose rounding could differ from Babel's reading
    (``Decimal(str(value))``, half to even) — within a millionth of a half at the last
    place shown, a billion units of it or more, NaN and infinities — are written by
    :func:`format_number` itself.

    Parameters
    ----------
    values : array-like of numbers
    lang : {"vi", "en"}
    digits : int or array-like of int
        Decimal places, one for all or one per value.

    Returns
    -------
    list of str

    Examples
    --------
    >>> format_numbers([1835, 12.345, -0.04, 0.25, float("nan")], "vi", [0, 1, 1, 1, 0])
    ['1.835', '12,3', '-0,0', '0,2', 'NaN']
    >>> format_numbers([1835.5], "en", 1)
    ['1,835.5']
    """
    numbers = np.asarray(values, dtype=float).ravel()
    places = np.broadcast_to(np.asarray(digits, dtype=np.int64), numbers.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(numbers) * np.power(10.0, places)
        fraction = scaled - np.floor(scaled)
        safe = (np.isfinite(scaled) & (scaled < _EXACT_BELOW)
                & (np.abs(fraction - 0.5) > _HALF_MARGIN) & (places >= 0))
    units = np.rint(np.where(safe, scaled, 0.0)).astype(np.int64)
    separators = _separators(lang)
    group, point = separators[ord(",")], separators[ord(".")]
    minus = np.where(np.signbit(numbers), "-", "").tolist()
    # the whole part with its groups, then the decimals (one f-string each: the slow part)
    scale = np.power(10, np.maximum(places, 0))
    wholes, parts = np.divmod(units, scale)
    wholes = [f"{w:,}".replace(",", group) for w in wholes.tolist()]
    out = [m + w + (point + str(p).zfill(n) if n else "")
           for m, w, p, n in zip(minus, wholes, parts.tolist(), places.tolist())]
    if not safe.all():
        raw = np.asarray(values, dtype=object).ravel()
        for i in np.flatnonzero(~safe).tolist():
            out[i] = format_number(raw[i], lang, int(places[i]))
    return out
