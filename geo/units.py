"""The registry of administrative units: post-2025 communes and the pre-2025 units they merged.

Đơn vị hành chính cấp xã. On 2025-07-01 the former provinces of Tây Ninh (72)
and Long An (80) became one province, Tây Ninh (code 80), and districts were
abolished. Records dated before that day name an old district + commune;
later records name a new commune. The registry holds both sets, read from
the official-code packages ``vietnam-provinces`` (the 2025 codes and names)
and ``vietnamadminunits`` (old and new units with centroids, bounding boxes,
areas, name keys, and which old units form each new one). Nothing here is
retyped by hand.

New units reuse the code of one of their old units, so a bare code is
ambiguous: :func:`unit_set_on` decides by the record's date.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import vietnam_provinces as vp

__all__ = [
    "CODE_COLUMNS",
    "MERGER_DATE",
    "NEW",
    "OLD",
    "PROVINCE_CODE",
    "Registry",
    "code_column",
    "load_registry",
    "parse_bounds",
    "unit_set_on",
]

#: The day the 2025 units took effect (Nghị quyết 1682/NQ-UBTVQH15 and the province merger).
MERGER_DATE = dt.date(2025, 7, 1)
#: Unit-set names: the post-2025 communes and the pre-2025 (legacy) communes.
NEW = "2025"
OLD = "legacy"
#: The column of a joined record (incident, model, outreach event) that holds its
#: commune code in each unit set.
CODE_COLUMNS = {NEW: "new_code", OLD: "old_code"}
#: Code of the merged province (it was Long An's code before the merger).
PROVINCE_CODE = "80"
#: The two provinces merged into it, with their pre-2025 codes.
_OLD_PROVINCE_CODES = ("72", "80")
_PROVINCE_KEY = "tinhtayninh"


def code_column(unit_set: str) -> str:
    """The column of a joined record that holds its commune code in ``unit_set``.

    Raises
    ------
    ValueError
        A unit set other than ``NEW`` and ``OLD``: a record has no code of it.

    Examples
    --------
    >>> code_column(NEW), code_column(OLD)
    ('new_code', 'old_code')
    """
    if unit_set not in CODE_COLUMNS:
        raise ValueError(f"unknown unit set {unit_set!r}: unit_set must be one of "
                         f"{sorted(CODE_COLUMNS)}")
    return CODE_COLUMNS[unit_set]


@dataclass(frozen=True)
class Registry:
    """Both sets of units of the province and the link between them.

    Attributes
    ----------
    communes : pandas.DataFrame
        The 96 post-2025 units, indexed by 5-digit ``code``; columns ``name``
        ("Xã Bến Cầu"), ``short_name``, ``kind`` (xa / phuong), ``lat``,
        ``lon`` (registry centroid), ``area_km2`` (official area) and ``keys``
        (normalised name keys, including former names).
    legacy : pandas.DataFrame
        The 280 pre-2025 units, indexed by ``code``; columns ``name``,
        ``short_name``, ``kind`` (xa / phuong / thi_tran), ``district_code``,
        ``district``, ``province_code``, ``province``, ``lat``, ``lon``,
        ``min_lon``, ``min_lat``, ``max_lon``, ``max_lat`` (bounding box),
        ``keys``, ``district_keys`` and ``new_code`` (the new unit that holds
        it, or that holds most of it when it was split).
    composition : pandas.DataFrame
        One row per (old unit, new unit) piece: ``old_code``, ``new_code``,
        ``primary`` (True for the new unit named the default when an old unit
        was split), ``split`` (True when the old unit went to several).
    """

    communes: pd.DataFrame
    legacy: pd.DataFrame
    composition: pd.DataFrame

    def units(self, unit_set: str) -> pd.DataFrame:
        """The table of one unit set (``NEW`` or ``OLD``)."""
        if unit_set == NEW:
            return self.communes
        if unit_set == OLD:
            return self.legacy
        raise ValueError(f"unknown unit set {unit_set!r}; expected {NEW!r} or {OLD!r}")

    def new_code_of(self, old_code: str) -> str:
        """The new (2025) commune that holds an old unit (its main part if split)."""
        return self.legacy.at[old_code, "new_code"]

    def old_codes_of(self, new_code: str) -> list[str]:
        """The old units (or parts of them) that formed a new commune."""
        rows = self.composition[self.composition["new_code"] == new_code]
        return sorted(rows["old_code"])


def unit_set_on(date: dt.date | None) -> str | None:
    """Which unit set a record of this date names: ``OLD`` before 2025-07-01, else ``NEW``.

    ``None`` (no date) returns ``None``: the caller must try both sets.
    """
    if date is None:
        return None
    if isinstance(date, dt.datetime):
        date = date.date()
    return OLD if date < MERGER_DATE else NEW


def _package_data(package: str) -> Path:
    """The ``data`` folder of an installed package, found without importing it:
    ``vietnamadminunits`` compiles its address parser's patterns when imported (seconds,
    at every server start), and the registry reads only its files.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    """Read the registry from the official-code packages (cached: the result is read-only).

    Examples
    --------
    >>> reg = load_registry()
    >>> len(reg.communes), len(reg.legacy)
    (96, 280)
    """
    data = _package_data("vietnamadminunits")
    with sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True) as con:
        new_rows = pd.read_sql_query(
            "SELECT * FROM admin_units WHERE provinceCode = ?", con, params=(PROVINCE_CODE,)
        )
        old_rows = pd.read_sql_query(
            f"SELECT * FROM admin_units_legacy WHERE provinceCode IN "
            f"({','.join('?' * len(_OLD_PROVINCE_CODES))})",
            con,
            params=_OLD_PROVINCE_CODES,
        )
    converter = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
    communes = _communes(new_rows)
    _check_official_codes(communes)
    legacy = _legacy(old_rows)
    composition = _composition(converter, communes, old_rows)
    primary = composition[composition["primary"]].set_index("old_code")["new_code"]
    legacy["new_code"] = primary.reindex(legacy.index)
    return Registry(communes=communes, legacy=legacy, composition=composition)


