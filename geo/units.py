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

:func:`load_registry` holds Tây Ninh; :func:`national_registry` the country
(34 provinces, 3,321 communes of 2025, 10,035 former communes with a code)
or some of its provinces, and :func:`registry_covering` chooses between them
by the provinces of the communes a server draws.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from collections.abc import Iterable
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
    "national_registry",
    "parse_bounds",
    "provinces_of",
    "registry_covering",
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
    """Both sets of units of the province (or provinces) and the link between them.

    Attributes
    ----------
    communes : pandas.DataFrame
        The 96 post-2025 units, indexed by 5-digit ``code``; columns ``name``
        ("Xã Bến Cầu"), ``short_name``, ``kind`` (xa / phuong), ``lat``,
        ``lon`` (registry centroid), ``area_km2`` (official area) and ``keys``
        (normalised name keys, including former names). A registry of
        several provinces (:func:`national_registry`) adds ``province_code``.
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
    """Read the registry of Tây Ninh from the official-code packages (cached: the result
    is read-only).

    Examples
    --------
    >>> reg = load_registry()
    >>> len(reg.communes), len(reg.legacy)
    (96, 280)
    """
    registry = _read_registry((PROVINCE_CODE,))
    return Registry(communes=registry.communes.drop(columns="province_code"),
                    legacy=registry.legacy, composition=registry.composition)


def national_registry(province_codes: Iterable[str] | None = None) -> Registry:
    """Every unit of the country (or of ``province_codes``) in :class:`Registry` form.

    What a server on boundaries of several provinces needs (the bench's national
    server): :func:`load_registry` holds Tây Ninh alone, and a record of another
    province would be a unit of no registry.

    Parameters
    ----------
    province_codes : iterable of str, optional
        2025 province codes ("80" is Tây Ninh) to keep; all 34 when None.
        Former units are kept when they went (wholly or in part) to a kept
        2025 commune.

    Returns
    -------
    Registry
        ``communes`` (3,321 for the country), ``legacy`` (10,035: the former
        communes with a code; five island districts without communes have
        none) and ``composition``, with the columns of :func:`load_registry`
        plus ``province_code`` on ``communes``. Cached per set of provinces
        (read-only, as :func:`load_registry`'s).

    Raises
    ------
    ValueError
        A code that is no 2025 province, or no province at all.

    Examples
    --------
    >>> reg = national_registry(("80",))
    >>> len(reg.communes), len(reg.legacy), sorted(set(reg.communes["province_code"]))
    (96, 280, ['80'])
    >>> len(national_registry(("01", "80")).communes)
    222
    """
    if province_codes is None:
        return _national_registry(None)
    if isinstance(province_codes, str):
        raise ValueError(f"province_codes must be a collection of codes, not the string "
                         f"{province_codes!r}")
    chosen = tuple(sorted({str(code) for code in province_codes}))
    unknown = sorted(set(chosen) - set(_commune_provinces().unique()))
    if unknown or not chosen:
        raise ValueError(f"not 2025 province codes: {unknown or 'none given'}")
    return _national_registry(chosen)


def provinces_of(codes: Iterable[str]) -> tuple[str, ...]:
    """The 2025 provinces (codes, sorted) that 2025 commune codes lie in.

    The 5-digit commune codes are official codes: the registry knows each
    one's province. A code of no 2025 commune lies in no province and adds
    none (a boundary file with such a code is refused at its import, not here).

    Examples
    --------
    >>> provinces_of(["25480", "00004", "25480"])
    ('01', '80')
    >>> provinces_of(["99999"])
    ()
    """
    keys = pd.Index([str(code).zfill(5) for code in codes], dtype=object)
    found = _commune_provinces().reindex(keys.unique()).dropna()
    return tuple(sorted(found.unique()))


def registry_covering(codes: Iterable[str]) -> Registry:
    """The registry of the provinces that 2025 commune codes lie in (:func:`provinces_of`).

    Boundaries of Tây Ninh alone (the bundled demo's, or a province's import)
    get :func:`load_registry`, the very same object; boundaries that hold
    communes of other provinces (the bench's national data) get
    :func:`national_registry` of exactly their provinces, so that no record
    of theirs is a unit of no registry. Codes of no province are left out;
    with none of any province, Tây Ninh's.

    Examples
    --------
    >>> registry_covering(["25480", "25489"]) is load_registry()
    True
    >>> sorted(set(registry_covering(["25480", "00004"]).communes["province_code"]))
    ['01', '80']
    """
    provinces = provinces_of(codes)
    if provinces in ((), (PROVINCE_CODE,)):
        return load_registry()
    return national_registry(provinces)


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


def _composition(converter: dict, new_rows: pd.DataFrame, old_keys: pd.DataFrame) -> pd.DataFrame:
    """One row per (old unit, new unit) piece of the 2025 communes of ``new_rows``.

    ``converter`` is ``vietnamadminunits``' table of which old units (by name
    key) form each new one, per 2025 province; ``old_keys`` holds the coded
    old units' ``key`` and ``code``. A piece naming a new commune not in
    ``new_rows`` belongs to another province; one naming an old unit with no
    code is one of the five island districts that have no commune.
    """
    new_by_key = dict(zip(zip(new_rows["provinceKey"], new_rows["wardKey"]),
                          new_rows["wardCode"].str.zfill(5), strict=True))
    old_by_key = dict(zip(old_keys["key"], old_keys["code"], strict=True))
    provinces = set(new_rows["provinceKey"])
    pieces: list[tuple[str, str, bool, bool]] = []
    for province in sorted(provinces):
        for new_key, olds in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].get(province, {}).items():
            pieces.extend((old_by_key[key], new_by_key[(province, new_key)], True, False)
                          for key in olds if key in old_by_key)
        for key, candidates in converter["DICT_PROVINCE_WARD_DIVIDED"].get(province, {}).items():
            if key in old_by_key:
                pieces.extend((old_by_key[key], new_by_key[(province, cand["newWardKey"])],
                               bool(cand["isDefaultNewWard"]), True) for cand in candidates)
    comp = pd.DataFrame(pieces, columns=["old_code", "new_code", "primary", "split"])
    comp = comp.astype({"old_code": "str", "new_code": "str"})
    return comp.sort_values(["new_code", "old_code"], ignore_index=True)


def _check_official_codes(communes: pd.DataFrame) -> None:
    """Cross-check Tây Ninh's 2025 codes against ``vietnam-provinces`` (the official list).

    Only Tây Ninh's: in 23 other provinces the two packages give 114 communes
    different codes (the versions installed on 02/12/2026), and the country's
    registry (:func:`national_registry`, synthetic data of the bench) reads
    ``vietnamadminunits`` alone, as it did before.
    """
    ours = communes.index[communes["province_code"] == PROVINCE_CODE]
    if not len(ours):
        return
    official = {
        str(int(w.code)).zfill(5)
        for w in vp.Ward.iter_by_province(vp.ProvinceCode(int(PROVINCE_CODE)))
    }
    if official != set(ours):
        diff = sorted(official ^ set(ours))
        raise RuntimeError(f"registry: 2025 codes disagree between packages: {diff}")


def _check_every_old_unit_placed(legacy: pd.DataFrame) -> None:
    """Every former commune kept has the new commune that holds it (its main part)."""
    missing = legacy.index[legacy["new_code"].isna()]
    if len(missing):
        raise RuntimeError(f"registry: old units with no new unit: {sorted(missing)}")


# The columns of the package's tables that the registry reads (its other columns, such
# as the addresses of every level, are never used: reading them was most of the time).
_NEW_COLUMNS = ("wardCode", "ward", "wardShort", "wardType", "wardLat", "wardLon",
                "wardAreaKm2", "wardKey", "wardKeywords", "wardAlias", "provinceKey",
                "provinceCode")
_OLD_COLUMNS = ("wardCode", "ward", "wardShort", "wardType", "districtCode", "district",
                "provinceCode", "province", "wardLat", "wardLon", "provinceKey",
                "districtKey", "wardKey", "wardKeywords", "wardAlias", "districtKeywords",
                "districtAlias", "wardBounds")
_OLD_KEY = "provinceKey || '_' || districtKey || '_' || wardKey"


@lru_cache(maxsize=1)
def _commune_provinces() -> pd.Series:
    """The 2025 province code of every 2025 commune of the country, indexed by its code."""
    with _dataset() as con:
        rows = pd.read_sql_query("SELECT wardCode, provinceCode FROM admin_units", con)
    return pd.Series(rows["provinceCode"].astype(object).to_numpy(),
                     index=pd.Index(rows["wardCode"].str.zfill(5).astype(object), name="code"),
                     name="province_code").sort_index()


@lru_cache(maxsize=4)
def _national_registry(province_codes: tuple[str, ...] | None) -> Registry:
    """:func:`national_registry` of codes already checked and sorted, read once each."""
    return _read_registry(province_codes)


def _dataset() -> contextlib.closing[sqlite3.Connection]:
    """The package's database, read-only, closed when the ``with`` block ends."""
    data = _package_data("vietnamadminunits")
    return contextlib.closing(sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True))


