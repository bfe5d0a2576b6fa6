"""Read interchange files of records and join them to communes.

This is the clean-file path used by the bundled demo: dates in dd/mm/yyyy,
codes as text. The full importer for users' messy files (validation,
quarantine, the store) builds on the same resolution (:mod:`geo.resolve`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.kinds import KINDS
from geo.resolve import resolve_communes
from geo.units import Registry

__all__ = ["join_records", "read_records"]

#: The fields of any record kind read as dates (dd/mm/yyyy), and those kept as text even
#: when they look like numbers (ids, commune codes, names): :data:`geo.kinds.KINDS`.
_DATE_COLUMNS = tuple(dict.fromkeys(f.name for kind in KINDS.values() for f in kind.fields
                                    if f.type == "date"))
_TEXT_COLUMNS = tuple(dict.fromkeys(f.name for kind in KINDS.values() for f in kind.fields
                                    if f.type in ("text", "code")))


def read_records(path: Path) -> pd.DataFrame:
    """Read one interchange CSV (UTF-8, with or without BOM), dates parsed from dd/mm/yyyy."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for col in _DATE_COLUMNS:
        if col in frame:
            frame[col] = pd.to_datetime(frame[col].replace("", None), format="%d/%m/%Y")
    for col in frame.columns:
        if col not in _DATE_COLUMNS and col not in _TEXT_COLUMNS:
            numeric = pd.to_numeric(frame[col].replace("", None), errors="coerce")
            if numeric.notna().sum() == (frame[col] != "").sum():
                frame[col] = numeric
    return frame


def join_records(
    records: pd.DataFrame,
    registry: Registry,
    communes_new: gpd.GeoDataFrame,
    communes_old: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Records with ``new_code`` and ``old_code``; fails if any row does not resolve.

    The bundled demo is clean by construction, so an unresolved row is a bug,
    not a data problem: it raises with the first reasons instead of dropping.
    """
    frame = records.copy()
    if "date" not in frame and "start_date" in frame:
        frame["date"] = frame["start_date"]
    resolved, unresolved = resolve_communes(frame, registry, communes_new, communes_old)
    if len(unresolved):
        first = unresolved[["record_id", "reason"]].head(5).to_dict("records")
        raise ValueError(f"{len(unresolved)} records did not resolve to a commune: {first}")
    return resolved
