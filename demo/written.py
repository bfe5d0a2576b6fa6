"""How a demo record names its commune: a point, the code, or the name as spreadsheets write it.

The name is written in one of the ways real files write it (with or without
diacritics, "X. …", upper case); where the importer's own matcher
(:func:`geo.names.match_units`) would not read a written name as the unit drawn
(an ambiguous or misleading spelling, rare), the record carries the code instead.
The matcher is asked once per distinct written name, not per record, and the
import then resolves every record once.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from geo.names import match_units
from geo.units import NEW, OLD

__all__ = ["commune_fields"]

#: How a record names its commune: a point alone, else the code, else the name.
POINT_ONLY_SHARE = 0.25
CODE_SHARE = 0.67


def commune_fields(rng, registry, frame, has_point) -> dict[str, np.ndarray]:
    """``commune_code``, ``commune``, ``district`` as a record of its date writes them.

    A point alone (a quarter of the records with a point), else the code
    (two thirds), else the name (+ the district before the merger), spelled
    in one of the ways spreadsheets spell it; the code where that spelling would
    not be read back as the unit drawn (``frame``'s ``unit_set`` and ``unit``).
    """
    n = len(frame)
    point_only = has_point & (rng.random(n) < POINT_ONLY_SHARE)
    by_code = ~point_only & (rng.random(n) < CODE_SHARE)
    by_name = ~point_only & ~by_code
    name_style = rng.integers(len(_NAME_STYLES), size=n)
    district_style = rng.integers(len(_DISTRICT_STYLES), size=n)
    units = frame["unit"].to_numpy()
    old = (frame["unit_set"] == OLD).to_numpy()
    code = np.where(by_code, units, "").astype(object)
    name = np.full(n, "", dtype=object)
    district = np.full(n, "", dtype=object)
    for i in np.flatnonzero(by_name):
        table = registry.legacy if old[i] else registry.communes
        name[i] = _NAME_STYLES[name_style[i]](table.at[units[i], "name"])
        if old[i]:
            district[i] = _DISTRICT_STYLES[district_style[i]](table.at[units[i], "district"])
    misread = _misread(registry, name, district, old, units, by_name)
    code[misread] = units[misread]
    name[misread] = ""
    district[misread] = ""
    return {"commune_code": code, "commune": name, "district": district}


def _misread(registry, name, district, old, units, by_name) -> np.ndarray:
    """Rows whose written name the importer's matcher would not read as the unit drawn.

    The matcher (:func:`geo.names.match_units`, the one the import resolves names with)
    is asked once per distinct (name, district, unit set).
    """
    asked = pd.DataFrame({"name": name, "district": district,
                          "unit_set": np.where(old, OLD, NEW), "unit": units})[by_name]
    read = {
        key: match_units(registry, key[0], unit_set=key[2], district=key[1] or None).code
        for key in asked[["name", "district", "unit_set"]].drop_duplicates().itertuples(
            index=False, name=None)
    }
    got = [read[key] for key in asked[["name", "district", "unit_set"]].itertuples(
        index=False, name=None)]
    out = np.zeros(len(name), dtype=bool)
    out[np.flatnonzero(by_name)] = np.asarray(got, dtype=object) != asked["unit"].to_numpy()
    return out


def _plain(text: str) -> str:
    """Text without Vietnamese diacritics, case kept ("Lợi Thuận" → "Loi Thuan")."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")


def _split_prefix(name: str, prefixes: tuple[str, ...]) -> tuple[str, str]:
    for prefix in prefixes:
        if name.startswith(prefix + " "):
            return prefix, name[len(prefix) + 1 :]
    return "", name


_COMMUNE_WORDS = ("Thị trấn", "Phường", "Xã")
_COMMUNE_ABBR = {"Thị trấn": "TT.", "Phường": "P.", "Xã": "X."}
_DISTRICT_WORDS = ("Thành phố", "Thị xã", "Huyện")
_DISTRICT_ABBR = {"Thành phố": "TP.", "Thị xã": "TX.", "Huyện": "H."}


def _abbreviated(name: str, words: tuple[str, ...], abbr: dict[str, str]) -> str:
    prefix, rest = _split_prefix(name, words)
    return f"{abbr[prefix]} {rest}" if prefix else name


#: "Xã Lợi Thuận" as spreadsheets write it.
_NAME_STYLES = (
    lambda s: s,  # Xã Lợi Thuận
    lambda s: _split_prefix(s, _COMMUNE_WORDS)[1],  # Lợi Thuận
    lambda s: _abbreviated(s, _COMMUNE_WORDS, _COMMUNE_ABBR),  # X. Lợi Thuận
    lambda s: s.upper(),  # XÃ LỢI THUẬN
    _plain,  # Xa Loi Thuan
    lambda s: _plain(_split_prefix(s, _COMMUNE_WORDS)[1]).lower(),  # loi thuan
)
#: "Huyện Bến Cầu" as spreadsheets write it.
_DISTRICT_STYLES = (
    lambda s: s,  # Huyện Bến Cầu
    lambda s: _abbreviated(s, _DISTRICT_WORDS, _DISTRICT_ABBR),  # H. Bến Cầu
    lambda s: _plain(s).lower(),  # huyen ben cau
    lambda s: _split_prefix(s, _DISTRICT_WORDS)[1],  # Bến Cầu
)
