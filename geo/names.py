"""Tolerant matching of commune and district names as real spreadsheets write them.

Spreadsheets from police, border guard and the Women's Union write the same
unit many ways: "Xã Lợi Thuận", "xa loi thuan", "X. Lợi Thuận", "LOI THUAN";
"Phường 1", "P.01", "phường I"; "Thị trấn Bến Cầu", "TT Bến Cầu"; with or
without the district ("huyện Bến Cầu", "H. Bến Cầu"). :func:`name_key`
reduces each to one key (no diacritics, no case, no prefix, no spaces), the
same form as the registry's keys, and :func:`match_units` looks it up in the
unit set a record's date selects, with the district to break ties.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from geo.units import NEW, OLD, Registry

__all__ = ["Match", "district_key", "fold", "match_units", "name_key"]

# Longest first, so "thi tran" wins over "thi".
_COMMUNE_PREFIXES = ("thi tran", "phuong", "xa", "tt", "p", "x", "f", "ward", "commune")
_DISTRICT_PREFIXES = ("thanh pho", "thi xa", "huyen", "quan", "tp", "tx", "h", "q")
#: The kind of unit each written prefix names (the registry's ``kind``); "ward" is a phường.
_PREFIX_KIND = {
    "thi tran": "thi_tran", "tt": "thi_tran", "phuong": "phuong", "p": "phuong", "f": "phuong",
    "ward": "phuong", "xa": "xa", "x": "xa",
}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}


def fold(text: str) -> str:
    """Lower-case ASCII with Vietnamese diacritics removed and đ → d ("Đức Huệ" → "duc hue")."""
    text = unicodedata.normalize("NFKD", str(text)).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^0-9a-zA-Z]+", " ", text)
    return " ".join(text.lower().split())


def _strip_prefix(folded: str, prefixes: tuple[str, ...]) -> tuple[str, str]:
    for prefix in sorted(prefixes, key=len, reverse=True):
        if folded == prefix:
            continue
        if folded.startswith(prefix + " "):
            return prefix, folded[len(prefix) + 1 :]
        # "p1", "p01", "f3": a one-letter prefix glued to a number
        if len(prefix) <= 2 and re.fullmatch(rf"{prefix}\d+", folded):
            return prefix, folded[len(prefix) :]
    return "", folded


def name_key(name: str) -> str:
    """The matching key of a commune name: no diacritics, prefix, spaces, or leading zeros.

    Numbered wards keep their word so that "Phường 1" does not collide with a
    commune named "1": "P.01", "phường I" and "Phường 1" all give "phuong1".

    Examples
    --------
    >>> name_key("Xã Lợi Thuận"), name_key("X. LOI THUAN"), name_key("TT. Bến Cầu")
    ('loithuan', 'loithuan', 'bencau')
    >>> name_key("P.01"), name_key("Phường IV")
    ('phuong1', 'phuong4')
    """
    folded = fold(name)
    prefix, rest = _strip_prefix(folded, _COMMUNE_PREFIXES)
    if rest in _ROMAN and prefix in ("phuong", "p", "f", "ward"):
        rest = str(_ROMAN[rest])
    if re.fullmatch(r"\d+", rest):
        return "phuong" + str(int(rest))
    return rest.replace(" ", "")


def _written_kind(name: str) -> str | None:
    """The kind of unit a name's prefix states ("TT. Hiệp Hòa" → "thi_tran"), or None."""
    prefix, _ = _strip_prefix(fold(name), _COMMUNE_PREFIXES)
    return _PREFIX_KIND.get(prefix)


def district_key(name: str) -> str:
    """The matching key of a district name ("H. Bến Cầu", "huyện Bến Cầu" → "bencau")."""
    _, rest = _strip_prefix(fold(name), _DISTRICT_PREFIXES)
    return rest.replace(" ", "")


@dataclass(frozen=True)
class Match:
    """The result of matching one name: the codes that fit, in one unit set.

    ``codes`` is empty when nothing matched and has several entries when the
    name is ambiguous (the caller lists them as candidates).
    """

    unit_set: str
    codes: tuple[str, ...]
    labels: tuple[str, ...] = field(default=())

    @property
    def unique(self) -> bool:
        return len(self.codes) == 1

    @property
    def code(self) -> str | None:
        return self.codes[0] if self.unique else None


def _accented(name: str) -> str:
    """Lower-case name with diacritics kept and the prefix removed ("Xã Hòa Thạnh" → "hòa thạnh")."""
    text = " ".join(unicodedata.normalize("NFC", str(name)).lower().replace(".", " ").split())
    for prefix in ("thị trấn", "phường", "xã", "tt", "x", "p"):
        if text.startswith(prefix + " "):
            return text[len(prefix) + 1 :]
    return text


