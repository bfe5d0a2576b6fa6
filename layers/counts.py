"""Incident counts per commune: the first map, and the base of rates and hot spots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from geo import kinds
from geo.units import code_column
from layers.layer import Caveat, Layer
from layers.periods import within

if TYPE_CHECKING:
    from layers.cube import Cube

__all__ = ["INCIDENT_TYPES", "SEQUENTIAL_SCALE", "incident_counts"]

#: The codes of the incident types, in the order of the interchange format, whose
#: :data:`geo.kinds.INCIDENT_TYPES` (the one home) gives each its label and spellings:
#: trafficking_case, illegal_crossing, tip, victim (vụ mua bán người, xuất nhập cảnh trái
#: phép, tin báo/tố giác, nạn nhân được tiếp nhận/giải cứu).
INCIDENT_TYPES = kinds.INCIDENT_TYPE_CODES

#: Viridis-like sequential scale from light to dark: readable by colour-blind viewers
#: and monotone in lightness, so it survives grey printing. Zero is near white.
SEQUENTIAL_SCALE = (
    (0.0, "#f7f7f7"),
    (0.001, "#fde725"),
    (0.25, "#5ec962"),
    (0.5, "#21918c"),
    (0.75, "#3b528b"),
    (1.0, "#440154"),
)


def incident_counts(
    incidents: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    unit_set: str,
    types: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    caveats: Iterable[Caveat] = (),
    cube: Cube | None = None,
) -> Layer:
    """Count incident records per commune for the chosen types and period.

    Parameters
    ----------
    incidents : DataFrame
        Joined records: ``date`` (datetime64), ``type``, ``new_code``, ``old_code``.
    communes : DataFrame
        The units of ``unit_set`` indexed by code with ``name`` (every one
        appears in the result, with 0 where nothing happened).
    unit_set : {"2025", "legacy"}
        Which code column to group by.
    types : iterable of str, optional
        Incident types to keep; all when ``None``.
    start, end : date, optional
        Inclusive period.
    caveats : iterable of Caveat
        Carried to every rendering (synthetic data, approximate boundaries).
    cube : Cube, optional
        The cube of these same ``incidents`` (:func:`layers.cube.build_cube`): the
        counts are then read from it (a few steps per commune) instead of a pass over
        the records; the layer is the same.

    Returns
    -------
    Layer
        ``frame`` has ``name`` and ``count`` per commune.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-02-01"]),
    ...                     "type": ["tip", "victim"], "new_code": ["25681", "25681"],
    ...                     "old_code": ["25699", "25699"]})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập"]}, index=["25681", "25489"])
    >>> incident_counts(inc, com, unit_set="2025", types=["tip"]).frame["count"].tolist()
    [1, 0]
    """
    chosen = tuple(INCIDENT_TYPES if types is None else types)
    unknown = set(chosen) - set(INCIDENT_TYPES)
    if unknown:
        raise ValueError(f"unknown incident types {sorted(unknown)}")
    column = code_column(unit_set)
    if cube is not None:
        counts = cube.counts(unit_set, chosen, start, end)
    else:
        mask = incidents["type"].isin(chosen)
        mask &= within(incidents["date"], start, end)
        counts = incidents.loc[mask].groupby(column).size()
    frame = communes[["name"]].copy()
    frame["count"] = counts.reindex(frame.index, fill_value=0).astype(int)
    return Layer(
        frame=frame,
        value="count",
        unit_set=unit_set,
        kind="counts",
        title_key="layer.incident_counts.title",
        legend_key="layer.incident_counts.legend",
        units_key="unit.records",
        params={"types": chosen, "start": start, "end": end},
        colorscale=SEQUENTIAL_SCALE,
        caveats=tuple(caveats),
    )