def _read_registry(province_codes: tuple[str, ...] | None) -> Registry:
    """The registry of the 2025 communes of ``province_codes`` (all when None), their
    pieces and the former communes in them; ``communes`` with ``province_code``."""
    data = _package_data("vietnamadminunits")
    where, params = "", ()
    if province_codes is not None:
        where, params = f" WHERE provinceCode IN ({','.join('?' * len(province_codes))})", \
            tuple(province_codes)
    with _dataset() as con:
        new_rows = pd.read_sql_query(
            f"SELECT {', '.join(_NEW_COLUMNS)} FROM admin_units{where}", con, params=params)
        old_keys = pd.read_sql_query(
            f"SELECT {_OLD_KEY} AS key, wardCode AS code FROM admin_units_legacy "
            f"WHERE wardCode IS NOT NULL", con)
        old_keys["code"] = old_keys["code"].str.zfill(5)
        converter = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
        composition = _composition(converter, new_rows, old_keys)
        old_rows = pd.read_sql_query(
            f"SELECT {', '.join(_OLD_COLUMNS)} FROM admin_units_legacy "
            f"WHERE substr('00000' || wardCode, -5) IN (SELECT value FROM json_each(?))", con,
            params=(json.dumps(sorted(set(composition["old_code"]))),))
    communes = _communes(new_rows)
    communes["province_code"] = pd.Series(
        new_rows["provinceCode"].to_numpy(), index=new_rows["wardCode"].str.zfill(5)
    ).reindex(communes.index)
    _check_official_codes(communes)
    legacy = _legacy(old_rows)
    primary = composition[composition["primary"]].set_index("old_code")["new_code"]
    legacy["new_code"] = primary.reindex(legacy.index)
    _check_every_old_unit_placed(legacy)
    return Registry(communes=communes, legacy=legacy, composition=composition)
