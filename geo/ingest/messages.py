"""Why a row or a file was refused, in Vietnamese (default) and English.

Every rejection carries a reason code (``date.future``) and its parameters;
the text is made here, in the reader's language, by :func:`describe`, from
the catalogue's ``ingest.<code>`` messages (:mod:`geo.catalogue`). The codes
are stable: the quarantine and the rejects files keep them, so a report can
be re-read in either language.
"""

from __future__ import annotations

from geo.catalogue import LANGUAGES, catalogue, text

__all__ = ["MESSAGES", "describe"]

_PREFIX = "ingest."
_UNIT_SET = "ingest.unit_set."

#: The reason codes, each with its message in every language: ``{code: {lang: message}}``
#: (read from the catalogue, the one home of the words).
MESSAGES: dict[str, dict[str, str]] = {
    key[len(_PREFIX):]: {lang: catalogue(lang)[key] for lang in LANGUAGES}
    for key in catalogue("vi")
    if key.startswith(_PREFIX) and not key.startswith(_UNIT_SET)
}


def describe(code: str, lang: str = "vi", **params) -> str:
    """The message of reason ``code`` in ``lang`` with its parameters filled in.

    >>> describe("date.future", "en", value="05/08/2031", today="23/11/2026")
    '05/08/2031 is in the future (after 23/11/2026)'
    >>> describe("commune.unknown_code", value="99999", unit_set="legacy")
    'Mã xã 99999 không thuộc các xã, phường, thị trấn trước 01/7/2025'
    """
    lang = lang if lang in LANGUAGES else "vi"
    if "unit_set" in params:
        unit_set = catalogue(lang).get(f"{_UNIT_SET}{params['unit_set']}")
        params["unit_set"] = unit_set or params["unit_set"]
    try:
        return text(f"{_PREFIX}{code}", lang, **params)
    except (KeyError, IndexError):
        if code not in MESSAGES:
            raise
        return f"{MESSAGES[code][lang]} {params}"
