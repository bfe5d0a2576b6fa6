"""The computable measures of the plans: each a function of the records, found by name.

:data:`MEASURE_FUNCTIONS` maps each name of :data:`geo.plans.MEASURES` (the
names a plan file may use) to the function that computes it: a
:class:`Ratio` (numerator, denominator, notes) or a :class:`NoData` (why
not). Each function's docstring quotes what the plan divides by what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from layers.coverage import active_models
from layers.periods import within

__all__ = [
    "MEASURE_FUNCTIONS",
    "STAGES",
    "NoData",
    "Ratio",
    "TrackingData",
    "status_stage",
]

#: The statuses of a case or tip, in the order of the procedure.
_STATUS_ORDER = ("received", "verified", "prosecuted", "tried")
_CLEARED = frozenset({"verified", "prosecuted", "tried"})
_PROSECUTED = frozenset({"prosecuted", "tried"})


@dataclass(frozen=True)
class TrackingData:
    """The joined records a tracker reads (any table may be ``None``: its measures are no_data).

    Attributes
    ----------
    incidents : DataFrame
        ``date``, ``type`` (trafficking_case / illegal_crossing / tip /
        victim), ``status`` (received / verified / prosecuted / tried, or
        missing), ``new_code``.
    outreach : DataFrame
        ``date``, ``format``, ``participants``, ``materials``, ``new_code``.
    models : DataFrame
        ``model_type``, ``model_class`` (intensive / integrated / missing),
        ``start_date``, ``end_date`` (NaT while active), ``new_code``.
    population : DataFrame
        ``new_code``, ``year``, ``population``, ``population_14_60``.
    communes : Index
        The 2025 commune codes (the denominator of "all communes"); a frame
        indexed by code or a list is accepted and kept as an Index of str.
    """

    incidents: pd.DataFrame | None = None
    outreach: pd.DataFrame | None = None
    models: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    communes: pd.Index | None = None

    def __post_init__(self):
        communes = self.communes
        if isinstance(communes, pd.DataFrame):
            communes = communes.index
        if communes is not None:
            object.__setattr__(self, "communes", pd.Index([str(c) for c in communes]))

    @classmethod
    def of(cls, data: TrackingData | Mapping[str, Any]) -> TrackingData:
        """The data from a mapping with the same keys (``communes`` may be a frame or a list)."""
        if isinstance(data, TrackingData):
            return data
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown tables {sorted(unknown)}; expected some of {sorted(names)}")
        return cls(**data)


@dataclass(frozen=True)
class NoData:
    reason: str
    detail: str


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int
    notes: tuple[str, ...] = ()
    cap: bool = False
    lower_bound: bool = False  # the numerator counts only part of what the plan counts


def _missing(table: pd.DataFrame | None, name: str, columns: Iterable[str]) -> NoData | None:
    if table is None:
        return NoData("missing_table", f"the {name} table was not given")
    absent = [c for c in columns if c not in table.columns]
    if absent:
        return NoData("missing_column", f"the {name} table has no column {', '.join(absent)}")
    return None


def _codes(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def _normalised(status: pd.Series) -> pd.Series:
    """Statuses stripped and lower-cased, an empty text missing."""
    return status.astype("string").str.strip().str.lower().replace("", pd.NA)


#: The stages of :func:`status_stage`, from first to last.
STAGES = ("open", "verified", "prosecuted", "tried")


def status_stage(status: pd.Series) -> pd.Series:
    """The furthest stage each record's status has reached, as the measures count it.

    ``"tried"``; ``"prosecuted"`` (in ``_PROSECUTED`` but not tried);
    ``"verified"`` (in ``_CLEARED`` but not prosecuted); ``"open"`` for every
    other status: ``received``, missing, empty or unknown, which the measures
    count as not cleared. So a measure's numerator and denominator are sums
    of stages (cleared = verified + prosecuted + tried, and so on):
    :mod:`layers.suppression.indicators` suppresses those sums.

    >>> status_stage(pd.Series(["Tried ", "prosecuted", "verified", "received", None, "x"])
    ...              ).tolist()
    ['tried', 'prosecuted', 'verified', 'open', 'open', 'open']
    """
    s = _normalised(status)
    tried = (s == "tried").fillna(False).to_numpy(dtype=bool)
    prosecuted = s.isin(_PROSECUTED).to_numpy(dtype=bool)
    cleared = s.isin(_CLEARED).to_numpy(dtype=bool)
    stage = pd.Series("open", index=status.index, dtype=object, name="stage")
    stage[cleared] = "verified"
    stage[prosecuted] = "prosecuted"
    stage[tried] = "tried"
    return stage


def _statuses(incidents: pd.DataFrame, kind: str, start: dt.date, end: dt.date
              ) -> tuple[pd.Series, NoData | None]:
    """Lower-case statuses of the records of ``kind`` dated in the window (missing kept)."""
    gap = _missing(incidents, "incidents", ("date", "type", "status"))
    if gap:
        return pd.Series(dtype="string"), gap
    rows = incidents[(incidents["type"] == kind) & within(incidents["date"], start, end)]
    status = _normalised(rows["status"])
    noun = {"trafficking_case": "trafficking cases", "tip": "tips"}[kind]
    if len(status) == 0:
        return status, NoData("empty", f"no {noun} dated in the period")
    if status.isna().all():
        return status, NoData("no_status",
                               f"no status is recorded for any of the {len(status)} {noun} "
                               "of the period")
    return status, None


def _status_notes(status: pd.Series, noun: str, counted_as: str) -> tuple[str, ...]:
    notes = []
    unknown = sorted(set(status.dropna()) - set(_STATUS_ORDER))
    if unknown:
        notes.append(f"unknown statuses {unknown} counted as {counted_as}")
    if status.isna().any():
        notes.append(f"{int(status.isna().sum())} of {len(status)} {noun} have no status "
                     f"(counted as {counted_as})")
    return tuple(notes)


def _measure_cases_cleared_rate(data, start, end, key_areas):
    """Cases cleared by investigation (điều tra khám phá) among those with proceedings opened.

    470/KH-UBND: "tỷ lệ điều tra khám phá các vụ án mua bán người đạt tỷ lệ
    trên 90% tổng số án khởi tố". Denominator: the plan's "tổng số án khởi
    tố", trafficking cases dated in the window whose status is
    ``prosecuted`` (khởi tố) or ``tried`` (xét xử); a case received or
    verified has no proceedings opened and is outside both. Numerator: those
    solved. The status ladder (received → verified → prosecuted → tried) has
    no "solved" step between khởi tố and xét xử; a case tried was solved, a
    case prosecuted may or may not be. So the numerator is the cases
    ``tried`` and the value is a **lower bound** (``lower_bound``): it meets
    the target when the bound does, and is not called behind when it does
    not. Verified cases, counted as cleared before, are not: verification
    precedes the opening of proceedings. No data when no case of the window
    had proceedings opened.
    """
    status, gap = _statuses(data.incidents, "trafficking_case", start, end)
    if gap:
        return gap
    denominator = int(status.isin(_PROSECUTED).sum())
    if denominator == 0:
        return NoData("empty", "no trafficking case of the period had proceedings opened "
                                "(prosecuted or tried)")
    tried = int((status == "tried").sum())
    return Ratio(tried, denominator,
                  (f"lower bound: {denominator - tried} of {denominator} cases with proceedings "
                   "opened are not yet tried, and the records do not say whether they are "
                   "solved",), lower_bound=True)


def _measure_prosecuted_tried_rate(data, start, end, key_areas):
    """Cases tried (xét xử) among the cases with proceedings opened.

    470/KH-UBND: "95% số vụ án mua bán người được giải quyết và truy tố, xét
    xử"; 5116/KH-UBND: "95% số vụ mua bán người được giải quyết và xét xử
    trên tổng số vụ án do Tòa án thụ lý". The records carry no "accepted by
    the court" (Tòa án thụ lý) step: the denominator is the cases with
    proceedings opened. Numerator: trafficking cases dated in the window
    with status ``tried``. Denominator: those with status ``prosecuted`` or
    ``tried`` (cases without a status are outside both). No data when no
    case of the window was prosecuted or tried.
    """
    status, gap = _statuses(data.incidents, "trafficking_case", start, end)
    if gap:
        return gap
    denominator = int(status.isin(_PROSECUTED).sum())
    if denominator == 0:
        return NoData("empty", "no trafficking case of the period was prosecuted or tried")
    return Ratio(int((status == "tried").sum()), denominator)


def _measure_prosecution_rate(data, start, end, key_areas):
    """Trafficking cases prosecuted (khởi tố) among all trafficking cases detected.

    5116/KH-UBND: "tỷ lệ khởi tố điều tra các vụ án mua bán người trên tổng
    số các vụ việc được phát hiện". Numerator: trafficking cases dated in
    the window with status ``prosecuted`` or ``tried``. Denominator: all
    trafficking cases dated in the window ("tổng số các vụ việc được phát
    hiện"); a case with no status counts as not prosecuted (noted).
    """
    status, gap = _statuses(data.incidents, "trafficking_case", start, end)
    if gap:
        return gap
    return Ratio(int(status.isin(_PROSECUTED).sum()), len(status),
                  _status_notes(status, "cases", "not prosecuted"))


def _measure_reports_handled_rate(data, start, end, key_areas):
    """Tips and reports (tố giác, tin báo) handled among the tips of the period.

    Numerator: incidents of type ``tip`` dated in the period whose status is
    ``verified``, ``prosecuted`` or ``tried`` (classified and handled: phân
    loại, xử lý, xác minh). Denominator: all tips dated in the period; a tip
    with status ``received`` or none is not (yet) handled. A recorded tip has
    been received by definition, and tips never recorded are unknown, so
    "100 % received" (được tiếp nhận) cannot be measured: this measures the
    next step.
    """
    status, gap = _statuses(data.incidents, "tip", start, end)
    if gap:
        return gap
    return Ratio(int(status.isin(_CLEARED).sum()), len(status),
                  _status_notes(status, "tips", "not handled"))


def _key_areas(key_areas, data) -> tuple[pd.Index | None, NoData | None]:
    if key_areas is None:
        return None, NoData("no_key_areas", "no key areas: the plan lists none and none were "
                                             "given")
    keys = pd.Index(sorted({str(c) for c in key_areas}))
    if len(keys) == 0:
        return None, NoData("empty", "the list of key areas is empty")
    if data.communes is not None:
        unknown = keys.difference(data.communes)
        if len(unknown):
            raise ValueError(f"key areas {list(unknown)} are not 2025 commune codes")
    return keys, None


def _measure_key_areas_covered(data, start, end, key_areas):
    """Key areas (tuyến, địa bàn trọng điểm) covered by prevention work in the period.

    Numerator: key-area communes with at least one prevention model active
    at some time in the period (started on or before its last day, not
    ended before its first) or at least one outreach event dated in the
    period. Denominator: the key-area communes. The plans' "biện pháp nghiệp
    vụ" (police measures) are not recorded here: models and outreach are
    the visible part of them. With one of the two tables missing, the other
    alone is counted (noted); with both missing, no data.
    """
    keys, gap = _key_areas(key_areas, data)
    if gap:
        return gap
    covered: set[str] = set()
    notes = []
    models_gap = _missing(data.models, "models", ("start_date", "end_date", "new_code"))
    outreach_gap = _missing(data.outreach, "outreach", ("date", "new_code"))
    if models_gap and outreach_gap:
        return NoData(outreach_gap.reason, f"{models_gap.detail}; {outreach_gap.detail}")
    if not models_gap:
        models = data.models
        active = active_models(models, start=start, end=end)
        covered |= set(_codes(models.loc[active, "new_code"]).dropna())
    else:
        notes.append(f"{models_gap.detail}: outreach alone counted")
    if not outreach_gap:
        events = data.outreach
        covered |= set(_codes(events.loc[within(events["date"], start, end), "new_code"]).dropna())
    else:
        notes.append(f"{outreach_gap.detail}: models alone counted")
    return Ratio(len(keys.intersection(pd.Index(sorted(covered)))), len(keys), tuple(notes))


def _models_at_end(data, cls: str, end: dt.date) -> tuple[set[str], NoData | None]:
    gap = _missing(data.models, "models", ("model_class", "start_date", "end_date", "new_code"))
    if gap:
        return set(), gap
    models = data.models
    if len(models) and models["model_class"].isna().all():
        return set(), NoData("no_model_class", "no model has a model_class (intensive / "
                                                "integrated) recorded")
    chosen = models["model_class"].astype("string").str.strip().str.lower() == cls
    rows = models[chosen.fillna(False).to_numpy(dtype=bool)
                  & active_models(models, end).to_numpy(dtype=bool)]
    return set(_codes(rows["new_code"]).dropna()), None


def _measure_key_communes_intensive(data, start, end, key_areas):
    """Key communes with an intensive model (mô hình chuyên sâu) at the period end.

    Numerator: key-area communes with at least one model of class
    ``intensive`` active on the period's last day (started on or before it,
    end date missing or on or after it). Denominator: the key-area communes.
    No data when no model has a class recorded.
    """
    keys, gap = _key_areas(key_areas, data)
    if gap:
        return gap
    codes, gap = _models_at_end(data, "intensive", end)
    if gap:
        return gap
    return Ratio(len(keys.intersection(pd.Index(sorted(codes)))), len(keys))


def _all_communes(data) -> tuple[pd.Index | None, NoData | None]:
    if data.communes is None:
        return None, NoData("missing_table", "the list of communes was not given")
    if len(data.communes) == 0:
        return None, NoData("empty", "the list of communes is empty")
    return data.communes, None


def _measure_communes_integrated(data, start, end, key_areas):
    """Communes with an integrated model (mô hình lồng ghép) at the period end.

    Numerator: communes (of ``communes``) with at least one model of class
    ``integrated`` active on the period's last day. Denominator: all
    communes. No data when no model has a class recorded.
    """
    communes, gap = _all_communes(data)
    if gap:
        return gap
    codes, gap = _models_at_end(data, "integrated", end)
    if gap:
        return gap
    return Ratio(len(communes.intersection(pd.Index(sorted(codes)))), len(communes))


def _measure_communes_with_materials(data, start, end, key_areas):
    """Communes that received guidance / communication materials (tài liệu) in the period.

    Numerator: communes (of ``communes``) with at least one outreach event
    dated in the period with ``materials`` > 0. Denominator: all communes.
    No data when the period has outreach events but none records materials;
    a period with no outreach at all is a true 0.
    """
    communes, gap = _all_communes(data)
    if gap:
        return gap
    gap = _missing(data.outreach, "outreach", ("date", "materials", "new_code"))
    if gap:
        return gap
    events = data.outreach[within(data.outreach["date"], start, end)]
    materials = pd.to_numeric(events["materials"], errors="coerce")
    if len(events) and materials.isna().all():
        return NoData("no_materials", f"none of the {len(events)} outreach events of the period "
                                       "records its materials")
    given = (materials > 0).fillna(False).to_numpy(dtype=bool)
    codes = set(_codes(events.loc[given, "new_code"]).dropna())
    notes = ()
    if materials.isna().any():
        missing = int(materials.isna().sum())
        notes = (f"{missing} outreach events without a materials figure counted as none",)
    return Ratio(len(communes.intersection(pd.Index(sorted(codes)))), len(communes), notes)


def _measure_residents_reached(data, start, end, key_areas):
    """Residents aged 14–60 reached by outreach (người dân được tiếp cận).

    Numerator: the sum of ``participants`` of the outreach events dated in
    the period, in communes with a ``population_14_60`` figure. Denominator:
    the sum of ``population_14_60`` of those communes for the year of the
    period's end (or, if that year is missing, the latest earlier year:
    noted). The value is capped at 100 %. Participants are attendances, not
    persons: one person at three talks counts three times, so the value is
    an upper bound of the share of people reached. No data when no
    population aged 14–60 is recorded for that year or before.
    """
    gap = (_missing(data.outreach, "outreach", ("date", "participants", "new_code"))
           or _missing(data.population, "population", ("new_code", "year", "population_14_60")))
    if gap:
        return gap
    pop = data.population
    years = pd.to_numeric(pop["year"], errors="coerce")
    size = pd.to_numeric(pop["population_14_60"], errors="coerce")
    known = pop.assign(_year=years, _size=size, _code=_codes(pop["new_code"]))
    known = known[known["_size"].notna() & known["_year"].notna() & (known["_year"] <= end.year)]
    if data.communes is not None:
        known = known[known["_code"].isin(data.communes)]
    if known.empty:
        return NoData("no_population_14_60",
                       f"no population aged 14-60 is recorded for {end.year} or before")
    year = int(known["_year"].max())
    per_commune = known[known["_year"] == year].drop_duplicates("_code", keep="last")
    per_commune = per_commune.set_index("_code")["_size"]
    notes = []
    if year != end.year:
        notes.append(f"population aged 14-60 of {year} used (none recorded for {end.year})")
    events = data.outreach[within(data.outreach["date"], start, end)]
    participants = pd.to_numeric(events["participants"], errors="coerce")
    if len(events) and participants.isna().all():
        return NoData("no_participants", f"none of the {len(events)} outreach events of the "
                                          "period records its participants")
    where = _codes(events["new_code"])
    counted = where.isin(per_commune.index).fillna(False).to_numpy(dtype=bool)
    if (~counted).any():
        notes.append(f"{int((~counted).sum())} outreach events in communes without a population "
                     "aged 14-60 left out")
    if participants.isna().any():
        notes.append(f"{int(participants.isna().sum())} outreach events without a participants "
                     "figure counted as none")
    notes.append("participants are attendances, not distinct persons")
    return Ratio(int(participants[counted].fillna(0).sum()), int(per_commune.sum()),
                  tuple(notes), cap=True)


#: Each measure a plan may name (:data:`geo.plans.MEASURES`), by name: the function
#: ``(data, start, end, key_areas) -> Ratio | NoData`` that computes it.
MEASURE_FUNCTIONS: dict[str, Callable[..., Ratio | NoData]] = {
    "cases_cleared_rate": _measure_cases_cleared_rate,
    "prosecuted_tried_rate": _measure_prosecuted_tried_rate,
    "prosecution_rate": _measure_prosecution_rate,
    "reports_handled_rate": _measure_reports_handled_rate,
    "key_areas_covered": _measure_key_areas_covered,
    "key_communes_intensive": _measure_key_communes_intensive,
    "communes_integrated": _measure_communes_integrated,
    "communes_with_materials": _measure_communes_with_materials,
    "residents_reached": _measure_residents_reached,
}

