"""Outreach reach (truyền thông): events, participants and participants per 1,000 residents.

The plans' target is "75 % of people aged 14–60 reached", so the mapped
value is participants per 1,000 residents aged 14–60 where that population
is known, else per 1,000 residents of all ages (each commune says which).
Participants are attendances (lượt người), as the reports count them: one
person at two meetings counts twice, so reach is an upper bound on the share
of people reached and may pass 1,000. Job-counselling contacts (tư vấn, giới
thiệu việc làm: lượt người) are participants too, and count in the reach.
Where a commune's population is not known the reach is NaN, never 0.

The other figures the plans count (:data:`geo.kinds.OUTREACH_FIGURES`)
are summed province-wide and per agency and format, not mapped:
``sessions`` (meetings, school sessions, classes, contests, news items; an
empty ``sessions`` counts one for the formats that count sessions, none for
the others), ``sites`` (conference sites, law bookcases), ``groups``
(social-media groups) and ``members`` (their core members). Outreach without
these columns (a store before migration 2) counts them as empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo.units import CODE_COLUMNS, code_column
from geo.kinds import KINDS, OUTREACH_FIGURES
from layers.counts import SEQUENTIAL_SCALE
from layers.layer import Caveat, Layer
from layers.periods import within

__all__ = ["FIGURES", "OUTREACH_FORMATS", "PER", "outreach_reach"]

#: Outreach formats of the interchange format, in its order (hội nghị, trường học, tin bài
#: phát thanh, tờ rơi, mạng xã hội, tập huấn, chiến dịch, sách pháp luật, tư vấn việc làm,
#: hội thi).
OUTREACH_FORMATS = tuple(
    choice.code for f in KINDS["outreach"].fields if f.name == "format" for choice in f.choices
)
#: Reach is expressed per this many residents.
PER = 1_000

#: Population is known only for the communes of 01/07/2025 (dân số theo xã mới).
_POPULATION_UNIT_SET = "2025"
_OUTREACH_COLUMNS = ("date", "agency", "format", "participants", "materials", "new_code",
                     "old_code")
#: Figures summed per agency and format and province-wide (optional columns; empty counts 0).
FIGURES = ("sessions", "sites", "groups", "members")
#: Formats whose rows count sessions: an empty ``sessions`` there is one session.
_SESSION_FORMATS = tuple(f for f, figures in OUTREACH_FIGURES.items() if "sessions" in figures)
_POPULATION_COLUMNS = ("new_code", "year", "population")
_UNITS_KEYS = {"14_60": "unit.per_1000_aged_14_60", "all": "unit.per_1000_residents",
               "mixed": "unit.per_1000_mixed"}


def outreach_reach(
    outreach: pd.DataFrame,
    communes: pd.DataFrame,
    population: pd.DataFrame,
    *,
    unit_set: str = "2025",
    start: dt.date,
    end: dt.date,
    agencies: Iterable[str] | None = None,
    formats: Iterable[str] | None = None,
    on: dt.date | None = None,
    caveats: Iterable[Caveat] = (),
) -> Layer:
    """Outreach per commune in ``start``–``end``: events, participants, reach per 1,000.

    Parameters
    ----------
    outreach : DataFrame
        Joined outreach events: ``date`` (datetime64), ``agency``, ``format``,
        ``participants``, ``materials`` (nullable integers; missing counts as
        0), ``new_code``, ``old_code``; optionally the figures of
        :data:`FIGURES` (``sessions``, ``sites``, ``groups``, ``members``).
    communes : DataFrame
        The units of ``unit_set`` indexed by code with ``name`` (every one
        appears in the result, with 0 events where there were none).
    population : DataFrame
        ``new_code``, ``year``, ``population`` and optionally
        ``population_14_60``: one row per 2025 commune and year.
    unit_set : {"2025", "legacy"}
        Which code column to group by. Population is only known for the 2025
        communes (a new commune's population cannot be split among the old
        units it merged): with ``"legacy"`` the counts are computed and every
        reach is NaN (``per_base`` None).
    start, end : date
        Inclusive period of the events counted.
    agencies : iterable of str, optional
        Agencies to keep (exact names, as stored); all when ``None``.
    formats : iterable of str, optional
        Formats to keep (codes of :data:`OUTREACH_FORMATS`); all when ``None``.
    on : date, optional
        The day "days since the last event" is counted to; ``end`` when
        ``None``. The last event is the latest of the chosen agencies and
        formats on or before ``on``, from any earlier period too.
    caveats : iterable of Caveat
        Carried to every rendering.

    Returns
    -------
    Layer
        ``frame``, per commune: ``name``, ``events``, ``participants``,
        ``materials``; ``population_year``, ``population``,
        ``population_14_60`` (the row used, nullable integers), ``per_base``
        (``"14_60"``, ``"all"`` or None: which population the reach is per),
        ``base`` (that population), ``reach`` (participants per 1,000 of
        ``base``: the mapped value, NaN where no population is known, 0 where
        it is and nothing happened); ``last_date`` (NaT when never),
        ``days_since_last`` (days from the last event to ``on``, NaN when
        never) and ``last_agency`` (the agency of the last event, several
        joined by "; " when they worked there the same day; None when never).

        ``params``: the filters (``start``, ``end``, ``on``, ``agencies``,
        ``formats``), ``per``; ``population_year`` (the end year of the
        period) and ``population_years_used`` (each commune takes its row of
        that year, else of the nearest year it has, the later one on a tie);
        ``bases`` (how many communes per base) and ``missing_population``
        (codes with reach NaN); ``province``: ``events``, ``participants``,
        ``materials``, ``communes_reached``, ``reach_14_60`` (participants in
        communes whose 14–60 population is known, per 1,000 of it) and
        ``reach_all`` (the same over all residents), and the sums of
        ``sessions``, ``sites``, ``groups``, ``members``; ``by_agency`` and
        ``by_format``: tuples of rows (``agency``/``format``, ``events``,
        ``participants``, ``materials``, ``sessions``, ``sites``,
        ``groups``, ``members``, ``communes``), most events first;
        ``unplaced`` (events of the period whose code is not one of
        ``communes``; in no total).

    Raises
    ------
    ValueError
        For ``end`` before ``start``, an unknown ``unit_set`` or format,
        missing columns, or two population rows for one commune and year.

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"date": pd.to_datetime(["2025-03-01", "2025-05-20"]),
    ...                     "agency": ["Công an tỉnh", "Đoàn Thanh niên tỉnh"],
    ...                     "format": ["meeting", "school_session"],
    ...                     "participants": pd.array([120, 300], dtype="Int64"),
    ...                     "materials": pd.array([50, None], dtype="Int64"),
    ...                     "new_code": ["25681", "25681"], "old_code": ["25699", "25699"]})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập"]}, index=["25681", "25489"])
    >>> pop = pd.DataFrame({"new_code": ["25681", "25489"], "year": [2025, 2025],
    ...                     "population": [30_000, 20_000], "population_14_60": [21_000, None]})
    >>> layer = outreach_reach(out, com, pop, start=dt.date(2025, 1, 1),
    ...                        end=dt.date(2025, 6, 30))
    >>> layer.frame[["events", "participants", "per_base", "reach"]].values.tolist()
    [[2, 420, '14_60', 20.0], [0, 0, 'all', 0.0]]
    >>> float(layer.frame.loc["25681", "days_since_last"]), layer.frame.loc["25681", "last_agency"]
    (41.0, 'Đoàn Thanh niên tỉnh')
    """
    column = code_column(unit_set)
    first, last = _as_date(start, "start"), _as_date(end, "end")
    if last < first:
        raise ValueError(f"end {last} is before start {first}")
    day = last if on is None else _as_date(on, "on")
    chosen_formats = _chosen_formats(formats)
    chosen_agencies = None if agencies is None else tuple(
        dict.fromkeys([agencies] if isinstance(agencies, str) else agencies))
    _require(outreach, _OUTREACH_COLUMNS, "outreach")
    _require(population, _POPULATION_COLUMNS, "population")

    events = _events(outreach, chosen_agencies, chosen_formats)
    in_period = events[within(events["date"], first, last)]
    placed = in_period[in_period[column].isin(communes.index)]
    frame = _counts(placed, communes, column)
    figures = {name: int(placed[name].sum()) for name in FIGURES}
    year = last.year
    if unit_set == _POPULATION_UNIT_SET:
        people, years_used = _population_of(population, communes.index, year)
    else:
        people, years_used = _no_population(communes.index), ()
    frame = frame.join(people)
    frame["per_base"], frame["base"] = _bases(frame)
    known = frame["base"].notna()
    frame["reach"] = np.where(known, frame["participants"] / frame["base"].astype(float)
                              .where(known, 1.0) * PER, np.nan)
    frame = frame.join(_last_events(events, communes.index, column, day))
    bases_used = set(frame["per_base"].dropna())
    base_kind = bases_used.pop() if len(bases_used) == 1 else ("mixed" if bases_used else "all")
    return Layer(
        frame=frame,
        value="reach",
        unit_set=unit_set,
        kind="reach",
        title_key="layer.reach.title",
        legend_key="layer.reach.legend",
        units_key=_UNITS_KEYS[base_kind],
        params={
            "start": first, "end": last, "on": day,
            "agencies": chosen_agencies, "formats": chosen_formats, "per": PER,
            "population_year": year if unit_set == _POPULATION_UNIT_SET else None,
            "population_years_used": years_used,
            "bases": {b: int((frame["per_base"] == b).sum()) for b in ("14_60", "all")}
            | {"unknown": int(frame["per_base"].isna().sum())},
            "missing_population": tuple(frame.index[~known]),
            "province": _province(frame) | figures,
            "by_agency": _breakdown(placed, "agency", column),
            "by_format": _breakdown(placed, "format", column),
            "unplaced": int(len(in_period) - len(placed)),
        },
        colorscale=SEQUENTIAL_SCALE,
        caveats=tuple(caveats),
    )


# -- private helpers ---------------------------------------------------------


def _as_date(value, name: str) -> dt.date:
    try:
        stamp = pd.Timestamp(value) if value is not None else pd.NaT
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ValueError(f"{name} must be a date, got {value!r}")
    return stamp.date()


def _chosen_formats(formats: Iterable[str] | None) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    chosen = OUTREACH_FORMATS if formats is None else tuple(dict.fromkeys(formats))
    unknown = [f for f in chosen if f not in OUTREACH_FORMATS]
    if unknown:
        raise ValueError(f"unknown outreach formats {unknown}; expected some of "
                         f"{list(OUTREACH_FORMATS)}")
    return tuple(f for f in OUTREACH_FORMATS if f in chosen)


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing}")


def _events(outreach: pd.DataFrame, agencies, formats) -> pd.DataFrame:
    """The events of the chosen agencies and formats, with numeric counts (a new frame)."""
    mask = outreach["format"].isin(formats)
    if agencies is not None:
        mask &= outreach["agency"].isin(agencies)
    events = outreach.loc[mask, ["date", "agency", *CODE_COLUMNS.values()]].copy()
    events["date"] = pd.to_datetime(events["date"]).dt.normalize()
    events["format"] = outreach.loc[mask, "format"]
    for col in ("participants", "materials", *FIGURES):
        if col in outreach:
            events[col] = pd.to_numeric(outreach.loc[mask, col], errors="coerce")
        else:
            events[col] = np.nan
    counts_sessions = events["format"].isin(_SESSION_FORMATS)
    events["sessions"] = events["sessions"].where(events["sessions"].notna() | ~counts_sessions,
                                                  1)
    for col in ("participants", "materials", *FIGURES):
        events[col] = events[col].fillna(0)
    return events


def _counts(placed: pd.DataFrame, communes: pd.DataFrame, column: str) -> pd.DataFrame:
    frame = communes[["name"]].copy()
    grouped = placed.groupby(column)
    frame["events"] = grouped.size().reindex(frame.index, fill_value=0).astype(int)
    for col in ("participants", "materials"):
        frame[col] = grouped[col].sum().reindex(frame.index, fill_value=0).astype("int64")
    return frame


def _no_population(codes: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "population_year": pd.array([pd.NA] * len(codes), dtype="Int64"),
            "population": pd.array([pd.NA] * len(codes), dtype="Int64"),
            "population_14_60": pd.array([pd.NA] * len(codes), dtype="Int64"),
        },
        index=codes,
    )


def _population_of(population: pd.DataFrame, codes: pd.Index,
                   year: int) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """Each commune's population row of ``year``, else of its nearest year (the later on a tie)."""
    rows = pd.DataFrame({
        "new_code": population["new_code"],
        "year": pd.to_numeric(population["year"], errors="coerce"),
        "population": pd.to_numeric(population["population"], errors="coerce"),
        "population_14_60": pd.to_numeric(population["population_14_60"], errors="coerce")
        if "population_14_60" in population else np.nan,
    })
    rows = rows[rows["year"].notna()
                & (rows["population"].notna() | rows["population_14_60"].notna())]
    duplicated = rows.duplicated(["new_code", "year"])
    if duplicated.any():
        pairs = sorted(set(map(tuple, rows.loc[duplicated, ["new_code", "year"]].to_numpy())))
        raise ValueError(f"several population rows for one commune and year: {pairs[:5]}")
    rows = rows[rows["new_code"].isin(codes)]
    if rows.empty:
        return _no_population(codes), ()
    years = rows["year"].astype(int)
    chosen = (rows.assign(distance=(years - year).abs().to_numpy(), later=-years.to_numpy())
              .sort_values(["new_code", "distance", "later"])
              .drop_duplicates("new_code")
              .set_index("new_code"))
    out = pd.DataFrame({
        "population_year": chosen["year"].reindex(codes).astype("Int64"),
        "population": chosen["population"].reindex(codes).round().astype("Int64"),
        "population_14_60": chosen["population_14_60"].reindex(codes).round().astype("Int64"),
    }, index=codes)
    return out, tuple(sorted(int(y) for y in chosen["year"].unique()))


