"""One commune at a glance: its incidents over time, its prevention models, its outreach.

What the commander's side panel shows when a commune is clicked. Pure
functions of the joined records, like every layer; victims appear only as
counts per period, never as records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from geo.units import code_column
from layers.counts import INCIDENT_TYPES
from layers.coverage import active_models

__all__ = ["CommuneProfile", "commune_profile"]


@dataclass(frozen=True)
class CommuneProfile:
    """Counts of one commune, for the side panel.

    Attributes
    ----------
    code, name : str
    by_period : DataFrame
        Incident counts, periods (rows, pandas Periods) × incident types.
    models : DataFrame
        Prevention models active on ``on``: ``model_type``, ``model_class``,
        ``start_date``, ``agency``.
    outreach : dict
        ``events``, ``participants``, ``materials`` in the last 365 days to
        ``on``, and ``last_date`` (or None).
    """

    code: str
    name: str
    by_period: pd.DataFrame
    models: pd.DataFrame
    outreach: dict = field(default_factory=dict)


def commune_profile(
    code: str,
    name: str,
    incidents: pd.DataFrame,
    models: pd.DataFrame,
    outreach: pd.DataFrame,
    *,
    unit_set: str = "2025",
    on: dt.date,
    freq: str = "Q",
) -> CommuneProfile:
    """The profile of commune ``code`` as of ``on``.

    Examples
    --------
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-02-01", "2024-08-01", "2024-08-02"]),
    ...                     "type": ["tip", "tip", "victim"], "new_code": "25681",
    ...                     "old_code": "25699"})
    >>> empty_m = pd.DataFrame(columns=["new_code", "old_code", "model_type", "model_class",
    ...                                 "start_date", "end_date", "agency"])
    >>> empty_o = pd.DataFrame(columns=["new_code", "old_code", "date", "participants",
    ...                                 "materials"])
    >>> p = commune_profile("25681", "Xã Bến Cầu", inc, empty_m, empty_o, on=dt.date(2024, 9, 30))
    >>> p.by_period.loc[pd.Period("2024Q3"), ["tip", "victim"]].tolist()
    [1, 1]
    """
    column = code_column(unit_set)
    own = incidents[incidents[column] == code]
    own = own[own["date"] <= pd.Timestamp(on)]
    if len(incidents):
        first = incidents["date"].min().to_period(freq)
    else:
        first = pd.Period(on, freq)
    periods = pd.period_range(first, pd.Period(on, freq), freq=freq)
    table = (own.assign(period=own["date"].dt.to_period(freq))
             .groupby(["period", "type"]).size().unstack(fill_value=0)
             .reindex(index=periods, columns=list(INCIDENT_TYPES), fill_value=0))
    mine = models[models[column] == code] if len(models) else models
    if len(mine):
        mine = mine[active_models(mine, on)]
    cols = [c for c in ("model_type", "model_class", "start_date", "agency") if c in mine]
    events = outreach[outreach[column] == code] if len(outreach) else outreach
    if len(events):
        day = pd.Timestamp(on)
        recent = events[(events["date"] <= day) & (events["date"] > day - pd.Timedelta(days=365))]
        past = events[events["date"] <= day]
        reach = {
            "events": int(len(recent)),
            "participants": int(pd.to_numeric(recent["participants"]).fillna(0).sum()),
            "materials": int(pd.to_numeric(recent["materials"]).fillna(0).sum()),
            "last_date": past["date"].max().date() if len(past) else None,
        }
    else:
        reach = {"events": 0, "participants": 0, "materials": 0, "last_date": None}
    return CommuneProfile(code=code, name=name, by_period=table,
                          models=mine[cols].reset_index(drop=True), outreach=reach)