def _indexes(units: pd.DataFrame) -> tuple[dict, dict, dict]:
    """Three lookups, strictest first: accented name, prefixed key, bare key."""
    accented: dict[str, set[str]] = {}
    prefixed: dict[str, set[str]] = {}
    bare: dict[str, set[str]] = {}
    for code, keys, name in zip(units.index, units["keys"], units["name"], strict=True):
        accented.setdefault(_accented(name), set()).add(code)
        for key in keys:
            prefixed.setdefault(key, set()).add(code)
        for key in (*keys, name_key(name)):
            bare.setdefault(_normalise_registry_key(key), set()).add(code)
    return accented, prefixed, bare


def _normalise_registry_key(key: str) -> str:
    """Registry keys look like "xaloithuan", "phuong01"; bring them to :func:`name_key` form."""
    for prefix in ("thitran", "phuong", "xa", "tt", "ward", "p", "f"):
        if key.startswith(prefix) and len(key) > len(prefix):
            rest = key[len(prefix) :]
            if rest.isdigit():
                return "phuong" + str(int(rest))
            if prefix in ("thitran", "phuong", "xa"):
                return rest
    return key


def _prefixed_key(name: str) -> str:
    """"TT. Hòa Thành" → "thitranhoathanh": the registry's key form, prefix kept."""
    folded = fold(name)
    prefix, rest = _strip_prefix(folded, _COMMUNE_PREFIXES)
    word = {"tt": "thitran", "thi tran": "thitran", "x": "xa", "p": "phuong", "f": "phuong"}.get(
        prefix, prefix
    )
    return (word + rest).replace(" ", "") if word else ""


def match_units(
    registry: Registry,
    name: str,
    *,
    unit_set: str,
    district: str | None = None,
) -> Match:
    """Find the units of ``unit_set`` whose name matches ``name`` (and ``district`` if given).

    The strictest reading that finds anything wins: the name with its
    diacritics ("Hòa Thành" is not "Hòa Thạnh"), then the name with its prefix
    as the registry's former names know it ("TT Hòa Thành"), then the bare
    folded name. In each reading a written prefix breaks ties between units
    whose names differ only in kind ("Thị trấn Hiệp Hòa" and "Xã Hiệp Hòa",
    both in Đức Hòa); when no candidate is of the written kind the prefix is
    taken for a slip and the candidates stand.

    Parameters
    ----------
    registry : Registry
    name : str
        The commune as written ("X. Lợi Thuận", "loi thuan", "Phường IV").
    unit_set : {"2025", "legacy"}
        Which set to search; choose it from the record's date with
        :func:`geo.units.unit_set_on`.
    district : str, optional
        The old district, to separate old communes of the same name
        ("Xã Tân Bình" exists in four districts). Ignored for the 2025 set,
        which has no districts.

    Returns
    -------
    Match
        ``codes`` sorted; several when ambiguous, none when unknown.
    """
    units = registry.units(unit_set)
    accented, prefixed, bare = _cached_indexes(registry, unit_set)
    tiers = (
        accented.get(_accented(name), set()),
        prefixed.get(_prefixed_key(name), set()),
        bare.get(name_key(name), set()),
    )
    kind = _written_kind(name)
    codes: set[str] = set()
    for tier in tiers:
        found = _in_district(units, tier, district) if unit_set == OLD else set(tier)
        if found:
            codes = _of_kind(units, found, kind)
            break
    ordered = tuple(sorted(codes))
    labels = tuple(_label(units, c, unit_set) for c in ordered)
    return Match(unit_set=unit_set, codes=ordered, labels=labels)


def _in_district(units: pd.DataFrame, codes: set[str], district: str | None) -> set[str]:
    if not district:
        return set(codes)
    dkey = district_key(district)
    return {
        c for c in codes
        if dkey == district_key(units.at[c, "district"])
        or dkey in {district_key(k) for k in units.at[c, "district_keys"]}
    }


def _of_kind(units: pd.DataFrame, codes: set[str], kind: str | None) -> set[str]:
    """The units of ``codes`` of the written ``kind``; all of them if none is, or no kind."""
    same = {c for c in codes if units.at[c, "kind"] == kind} if kind else set()
    return same or set(codes)


def _label(units: pd.DataFrame, code: str, unit_set: str) -> str:
    if unit_set == NEW:
        return f"{units.at[code, 'name']} ({code})"
    return f"{units.at[code, 'name']}, {units.at[code, 'district']} ({code})"


_INDEXES: dict[tuple[int, str], tuple[dict, dict, dict]] = {}


def _cached_indexes(registry: Registry, unit_set: str) -> tuple[dict, dict, dict]:
    # Keyed by the registry's identity; the registry is immutable, so is its index.
    key = (id(registry), unit_set)
    if key not in _INDEXES:
        _INDEXES[key] = _indexes(registry.units(unit_set))
    return _INDEXES[key]
