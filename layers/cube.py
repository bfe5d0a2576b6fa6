"""The records' counts per unit × day × type, summed over time: any filter in one step per unit.

A filter change on a map asks for the incidents of some types in some period,
per commune. Read from the records, that is a pass over every record (a
million in the country) per click. The cube does that pass once per store
revision: for each unit set (the communes of 2025 and the former communes), it
keeps the records' counts by (type, unit, day) and their running sum, so that
the count of a unit over any period is the running sum at the period's last
day minus that before its first day, and a set of types is the sum of its
types' slices: a few binary searches per unit, never a pass over the records.

Only the days on which a unit had a record of a type are kept (a sorted key
``(type × units + unit) × days + day`` and the running sum at each key), not a
dense units × days × types array: in the country (10,000 former communes, five
years of days, four types) a dense int32 array takes some 290 MB, the sparse
index at most 8 bytes per record (12 MB for a million records and both sets).

Records without a date count only when no period is asked (as
:func:`layers.periods.within`, the one home of that rule, reads them); records
whose code is not a unit of the set, or without a code, are not counted (as a
count reindexed on the units drops them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.units import code_column
from geo.kinds import INCIDENT_TYPE_CODES as INCIDENT_TYPES

__all__ = ["Cube", "build_cube"]


@dataclass(frozen=True)
class _Index:
    """One unit set's sparse cumulative index (see the module's docstring)."""

    units: pd.Index
    keys: np.ndarray  # sorted distinct (type × n_units + unit) × days + day
    running: np.ndarray  # running[i]: records with a key < keys[i]; running[-1]: all of them
    undated: np.ndarray  # (types, units): records without a date

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.running.nbytes + self.undated.nbytes


@dataclass(frozen=True)
class Cube:
    """Counts of the records per unit, day and type for both unit sets, with running sums.

    Built by :func:`build_cube`; read-only. :meth:`counts` answers what
    :func:`layers.counts.incident_counts` counts, without reading the records.

    Attributes
    ----------
    types : tuple of str
        The incident types it holds: the interchange format's, then any other
        type found in the records (a type it does not hold has no record).
    origin : date or None
        The first day with a record (None when no record has a date).
    days : int
        Days from ``origin`` to the last day with a record, both included (0: none).
    first, last : Timestamp or NaT
        The earliest and latest record date (of every type, times kept).
    last_by_type : dict
        The latest record date of each type (NaT when it has none).
    """

    types: tuple[str, ...]
    origin: dt.date | None
    days: int
    first: pd.Timestamp
    last: pd.Timestamp
    last_by_type: Mapping[str, pd.Timestamp]
    _sets: Mapping[str, _Index]

    @property
    def unit_sets(self) -> tuple[str, ...]:
        """The unit sets it counts for."""
        return tuple(self._sets)

    @property
    def nbytes(self) -> int:
        """The bytes its arrays take (keys, running sums, undated counts), both unit sets."""
        return sum(index.nbytes for index in self._sets.values())

    def units(self, unit_set: str) -> pd.Index:
        """The codes of ``unit_set``, in the order :meth:`counts` gives them."""
        return self._index(unit_set).units

    def counts(self, unit_set: str, types: Iterable[str] | None = None,
               start: dt.date | None = None, end: dt.date | None = None) -> pd.Series:
        """Records per unit of ``unit_set`` of ``types`` dated from ``start`` to ``end``.

        The same numbers as grouping the records of those types in
        :func:`layers.periods.within` the period by their code, for every unit
        (0 where none), in O(units × types × log records).

        Parameters
        ----------
        unit_set : {"2025", "legacy"}
        types : iterable of str, optional
            All the cube holds when ``None``; a type it does not hold counts
            nothing; no type at all gives zeros.
        start, end : date, optional
            The period, both days included; a side left ``None`` is open. Both
            ``None``: every record, those without a date included.

        Returns
        -------
        Series of int64
            Indexed by the unit codes (:meth:`units`), named ``count``.

        Raises
        ------
        ValueError
            An unknown unit set, or a bound with a time of day (the cube holds days).

        Examples
        --------
        >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-02-01", None]),
        ...                     "type": ["tip", "victim", "tip"],
        ...                     "new_code": ["25681", "25681", "25681"],
        ...                     "old_code": ["25699", "25699", "25699"]})
        >>> cube = build_cube(inc, {"2025": pd.Index(["25681", "25489"]),
        ...                         "legacy": pd.Index(["25699"])})
        >>> cube.counts("2025", ["tip"]).tolist()
        [2, 0]
        >>> cube.counts("2025", start=dt.date(2024, 1, 6)).tolist()
        [1, 0]
        >>> cube.counts("legacy", ["tip", "victim"], end=dt.date(2024, 1, 31)).tolist()
        [1]
        """
        index = self._index(unit_set)
        chosen = self._type_positions(types)
        n_units = len(index.units)
        values = np.zeros(n_units, dtype=np.int64)
        if not len(chosen) or not n_units:
            return pd.Series(values, index=index.units, name="count")
        if start is None and end is None:
            values += index.undated[chosen].sum(axis=0)
        first, last = self._day_span(start, end)
        if first <= last:
            base = (chosen[:, None] * n_units + np.arange(n_units)[None, :]) * self.days
            base = base.astype(index.keys.dtype, copy=False)
            upper = np.searchsorted(index.keys, base + last, side="right")
            lower = np.searchsorted(index.keys, base + first, side="left")
            values += (index.running[upper] - index.running[lower]).sum(axis=0)
        return pd.Series(values, index=index.units, name="count")

    def last_date(self, types: Iterable[str] | None = None,
                  start: dt.date | None = None) -> pd.Timestamp:
        """The latest record date of ``types`` on or after ``start`` (NaT when none).

        >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-02-01"]),
        ...                     "type": ["tip", "victim"], "new_code": "25681",
        ...                     "old_code": "25699"})
        >>> build_cube(inc, {"2025": pd.Index(["25681"])}).last_date(["tip"])
        Timestamp('2024-01-05 00:00:00')
        """
        chosen = self.types if types is None else tuple(types)
        found = [self.last_by_type[t] for t in chosen if t in self.last_by_type]
        found = [d for d in found if not pd.isna(d)]
        latest = max(found) if found else pd.NaT
        if pd.isna(latest) or (start is not None and latest < pd.Timestamp(start)):
            return pd.NaT
        return latest

    # -- private --------------------------------------------------------------------

    def _index(self, unit_set: str) -> _Index:
        code_column(unit_set)  # an unknown unit set raises there, with the known ones
        if unit_set not in self._sets:
            raise ValueError(f"the cube was built without the unit set {unit_set!r}")
        return self._sets[unit_set]

    def _type_positions(self, types: Iterable[str] | None) -> np.ndarray:
        if types is None:
            return np.arange(len(self.types))
        if isinstance(types, str):
            types = (types,)
        wanted = set(types)
        return np.array([i for i, t in enumerate(self.types) if t in wanted], dtype=np.int64)

    def _day_span(self, start: dt.date | None, end: dt.date | None) -> tuple[int, int]:
        """The period as day numbers clipped to the cube's days (first > last: no day)."""
        if self.origin is None:
            return 1, 0
        origin = pd.Timestamp(self.origin)
        first = 0 if start is None else _day_number(start, origin)
        last = self.days - 1 if end is None else _day_number(end, origin)
        return max(first, 0), min(last, self.days - 1)


