"""The release plan: the incident table suppressed once per data version."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.units import NEW, OLD, PROVINCE_CODE, Registry
from layers.counts import INCIDENT_TYPES
from layers.suppression.dimensions import (
    ALL_TYPES, SnappedPeriod, as_date, grid_label, incident_table, snap_period, stray_pieces,
    unit_key,
)
from layers.suppression.engine import (
    DEFAULT_THRESHOLD, PUBLISHED, Suppression, cell_labels, suppress,
)
from layers.suppression.national import NATION, NationalRelease, national_release, province_codes
from layers.suppression.roles import ReleaseRefused

__all__ = [
    "ReleasePlan",
    "release_plan",
]


@dataclass(frozen=True)
class ReleasePlan:
    """What roles below commander may see of one version of the incident data.

    Build it once per data version (:func:`release_plan`) and pass it to
    :func:`for_role` with every layer. A plan built from other data than the
    layer is detected (the counts differ) and refused.

    Attributes
    ----------
    suppression : Suppression or None
        Over :func:`incident_table`'s cells, for a registry of one province;
        None for a registry of several (then ``national``).
    first_year, last_year : int
        The span of the period grid.
    unit_sets : tuple of str
    types : tuple of str
    type_total : bool
    national : NationalRelease or None
        For a registry of several provinces: every province's cells and the
        nation's, released province by province (:mod:`~layers.suppression.national`).
    province_code : str
        The province of a one-province plan (Tây Ninh's "80" by default).
    """

    suppression: Suppression | None
    first_year: int
    last_year: int
    unit_sets: tuple[str, ...]
    types: tuple[str, ...]
    type_total: bool
    national: NationalRelease | None = None
    province_code: str = PROVINCE_CODE

    @property
    def threshold(self) -> int:
        return (self.national if self.suppression is None else self.suppression).threshold

    @property
    def protection(self) -> int:
        return (self.national if self.suppression is None else self.suppression).protection

    def snap(self, start, end) -> SnappedPeriod:
        """The grid period to compute a layer for (see :func:`snap_period`)."""
        return snap_period(start, end, first_year=self.first_year, last_year=self.last_year)

    def type_key(self, types: Iterable[str] | None) -> str:
        """The type member of a selection: one type, or all of them ("all").

        Any other subset is refused: its sum is not a published figure, and
        it would differ from "all" by exactly the types left out.
        """
        chosen = tuple(dict.fromkeys(self.types if types is None else types))
        if len(chosen) == 1 and chosen[0] in self.types:
            return chosen[0]
        if set(chosen) == set(self.types) and self.type_total:
            return ALL_TYPES
        raise ReleaseRefused(
            f"incident types {list(chosen)} are not releasable below commander: choose one type "
            f"or {'all of ' + str(list(self.types)) if self.type_total else 'one type'}")

    def period_label(self, start, end) -> str:
        """The grid label of exactly this period; refuses a period off the grid."""
        label = grid_label(start, end, self.first_year, self.last_year)
        if label is None:
            raise ReleaseRefused(
                f"period {as_date(start)}–{as_date(end)} is not on the release grid "
                "(quarters, half-years, years, the whole span): snap it with plan.snap() first")
        return label

    def cells(self, unit_set: str, codes: Iterable[str], period: str, type_key: str) -> pd.DataFrame:
        """``count``, ``status`` and ``label`` of communes (or ``"province"`` codes, or the
        ``"nation"`` of a national plan) in one period and type.

        The communes of a national plan may be of any provinces: each is read
        from its province's table.
        """
        codes = [str(c) for c in codes]
        nation = unit_set == NATION and self.national is not None
        if unit_set not in self.unit_sets and unit_set != "province" and not nation:
            raise ReleaseRefused(f"the plan does not cover the {unit_set!r} units")
        if period.startswith("outside:"):  # no record there: every count is 0 and published
            return pd.DataFrame({"count": 0, "status": PUBLISHED, "label": None}, index=codes)
        units = [NATION] * len(codes) if nation else [unit_key(unit_set, c) for c in codes]
        keys = pd.MultiIndex.from_arrays([units, [period] * len(codes), [type_key] * len(codes)])
        if self.suppression is None:
            return self._national_cells(keys, codes)
        table = self.suppression.table.cells
        missing = ~keys.isin(table.index)
        if missing.any():
            raise ReleaseRefused(f"cells not in the plan: {list(keys[missing])[:3]}")
        return pd.DataFrame({
            "count": table["count"].reindex(keys).to_numpy(),
            "status": self.suppression.status.reindex(keys).to_numpy(),
            "label": self.suppression.labels.reindex(keys).to_numpy(),
        }, index=codes)

    def _national_cells(self, keys: pd.MultiIndex, codes: list[str]) -> pd.DataFrame:
        table = self.national.cells
        where = table.index.get_indexer(keys)
        if (where < 0).any():
            raise ReleaseRefused(f"cells not in the plan: {list(keys[where < 0])[:3]}")
        count = table["count"].to_numpy()[where]
        status = np.asarray(table["status"].to_numpy()[where], dtype=object)
        return pd.DataFrame({"count": count, "status": status,
                             "label": cell_labels(count, status, self.threshold)}, index=codes)

    def province(self, period: str, type_key: str, code: str | None = None) -> pd.Series:
        """The province cell of a period and type: ``count``, ``status``, ``label``.

        ``code`` is the province's (the plan's own province by default; a
        national plan must be told which).
        """
        if code is None and self.national is not None:
            raise ReleaseRefused("a national plan holds several provinces: name the province")
        return self.cells("province", [code or self.province_code], period, type_key).iloc[0]

    def nation(self, period: str, type_key: str) -> pd.Series:
        """The nation cell of a national plan (the sum of its provinces)."""
        if self.national is None:
            raise ReleaseRefused("the plan holds one province: there is no national cell")
        return self.cells(NATION, [NATION], period, type_key).iloc[0]

    def total(self, period: str, type_key: str) -> pd.Series:
        """The cell of everything the plan covers: the province, or the nation."""
        return self.province(period, type_key) if self.national is None else \
            self.nation(period, type_key)


def release_plan(
    incidents: pd.DataFrame,
    registry: Registry,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = 1,
    unit_sets: Sequence[str] = (NEW, OLD),
    types: Sequence[str] = INCIDENT_TYPES,
    type_total: bool = False,
    first_year: int | None = None,
    last_year: int | None = None,
    processes: int = 1,
    initializer: Callable[[], None] | None = None,
) -> ReleasePlan:
    """Suppress the incident table once; every release below commander reads it.

    Parameters are those of :func:`incident_table` and :func:`suppress`.
    A registry of several provinces (a ``province_code`` column on its
    communes) is released province by province, the province totals as the
    margins of a national table (:func:`~layers.suppression.national.national_release`).
    On the demo data (3,844 records, four years, both unit sets, four types)
    it takes about 10 seconds on an idle core (a smaller threshold or
    ``type_total=True`` take far longer: see ``docs/confidentiality.md``):
    build it once per data version, after an import, outside any callback,
    and keep it with the records. ``processes``: how many provinces of a
    national registry are suppressed at once (one process each, which runs
    ``initializer`` first); a registry of one province is one table, suppressed
    in this process whatever ``processes`` says.
    """
    if {"old_code", "new_code"} <= set(incidents.columns):
        stray = stray_pieces(incidents, registry)
        if stray:
            logging.getLogger("borderwatch").warning(
                "release plan: records whose former and 2025 communes do not meet, counted "
                "in both through hidden parts (correct them): %s", stray[:20])
    provinces = province_codes(registry)
    common = {"unit_sets": tuple(dict.fromkeys(unit_sets)), "types": tuple(types),
              "type_total": type_total}
    if len(provinces) > 1:
        national = national_release(incidents, registry, threshold=threshold,
                                    protection=protection, first_year=first_year,
                                    last_year=last_year, processes=processes,
                                    initializer=initializer, **common)
        periods = national.cells.index.get_level_values("period")
        quarters = sorted(p for p in periods.unique() if "Q" in p)
        return ReleasePlan(suppression=None, first_year=int(quarters[0][:4]),
                           last_year=int(quarters[-1][:4]), national=national, **common)
    province = provinces[0] if provinces else PROVINCE_CODE
    table = incident_table(incidents, registry, unit_sets=unit_sets, types=types,
                           type_total=type_total, first_year=first_year, last_year=last_year,
                           province=province)
    periods = table.dims[1].leaves
    return ReleasePlan(
        suppression=suppress(table, threshold=threshold, protection=protection),
        first_year=int(periods[0][:4]), last_year=int(periods[-1][:4]),
        province_code=province, **common,
    )
