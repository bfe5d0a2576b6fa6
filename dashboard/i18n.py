"""Messages and number/date formats in Vietnamese (default) and English.

Messages live in the one catalogue of every floor (:mod:`geo.catalogue`,
``data/locales/*.json``); numbers and dates are formatted by Babel with the
locale's rules, so 1835 is "1.835" and 5 August 2024 is "05/08/2024" in
Vietnamese. This module adds what only the dashboard says: reasons in words
and coded values as people read them.
"""

from __future__ import annotations

import datetime as dt

from geo.catalogue import LANGUAGES, format_number, format_numbers
from geo.catalogue import text as _text

__all__ = ["LANGUAGES", "choice_key", "choice_label", "format_date", "format_number",
           "format_numbers", "known_language", "reason_text", "translate"]


def known_language(value, default: str = LANGUAGES[0]) -> str:
    """``value`` if it is a language of the catalogues (:data:`LANGUAGES`), else ``default``.

    What a page does with the language a browser sends (a store, a query parameter):
    anything else is read as the default, never trusted.

    >>> known_language("en"), known_language("fr"), known_language(None, "en")
    ('en', 'vi', 'en')
    """
    return value if value in LANGUAGES else default


def translate(key: str, lang: str = "vi", **params) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in (:func:`geo.catalogue.text`).

    A key missing from the catalogue raises ``KeyError``: the test suite checks
    both catalogues hold the same keys, so a gap is found before users see it.
    """
    return _text(key, lang, **params)


def reason_text(key: str, params: dict, lang: str = "vi") -> str:
    """A key-area or priority reason in words ("Cách biên giới 3,2 km").

    Keys of :mod:`layers.key_areas` take the prefix ``reason.``, those of
    :mod:`layers.gaps` (``coverage.*``) none. A reason released to a role below
    commander comes without the numbers drawn from counts (rates, counts of a
    rise): it is then said without them (the ``.plain`` message).
    """
    shown = {k: format_number(v, lang, 1) if isinstance(v, float) else v
             for k, v in dict(params or {}).items()}
    prefix = "" if key.startswith("coverage.") else "reason."
    try:
        return translate(f"{prefix}{key}", lang, **shown)
    except KeyError:
        return translate(f"{prefix}{key}.plain", lang, **shown)


def format_date(value: dt.date, lang: str = "vi") -> str:
    """A date as dd/mm/yyyy, the form both our audiences read (05/08/2024)."""
    return value.strftime("%d/%m/%Y")


def choice_label(kind: str, field: str, code, lang: str = "vi") -> str:
    """A coded value as people read it ("security_camera" → "Camera giám sát ANTT" /
    "Security cameras").

    The words are the catalogue's (``type.<code>`` for an incident type, ``choice.<code>``
    for every other coded value); the Vietnamese ones are the record kinds' labels, which
    the importer also reads (``tests/test_i18n.py`` holds them equal). A code the kind does
    not know (a record written before a choice was renamed) is shown as it is.
    """
    from geo.kinds import KINDS

    if code is None or code != code:
        return "–"
    if not any(c.code == code for c in KINDS[kind].field(field).choices):
        return str(code)
    return translate(choice_key(kind, field, code), lang)


def choice_key(kind: str, field: str, code: str) -> str:
    """The catalogue key of a coded value's label (see :func:`choice_label`).

    >>> choice_key("incidents", "type", "tip"), choice_key("models", "class", "intensive")
    ('type.tip', 'choice.intensive')
    """
    return f"type.{code}" if (kind, field) == ("incidents", "type") else f"choice.{code}"