def _bases(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Which population each commune's reach is per: aged 14–60 if known, else everyone."""
    young = frame["population_14_60"].fillna(0) > 0
    everyone = frame["population"].fillna(0) > 0
    kind = pd.Series(np.where(young, "14_60", np.where(everyone, "all", None)),
                     index=frame.index, dtype=object)
    base = frame["population_14_60"].where(young, frame["population"].where(everyone))
    return kind.where(young | everyone, None), base.astype("Int64")


def _last_events(events: pd.DataFrame, codes: pd.Index, column: str,
                 day: dt.date) -> pd.DataFrame:
    """Per commune: the date and agency of the latest event on or before ``day``."""
    past = events[within(events["date"], end=day) & events[column].isin(codes)]
    out = pd.DataFrame(index=codes)
    if past.empty:
        out["last_date"] = pd.Series(pd.NaT, index=codes, dtype="datetime64[us]")
        out["days_since_last"] = np.nan
        out["last_agency"] = pd.Series(None, index=codes, dtype=object)
        return out
    last = past.groupby(column)["date"].max()
    latest = past[past["date"] == past.groupby(column)["date"].transform("max")]
    agency = latest.groupby(column)["agency"].agg(
        lambda names: "; ".join(sorted({str(n) for n in names.dropna()})) or None)
    out["last_date"] = last.reindex(codes).astype("datetime64[us]")
    out["days_since_last"] = ((pd.Timestamp(day) - out["last_date"]).dt.days).astype(float)
    out["last_agency"] = agency.reindex(codes).astype(object)
    out["last_agency"] = out["last_agency"].where(out["last_agency"].notna(), None)
    return out


def _province(frame: pd.DataFrame) -> dict:
    """Province totals and reach over the communes whose population is known."""
    young = frame["population_14_60"].fillna(0) > 0
    everyone = frame["population"].fillna(0) > 0

    def per(mask: pd.Series, column: str) -> float:
        people = float(frame.loc[mask, column].sum())
        if not people:
            return float("nan")
        return float(frame.loc[mask, "participants"].sum()) / people * PER

    return {
        "events": int(frame["events"].sum()),
        "participants": int(frame["participants"].sum()),
        "materials": int(frame["materials"].sum()),
        "communes_reached": int((frame["events"] > 0).sum()),
        "population_14_60": int(frame.loc[young, "population_14_60"].sum()),
        "population": int(frame.loc[everyone, "population"].sum()),
        "reach_14_60": per(young, "population_14_60"),
        "reach_all": per(everyone, "population"),
    }


def _breakdown(placed: pd.DataFrame, by: str, column: str) -> tuple[dict, ...]:
    """Province totals per agency or format, most events first (ties by name)."""
    if placed.empty:
        return ()
    sums = ("participants", "materials", *FIGURES)
    table = placed.groupby(by, dropna=False).agg(
        events=("date", "size"), **{col: (col, "sum") for col in sums},
        communes=(column, "nunique"))
    table = table.reset_index().sort_values(["events", by], ascending=[False, True])
    return tuple(
        {by: None if pd.isna(row[by]) else str(row[by]), "events": int(row["events"]),
         **{col: int(row[col]) for col in sums}, "communes": int(row["communes"])}
        for _, row in table.iterrows()
    )