# -- private helpers ---------------------------------------------------------

_KIND = {"Xã": "xa", "Phường": "phuong", "Thị trấn": "thi_tran"}


def _keywords(*columns: str | None) -> tuple[str, ...]:
    keys: list[str] = []
    for col in columns:
        if isinstance(col, str) and col:
            keys.extend(json.loads(col))
    return tuple(dict.fromkeys(keys))


def _communes(rows: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "code": rows["wardCode"].str.zfill(5),
            "name": rows["ward"],
            "short_name": rows["wardShort"],
            "kind": rows["wardType"].map(_KIND),
            "lat": rows["wardLat"].astype(float),
            "lon": rows["wardLon"].astype(float),
            "area_km2": rows["wardAreaKm2"].astype(float),
            "key": rows["wardKey"],
            "keys": [
                _keywords(k, a)
                for k, a in zip(rows["wardKeywords"], rows["wardAlias"], strict=True)
            ],
        }
    )
    return df.set_index("code").sort_index()


def parse_bounds(text: str) -> tuple[float, float, float, float]:
    """Parse "lat,lon – lat,lon" into (min_lon, min_lat, max_lon, max_lat)."""
    a, b = (part.strip() for part in text.split("–"))
    lat1, lon1 = (float(v) for v in a.split(","))
    lat2, lon2 = (float(v) for v in b.split(","))
    return min(lon1, lon2), min(lat1, lat2), max(lon1, lon2), max(lat1, lat2)


def _legacy(rows: pd.DataFrame) -> pd.DataFrame:
    bounds = pd.DataFrame(
        [parse_bounds(t) for t in rows["wardBounds"]],
        columns=["min_lon", "min_lat", "max_lon", "max_lat"],
    )
    df = pd.DataFrame(
        {
            "code": rows["wardCode"].str.zfill(5),
            "name": rows["ward"],
            "short_name": rows["wardShort"],
            "kind": rows["wardType"].map(_KIND),
            "district_code": rows["districtCode"].str.zfill(3),
            "district": rows["district"],
            "province_code": rows["provinceCode"],
            "province": rows["province"],
            "lat": rows["wardLat"].astype(float),
            "lon": rows["wardLon"].astype(float),
            "key": rows["provinceKey"] + "_" + rows["districtKey"] + "_" + rows["wardKey"],
            "keys": [
                _keywords(k, a)
                for k, a in zip(rows["wardKeywords"], rows["wardAlias"], strict=True)
            ],
            "district_keys": [
                _keywords(k, a)
                for k, a in zip(rows["districtKeywords"], rows["districtAlias"], strict=True)
            ],
        }
    )
    df = pd.concat([df, bounds], axis=1)
    return df.set_index("code").sort_index()


def _composition(
    converter: dict, communes: pd.DataFrame, old_rows: pd.DataFrame
) -> pd.DataFrame:
    new_by_key = dict(zip(communes["key"], communes.index, strict=True))
    old_key = old_rows["provinceKey"] + "_" + old_rows["districtKey"] + "_" + old_rows["wardKey"]
    old_by_key = dict(zip(old_key, old_rows["wardCode"].str.zfill(5), strict=True))
    pieces: list[dict] = []
    whole = converter["DICT_PROVINCE_WARD_NO_DIVIDED"][_PROVINCE_KEY]
    for new_key, olds in whole.items():
        for key in olds:
            pieces.append(
                {"old_code": old_by_key[key], "new_code": new_by_key[new_key],
                 "primary": True, "split": False}
            )
    divided = converter["DICT_PROVINCE_WARD_DIVIDED"][_PROVINCE_KEY]
    for key, candidates in divided.items():
        for cand in candidates:
            pieces.append(
                {"old_code": old_by_key[key], "new_code": new_by_key[cand["newWardKey"]],
                 "primary": bool(cand["isDefaultNewWard"]), "split": True}
            )
    comp = pd.DataFrame(pieces).sort_values(["new_code", "old_code"], ignore_index=True)
    missing = set(old_by_key.values()) - set(comp["old_code"])
    if missing:
        raise RuntimeError(f"registry: old units with no new unit: {sorted(missing)}")
    return comp


def _check_official_codes(communes: pd.DataFrame) -> None:
    """Cross-check the 2025 codes and names against ``vietnam-provinces`` (the official list)."""
    official = {
        str(int(w.code)).zfill(5): w.name
        for w in vp.Ward.iter_by_province(vp.ProvinceCode(int(PROVINCE_CODE)))
    }
    if set(official) != set(communes.index):
        diff = sorted(set(official) ^ set(communes.index))
        raise RuntimeError(f"registry: 2025 codes disagree between packages: {diff}")