def _day_number(day, origin: pd.Timestamp) -> int:
    stamp = pd.Timestamp(day)
    if stamp != stamp.normalize():
        raise ValueError(f"the cube counts whole days: {day!r} has a time of day")
    return int((stamp - origin).days)


def build_cube(incidents: pd.DataFrame, units: Mapping[str, pd.Index | pd.DataFrame]) -> Cube:
    """Count the records once per (type, unit, day) for each unit set, with running sums.

    Parameters
    ----------
    incidents : DataFrame
        Joined records: ``date`` (datetime64, NaT allowed), ``type``, and the
        code column of each unit set in ``units`` (``new_code``, ``old_code``).
    units : mapping
        Unit set → its unit codes (an Index, or a table indexed by code): the
        units :meth:`Cube.counts` answers for, in this order.

    Returns
    -------
    Cube

    Raises
    ------
    ValueError
        An unknown unit set, or a column missing from ``incidents``.
    """
    missing = {"date", "type", *(code_column(s) for s in units)} - set(incidents.columns)
    if missing:
        raise ValueError(f"incidents lack the columns {sorted(missing)}")
    dates = pd.to_datetime(incidents["date"])
    found = pd.unique(incidents["type"].dropna())
    types = INCIDENT_TYPES + tuple(sorted(str(t) for t in found if t not in INCIDENT_TYPES))
    type_codes = pd.Categorical(incidents["type"], categories=list(types)).codes.astype(np.int64)
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    dated = ~np.isnat(days)
    if dated.any():
        origin_day = days[dated].min()
        day = np.where(dated, (days - origin_day).astype(np.int64), -1)
        n_days = int(day.max()) + 1
        origin = pd.Timestamp(origin_day).date()
    else:
        day, n_days, origin = np.full(len(days), -1, dtype=np.int64), 0, None
    latest = pd.Series(dates.to_numpy()[dated]).groupby(type_codes[dated]).max()
    last_by_type = {t: latest.get(i, pd.NaT) for i, t in enumerate(types)}
    sets = {s: _index(_codes_of(u), incidents[code_column(s)], type_codes, day, dated,
                      len(types), n_days) for s, u in units.items()}
    return Cube(types=types, origin=origin, days=n_days,
                first=dates.min() if dated.any() else pd.NaT,
                last=dates.max() if dated.any() else pd.NaT,
                last_by_type=last_by_type, _sets=sets)


def _codes_of(units) -> pd.Index:
    return pd.Index(units.index if isinstance(units, pd.DataFrame) else units)


def _index(units: pd.Index, codes: pd.Series, type_codes: np.ndarray, day: np.ndarray,
           dated: np.ndarray, n_types: int, n_days: int) -> _Index:
    """The sparse running sums of one unit set."""
    unit = units.get_indexer(codes).astype(np.int64)
    counted = (unit >= 0) & (type_codes >= 0)
    n_units = len(units)
    undated = np.zeros((n_types, n_units), dtype=np.int64)
    lost = counted & ~dated
    np.add.at(undated, (type_codes[lost], unit[lost]), 1)
    keep = counted & dated
    key = (type_codes[keep] * n_units + unit[keep]) * n_days + day[keep]
    keys, per_key = np.unique(key, return_counts=True)
    key_type = np.int32 if n_types * n_units * max(n_days, 1) < np.iinfo(np.int32).max \
        else np.int64
    count_type = np.int32 if len(key) < np.iinfo(np.int32).max else np.int64
    running = np.zeros(len(keys) + 1, dtype=count_type)
    np.cumsum(per_key, out=running[1:])
    keys = keys.astype(key_type)
    for array in (keys, running, undated):
        array.flags.writeable = False
    return _Index(units=units, keys=keys, running=running, undated=undated)
