"""Plan targets (chỉ tiêu) and the tracker: is the province on track against its plans?

A plan (kế hoạch) is a YAML file in ``data/plans/``: its document, its period
and its indicators, each a *computable measure* with a target written as in
the document ("trên 90 %", "ít nhất 30 %", "đến năm 2017 đạt 75 %", "hàng
năm tăng ít nhất 02 %"). :func:`load_plan` validates a file and says, for
every mistake, the file, the line, the field and what was expected;
:func:`compute_indicator` measures one indicator over one period from the
joined records; :func:`track` does every indicator of a plan over several
periods, with the trend.

File format (every key is checked; unknown keys are refused)::

    id: tay_ninh_2024                  # letters, digits, _ ; unique across plans
    title: Kế hoạch ...                 # Vietnamese title
    source: {document: 470/KH-UBND, date: 19/02/2024, issuer: UBND tỉnh Tây Ninh}
    period: {start: 01/01/2024, end: 31/12/2024}   # dd/mm/yyyy or yyyy-mm-dd
    key_areas: ["27787", ...]           # optional: 5-digit 2025 commune codes
    indicators:
      - id: cases_cleared
        label_vi: ...
        label_en: ...
        measure: cases_cleared_rate     # one of MEASURES
        target: 90                      # percent, 0-100
        direction: at_least             # or at_most
        strict: true                    # optional: "trên 90 %" (more than, not at least)
        midterm: {date: 31/12/2017, target: 75}         # optional
        baseline: {year: 2015, value: 40}               # optional
        annual_increase: 2              # optional, points a year (instead of target)
        cumulative: true                # optional: count events from the plan start
        prorate: true                   # optional: override the default (see below)
        source_ref:                     # where the target is written
          {document: 470/KH-UBND, section: I, quote: "trên 90% tổng số án khởi tố"}
        note: ...                       # optional caveat shown with the value

Status of a value (``STATUSES``), in this order:

- ``no_data``: the value cannot be computed (denominator 0, a table or a
  column missing, no status recorded) or the target cannot (a yearly
  increase with neither a baseline nor a previous period); ``reason`` says
  which, never a 0 in disguise;
- ``met``: the value meets the period's target (≥, or > when ``strict``;
  ≤ / < for ``at_most``);
- ``on_track``: not met, but the value meets the *expected* level for the
  period's end date, which is lower than the target only while the plan
  runs: the time-prorated target when the indicator is prorated (linear
  from the baseline, or 0, at the plan start, through the mid-term target
  on its date, to the target at the plan end), else the mid-term target
  up to the mid-term date;
- ``behind``: otherwise.

Rates of the period (clearance, prosecution, reports handled, key areas
covered each year) are not prorated: the plans ask for them every year
("hàng năm"), so a period is met or behind. Build-up measures (communes with
a model at the period end) and ``cumulative`` event measures are prorated;
``at_most`` targets never are. ``prorate:`` in the file overrides the default.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from data import BUNDLED_DIR

__all__ = [
    "MEASURES",
    "PLANS_DIR",
    "STAGES",
    "STATUSES",
    "Baseline",
    "Indicator",
    "IndicatorValue",
    "Midterm",
    "Plan",
    "PlanError",
    "PlanPeriod",
    "PlanSource",
    "Problem",
    "SourceRef",
    "TrackingData",
    "compute_indicator",
    "load_plan",
    "load_plans",
    "status_stage",
    "track",
]

#: The shipped plans (``data/plans/*.yaml``).
PLANS_DIR = BUNDLED_DIR / "plans"

#: The computable measures, each with what it divides by what (the docstrings
#: of the ``_measure_*`` functions below say it exactly).
MEASURES: dict[str, str] = {
    "cases_cleared_rate": "trafficking cases of the period with status verified, prosecuted or "
                          "tried / trafficking cases of the period",
    "prosecuted_tried_rate": "trafficking cases of the period with status tried / those with "
                             "status prosecuted or tried",
    "prosecution_rate": "trafficking cases of the period with status prosecuted or tried / "
                        "trafficking cases of the period",
    "reports_handled_rate": "tips of the period with status verified, prosecuted or tried / "
                            "tips of the period",
    "key_areas_covered": "key-area communes with a model active in the period or an outreach "
                         "event in the period / key-area communes",
    "key_communes_intensive": "key-area communes with an intensive model active at the period "
                              "end / key-area communes",
    "communes_integrated": "communes with an integrated model active at the period end / all "
                           "communes",
    "communes_with_materials": "communes with an outreach event with materials > 0 in the "
                               "period / all communes",
    "residents_reached": "outreach participants (attendances) in the period / population aged "
                         "14-60 of the period's year, capped at 100 %",
}

#: The status of a value, from best to unknown (rule in the module docstring).
STATUSES = ("met", "on_track", "behind", "no_data")

_STATUS_ORDER = ("received", "verified", "prosecuted", "tried")
_CLEARED = frozenset({"verified", "prosecuted", "tried"})
_PROSECUTED = frozenset({"prosecuted", "tried"})
#: Measures whose value is a state at the period end (models), built up over the plan.
_STATE = frozenset({"key_communes_intensive", "communes_integrated"})
#: Measures counting events (outreach) inside a window, which ``cumulative`` widens.
_EVENTS = frozenset({"key_areas_covered", "communes_with_materials", "residents_reached"})
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^\d{5}$")


# -- the plan file -------------------------------------------------------------------


def _parse_date(value: Any) -> dt.date:
    """A date from ``dd/mm/yyyy``, ``yyyy-mm-dd`` or a date YAML already read."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise PydanticCustomError(
        "plan_date", "expected a date written dd/mm/yyyy (or yyyy-mm-dd), got {got}",
        {"got": repr(value)},
    )


def _parse_code(value: Any) -> str:
    """A 5-digit commune code; a bare YAML number of 5 digits is accepted."""
    if isinstance(value, int) and not isinstance(value, bool) and 10000 <= value <= 99999:
        return str(value)
    if isinstance(value, str) and _CODE.match(value.strip()):
        return value.strip()
    raise PydanticCustomError(
        "plan_code", "expected a 5-digit commune code in quotes, e.g. \"27787\", got {got}",
        {"got": repr(value)},
    )


Date = Annotated[dt.date, BeforeValidator(_parse_date)]
Percent = Annotated[float, Field(strict=True, ge=0, le=100)]
Code = Annotated[str, BeforeValidator(_parse_code)]
Text = Annotated[str, Field(strict=True, min_length=1)]
Identifier = Annotated[str, Field(strict=True, pattern=_ID.pattern)]
Measure = Literal[tuple(MEASURES)]  # type: ignore[valid-type]


def _rule(message: str, *at: str | int, **params: Any) -> PydanticCustomError:
    """A plan-rule error; ``at`` is the path, below the validated object, it points to."""
    return PydanticCustomError("plan_rule", message, {"at": at, **params})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanSource(_Strict):
    """The document the plan is: number (``470/KH-UBND``), date, issuer."""

    document: Text
    date: Date
    issuer: Text
    note: str | None = None


class PlanPeriod(_Strict):
    """The first and last day of the plan (both included)."""

    start: Date
    end: Date

    @model_validator(mode="after")
    def _ordered(self) -> PlanPeriod:
        if self.end < self.start:
            raise _rule("the period ends ({end}) before it starts ({start})", "end",
                        start=self.start.strftime("%d/%m/%Y"), end=self.end.strftime("%d/%m/%Y"))
        return self


class Midterm(_Strict):
    """The interim target due on a date (e.g. 75 % by the end of 2017)."""

    date: Date
    target: Percent


class Baseline(_Strict):
    """Where the indicator stood in a year (the base of a yearly increase, or of proration)."""

    year: Annotated[int, Field(strict=True, ge=1990, le=2100)]
    value: Percent


class SourceRef(_Strict):
    """Where the target is written: document, section and a few words quoted from it."""

    document: Text
    section: Text
    quote: Text


class Indicator(_Strict):
    """One target of a plan: a computable measure, its target and where it is written.

    Either ``target`` (percent, 0–100) or ``annual_increase`` (points a year,
    from ``baseline`` or else from the previous tracked period) is given.
    """

    id: Identifier
    label_vi: Text
    label_en: Text
    measure: Measure
    target: Percent | None = None
    direction: Literal["at_least", "at_most"]
    strict: bool = False
    midterm: Midterm | None = None
    baseline: Baseline | None = None
    annual_increase: Annotated[float, Field(strict=True, ge=-100, le=100)] | None = None
    cumulative: bool = False
    prorate: bool | None = None
    source_ref: SourceRef
    note: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Indicator:
        if self.target is None and self.annual_increase is None:
            raise _rule("give a target (percent, 0-100) or an annual_increase (points a year)",
                        "target")
        if self.target is not None and self.annual_increase is not None:
            raise _rule("give either a target or an annual_increase, not both",
                        "annual_increase")
        if self.annual_increase is not None and self.midterm is not None:
            raise _rule("a mid-term target needs a final target, not an annual_increase",
                        "midterm")
        if self.cumulative and self.measure not in _EVENTS:
            raise _rule("cumulative applies to event measures only ({events}), not {measure}",
                        "cumulative", events=", ".join(sorted(_EVENTS)), measure=self.measure)
        return self

    @property
    def prorated(self) -> bool:
        """Whether the expected level grows over the plan (see the module docstring)."""
        if self.prorate is not None:
            return self.prorate
        if self.annual_increase is not None:
            return False
        return self.measure in _STATE or (self.measure in _EVENTS and self.cumulative)


class Plan(_Strict):
    """A plan (kế hoạch): its document, its period, its key areas and its indicators."""

    id: Identifier
    title: Text
    source: PlanSource
    period: PlanPeriod
    key_areas: tuple[Code, ...] | None = None
    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1)]

    @field_validator("key_areas")
    @classmethod
    def _unique_codes(cls, codes):
        if codes is not None:
            seen: set[str] = set()
            for i, code in enumerate(codes):
                if code in seen:
                    raise _rule("commune {code} is listed twice", i, code=code)
                seen.add(code)
        return codes

    @field_validator("indicators")
    @classmethod
    def _unique_ids(cls, indicators):
        first: dict[str, int] = {}
        for i, ind in enumerate(indicators):
            if ind.id in first:
                raise _rule("duplicate indicator id '{id}' (first used by indicators[{first}])",
                            i, "id", id=ind.id, first=first[ind.id])
            first[ind.id] = i
        return indicators

    @model_validator(mode="after")
    def _midterms_inside(self) -> Plan:
        for i, ind in enumerate(self.indicators):
            if ind.midterm and not self.period.start <= ind.midterm.date <= self.period.end:
                raise _rule("the mid-term date {date} is outside the plan period {start}-{end}",
                            "indicators", i, "midterm", "date",
                            date=ind.midterm.date.strftime("%d/%m/%Y"),
                            start=self.period.start.strftime("%d/%m/%Y"),
                            end=self.period.end.strftime("%d/%m/%Y"))
        return self

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with this id."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(f"plan {self.id!r} has no indicator {indicator_id!r}; it has "
                       f"{[i.id for i in self.indicators]}")


@dataclass(frozen=True)
class Problem:
    """One mistake in a plan file: the field (``indicators[2].target``), what is wrong, the line."""

    field: str
    message: str
    line: int | None = None


class PlanError(ValueError):
    """A plan file that cannot be used; ``problems`` lists every mistake found.

    ``str(error)`` is what a person reads, one line per problem, each as
    ``file:line: field: message``.
    """

    def __init__(self, file: str | Path | None, problems: Sequence[Problem]):
        self.file = str(file) if file is not None else None
        self.problems = tuple(problems)
        where = self.file or "plan"
        lines = [f"{where}: {len(self.problems)} problem(s):"]
        for p in self.problems:
            loc = f"{where}:{p.line}" if p.line else where
            lines.append(f"  {loc}: {p.field}: {p.message}" if p.field else f"  {loc}: {p.message}")
        super().__init__("\n".join(lines))


def _marks(node: yaml.Node, path: tuple = ()) -> tuple[dict[tuple, int], list[Problem]]:
    """The 1-based line of every path in a composed YAML tree, and its duplicate keys."""
    lines = {path: node.start_mark.line + 1}
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            sub_lines, sub_problems = _marks(value, path + (name,))
            lines.update(sub_lines)
            problems += sub_problems
            lines[path + (name,)] = key.start_mark.line + 1
            if name in seen:
                problems.append(Problem(_dotted(path + (name,)), "this key is written twice",
                                        key.start_mark.line + 1))
            seen.add(name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub_lines, sub_problems = _marks(item, path + (i,))
            lines.update(sub_lines)
            problems += sub_problems
    return lines, problems


def _dotted(loc: Sequence, raw: Any = None) -> str:
    """``indicators[2] (cleared).target`` from a path, naming indicators by id when known."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if i > 0 and loc[i - 1] == "indicators" and isinstance(raw, Mapping):
                items = raw.get("indicators")
                item = items[part] if isinstance(items, list) and part < len(items) else None
                if isinstance(item, Mapping):
                    ind_id = item.get("id")
                    if isinstance(ind_id, str):
                        out += f" ({ind_id})"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Mapping) -> str:
    """What a person should read for one pydantic error."""
    kind, loc, got = err["type"], err["loc"], err.get("input")
    ctx = err.get("ctx") or {}
    name = loc[-1] if loc else ""
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown field {name!r} (check the spelling; see layers/targets.py for the format)"
    if kind == "literal_error" and name == "measure":
        return f"unknown measure {got!r}; valid measures: {', '.join(MEASURES)}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {got!r}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        what = "a number (percent, 0-100)" if name in ("target", "value") else "a number"
        return f"expected {what}, got {got!r}"
    if kind in ("less_than_equal", "greater_than_equal") and name in ("target", "value"):
        return f"a percent must be between 0 and 100 (written 90 for 90 %), got {got!r}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {got!r}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {got!r}"
    if kind == "bool_type":
        return f"expected true or false, got {got!r}"
    if kind in ("string_type", "string_too_short"):
        return f"expected a non-empty text, got {got!r}"
    if kind == "string_pattern_mismatch":
        return f"expected lower-case letters, digits and _ (starting with a letter), got {got!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping (key: value lines), got {got!r}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {got!r}"
    if kind == "too_short":
        return "the list is empty"
    return str(err["msg"]).removeprefix("Value error, ")


def _problems(error: ValidationError, lines: Mapping[tuple, int], raw: Any) -> list[Problem]:
    out = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"] == "plan_rule":
            loc = loc + tuple((err.get("ctx") or {}).get("at", ()))
        line = None
        for n in range(len(loc), -1, -1):
            if loc[:n] in lines:
                line = lines[loc[:n]]
                break
        out.append(Problem(_dotted(loc, raw), _message(err), line))
    return out


def _read_yaml(text: str, name: str) -> tuple[Any, dict[tuple, int], list[Problem]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PlanError(name, [Problem("", "the file is empty")])
        raw = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise PlanError(name, [Problem("", f"not valid YAML: {err.problem or err.context}",
                                       mark.line + 1 if mark else None)]) from None
    except yaml.YAMLError as err:
        raise PlanError(name, [Problem("", f"not valid YAML: {err}")]) from None
    finally:
        loader.dispose()
    lines, duplicates = _marks(node)
    return raw, lines, duplicates


def load_plan(path: str | Path) -> Plan:
    """Read and validate one plan file.

    Parameters
    ----------
    path : str or Path
        A YAML file in the format of the module docstring.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        Listing every problem as ``file:line: field: message``: a missing or
        unknown field, a value of the wrong kind, an unknown measure (with
        the valid ones), a percent outside 0–100, a bad date, a duplicate
        indicator id, a key written twice, invalid YAML.

    Examples
    --------
    >>> plan = load_plan(PLANS_DIR / "tay_ninh_2024.yaml")
    >>> plan.source.document, [i.measure for i in plan.indicators][:2]
    ('470/KH-UBND', ['cases_cleared_rate', 'prosecuted_tried_rate'])
    """
    path = Path(path)
    raw, lines, problems = _read_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(raw, Mapping):
        raise PlanError(path, [Problem("", "expected a mapping of plan fields (id, title, ...) "
                                           f"at the top of the file, got {type(raw).__name__}", 1)])
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as err:
        problems += _problems(err, lines, raw)
    if problems:
        raise PlanError(path, sorted(problems, key=lambda p: (p.line or 0, p.field)))
    return plan


def load_plans(folder: str | Path = PLANS_DIR) -> list[Plan]:
    """Read every ``*.yaml`` plan of a folder, in file-name order, refusing duplicate plan ids.

    Examples
    --------
    >>> sorted(p.id for p in load_plans())
    ['national_programme_2016_2020', 'tay_ninh_2024']
    """
    plans: list[Plan] = []
    files: dict[str, Path] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        plan = load_plan(path)
        if plan.id in files:
            raise PlanError(path, [Problem("id", f"plan id {plan.id!r} is already used by "
                                                 f"{files[plan.id]}", 1)])
        files[plan.id] = path
        plans.append(plan)
    return plans


# -- the data ------------------------------------------------------------------------


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
class _NoData:
    reason: str
    detail: str


@dataclass(frozen=True)
class _Ratio:
    numerator: int
    denominator: int
    notes: tuple[str, ...] = ()
    cap: bool = False


def _missing(table: pd.DataFrame | None, name: str, columns: Iterable[str]) -> _NoData | None:
    if table is None:
        return _NoData("missing_table", f"the {name} table was not given")
    absent = [c for c in columns if c not in table.columns]
    if absent:
        return _NoData("missing_column", f"the {name} table has no column {', '.join(absent)}")
    return None


def _within(dates: pd.Series, start: dt.date, end: dt.date) -> pd.Series:
    """Dates from ``start`` to ``end``, both days included (NaT is outside)."""
    dates = pd.to_datetime(dates)
    return (dates >= pd.Timestamp(start)) & (dates < pd.Timestamp(end) + pd.Timedelta(days=1))


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
    :mod:`layers.indicator_release` suppresses those sums.

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
              ) -> tuple[pd.Series, _NoData | None]:
    """Lower-case statuses of the records of ``kind`` dated in the window (missing kept)."""
    gap = _missing(incidents, "incidents", ("date", "type", "status"))
    if gap:
        return pd.Series(dtype="string"), gap
    rows = incidents[(incidents["type"] == kind) & _within(incidents["date"], start, end)]
    status = _normalised(rows["status"])
    noun = {"trafficking_case": "trafficking cases", "tip": "tips"}[kind]
    if len(status) == 0:
        return status, _NoData("empty", f"no {noun} dated in the period")
    if status.isna().all():
        return status, _NoData("no_status",
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
    """Trafficking cases cleared (điều tra khám phá) among the trafficking cases of the period.

    Numerator: incidents of type ``trafficking_case`` dated in the period
    whose status has reached ``verified``, ``prosecuted`` or ``tried``.
    Denominator: all incidents of type ``trafficking_case`` dated in the
    period; a case with no status counts as not cleared (noted).
    Mapping: the plans' "tỷ lệ điều tra khám phá ... trên tổng số án khởi
    tố" is the share of cases with proceedings opened that were solved; our
    status ladder (received → verified → prosecuted → tried) has no "solved"
    step, so "cleared" is read as "went past reception" (verified or
    later), and the denominator is every recorded case, not only those
    prosecuted. No data when no case has a status.
    """
    status, gap = _statuses(data.incidents, "trafficking_case", start, end)
    if gap:
        return gap
    return _Ratio(int(status.isin(_CLEARED).sum()), len(status),
                  _status_notes(status, "cases", "not cleared"))


def _measure_prosecuted_tried_rate(data, start, end, key_areas):
    """Prosecuted cases that were tried (xét xử) among the prosecuted cases of the period.

    Numerator: trafficking cases dated in the period with status ``tried``.
    Denominator: trafficking cases dated in the period with status
    ``prosecuted`` or ``tried`` (cases without a status are outside both).
    No data when no case of the period was prosecuted or tried.
    """
    status, gap = _statuses(data.incidents, "trafficking_case", start, end)
    if gap:
        return gap
    denominator = int(status.isin(_PROSECUTED).sum())
    if denominator == 0:
        return _NoData("empty", "no trafficking case of the period was prosecuted or tried")
    return _Ratio(int((status == "tried").sum()), denominator)


def _measure_prosecution_rate(data, start, end, key_areas):
    """Trafficking cases prosecuted (khởi tố) among all trafficking cases of the period.

    Numerator: trafficking cases dated in the period with status
    ``prosecuted`` or ``tried``. Denominator: all trafficking cases dated in
    the period ("tổng số các vụ việc được phát hiện"); a case with no status
    counts as not prosecuted (noted).
    """
    status, gap = _statuses(data.incidents, "trafficking_case", start, end)
    if gap:
        return gap
    return _Ratio(int(status.isin(_PROSECUTED).sum()), len(status),
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
    return _Ratio(int(status.isin(_CLEARED).sum()), len(status),
                  _status_notes(status, "tips", "not handled"))


def _active(models: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    """Models active at some time from ``start`` to ``end`` (a missing start counts as begun)."""
    begun = pd.to_datetime(models["start_date"])
    ended = pd.to_datetime(models["end_date"])
    return ((begun.isna() | (begun < pd.Timestamp(end) + pd.Timedelta(days=1)))
            & (ended.isna() | (ended >= pd.Timestamp(start))))


def _key_areas(key_areas, data) -> tuple[pd.Index | None, _NoData | None]:
    if key_areas is None:
        return None, _NoData("no_key_areas", "no key areas: the plan lists none and none were "
                                             "given")
    keys = pd.Index(sorted({str(c) for c in key_areas}))
    if len(keys) == 0:
        return None, _NoData("empty", "the list of key areas is empty")
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
        return _NoData(outreach_gap.reason, f"{models_gap.detail}; {outreach_gap.detail}")
    if not models_gap:
        models = data.models
        covered |= set(_codes(models.loc[_active(models, start, end), "new_code"]).dropna())
    else:
        notes.append(f"{models_gap.detail}: outreach alone counted")
    if not outreach_gap:
        events = data.outreach
        covered |= set(_codes(events.loc[_within(events["date"], start, end), "new_code"]).dropna())
    else:
        notes.append(f"{outreach_gap.detail}: models alone counted")
    return _Ratio(len(keys.intersection(pd.Index(sorted(covered)))), len(keys), tuple(notes))


def _models_at_end(data, cls: str, end: dt.date) -> tuple[set[str], _NoData | None]:
    gap = _missing(data.models, "models", ("model_class", "start_date", "end_date", "new_code"))
    if gap:
        return set(), gap
    models = data.models
    if len(models) and models["model_class"].isna().all():
        return set(), _NoData("no_model_class", "no model has a model_class (intensive / "
                                                "integrated) recorded")
    chosen = models["model_class"].astype("string").str.strip().str.lower() == cls
    rows = models[chosen.fillna(False).to_numpy(dtype=bool)
                  & _active(models, end, end).to_numpy(dtype=bool)]
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
    return _Ratio(len(keys.intersection(pd.Index(sorted(codes)))), len(keys))


def _all_communes(data) -> tuple[pd.Index | None, _NoData | None]:
    if data.communes is None:
        return None, _NoData("missing_table", "the list of communes was not given")
    if len(data.communes) == 0:
        return None, _NoData("empty", "the list of communes is empty")
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
    return _Ratio(len(communes.intersection(pd.Index(sorted(codes)))), len(communes))


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
    events = data.outreach[_within(data.outreach["date"], start, end)]
    materials = pd.to_numeric(events["materials"], errors="coerce")
    if len(events) and materials.isna().all():
        return _NoData("no_materials", f"none of the {len(events)} outreach events of the period "
                                       "records its materials")
    given = (materials > 0).fillna(False).to_numpy(dtype=bool)
    codes = set(_codes(events.loc[given, "new_code"]).dropna())
    notes = ()
    if materials.isna().any():
        missing = int(materials.isna().sum())
        notes = (f"{missing} outreach events without a materials figure counted as none",)
    return _Ratio(len(communes.intersection(pd.Index(sorted(codes)))), len(communes), notes)


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
        return _NoData("no_population_14_60",
                       f"no population aged 14-60 is recorded for {end.year} or before")
    year = int(known["_year"].max())
    per_commune = known[known["_year"] == year].drop_duplicates("_code", keep="last")
    per_commune = per_commune.set_index("_code")["_size"]
    notes = []
    if year != end.year:
        notes.append(f"population aged 14-60 of {year} used (none recorded for {end.year})")
    events = data.outreach[_within(data.outreach["date"], start, end)]
    participants = pd.to_numeric(events["participants"], errors="coerce")
    if len(events) and participants.isna().all():
        return _NoData("no_participants", f"none of the {len(events)} outreach events of the "
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
    return _Ratio(int(participants[counted].fillna(0).sum()), int(per_commune.sum()),
                  tuple(notes), cap=True)


_MEASURES = {name: globals()[f"_measure_{name}"] for name in MEASURES}


# -- values and status ----------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator measured over one period.

    Attributes
    ----------
    indicator, measure : str
    period : tuple of date
        First and last day measured (both included).
    value : float or None
        Percent, 0–100 (``None`` when no_data because the value cannot be computed).
    numerator, denominator : int or None
        What was divided (counts of cases, tips, communes; participants and
        residents for ``residents_reached``).
    target : float or None
        The target that applies to the period: the plan's target, or the
        yearly-increase target of the period's year.
    expected : float or None
        The level the status compares with (the target, or lower while the
        plan runs: prorated or mid-term; see the module docstring).
    status : {"met", "on_track", "behind", "no_data"}
    reason : str or None
        When no_data, a key: ``missing_table``, ``missing_column``, ``empty``
        (denominator 0), ``no_status``, ``no_key_areas``, ``no_model_class``,
        ``no_materials``, ``no_participants``, ``no_population_14_60``,
        ``no_baseline``.
    detail : str or None
        The reason in a sentence, with its numbers.
    notes : tuple of str
        Caveats on the value (records without a status, population year used …).
    """

    indicator: str
    measure: str
    period: tuple[dt.date, dt.date]
    value: float | None
    numerator: int | None
    denominator: int | None
    target: float | None
    expected: float | None
    status: str
    reason: str | None = None
    detail: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return _parse_date(value)
    except PydanticCustomError as err:
        raise ValueError(err.message()) from None


def _as_period(period: Any) -> tuple[dt.date, dt.date]:
    if isinstance(period, PlanPeriod):
        return period.start, period.end
    start, end = period
    start, end = _as_date(start), _as_date(end)
    if end < start:
        raise ValueError(f"period {start} - {end} ends before it starts")
    return start, end


def _meets(value: float, level: float, direction: str, strict: bool) -> bool:
    if direction == "at_most":
        return value < level if strict else value <= level
    return value > level if strict else value >= level


def _interpolate(points: list[tuple[dt.date, float]], day: dt.date) -> float:
    if day <= points[0][0]:
        return points[0][1]
    for (d0, v0), (d1, v1) in itertools.pairwise(points):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / max((d1 - d0).days, 1)
    return points[-1][1]


def _expected(ind: Indicator, target: float, end: dt.date,
              plan_period: tuple[dt.date, dt.date] | None) -> float:
    """The level due on ``end``: the target, or the prorated / mid-term level before it."""
    if ind.annual_increase is not None:
        return target
    if plan_period is not None and not plan_period[0] <= end < plan_period[1]:
        return target  # before the plan or once it is over, the target itself
    if ind.prorated and plan_period is not None and ind.direction == "at_least":
        start, stop = plan_period
        points = [(start, ind.baseline.value if ind.baseline else 0.0)]
        if ind.midterm and start < ind.midterm.date < stop:
            points.append((ind.midterm.date, ind.midterm.target))
        points.append((stop, target))
        return min(_interpolate(points, end), target)
    if ind.midterm and end <= ind.midterm.date:
        return ind.midterm.target
    return target


def _months(a: dt.date, b: dt.date) -> int:
    return (b.year * 12 + b.month) - (a.year * 12 + a.month)


def _period_target(ind: Indicator, end: dt.date, previous: IndicatorValue | None
                   ) -> tuple[float | None, _NoData | None]:
    if ind.annual_increase is None:
        return ind.target, None
    if ind.baseline is not None:
        level = ind.baseline.value + ind.annual_increase * (end.year - ind.baseline.year)
        return min(max(level, 0.0), 100.0), None
    if previous is None or previous.value is None:
        return None, _NoData("no_baseline", f"+{ind.annual_increase:g} points a year needs a "
                                            "baseline or a previous period with a value")
    years = _months(previous.period[1], end) / 12
    level = previous.value + ind.annual_increase * years
    return min(max(level, 0.0), 100.0), None


def compute_indicator(
    indicator: Indicator,
    data: TrackingData | Mapping[str, Any],
    period: tuple[Any, Any],
    *,
    key_areas: Iterable[str] | None = None,
    plan_period: tuple[Any, Any] | PlanPeriod | None = None,
    previous: IndicatorValue | None = None,
) -> IndicatorValue:
    """Measure one indicator over one period and say whether it meets its target.

    Parameters
    ----------
    indicator : Indicator
    data : TrackingData or mapping
        The joined tables (see :class:`TrackingData`); a missing table makes
        the measures that need it no_data.
    period : (start, end)
        First and last day (both included): dates, ``dd/mm/yyyy`` or ISO strings.
    key_areas : iterable of str, optional
        The key-area communes (2025 codes) for the key-area measures.
    plan_period : (start, end) or PlanPeriod, optional
        The plan's period: needed for ``on_track`` while the plan runs and
        for ``cumulative`` windows (which start at the plan start).
    previous : IndicatorValue, optional
        The latest earlier period's value (:func:`track` passes it): the base
        of an ``annual_increase`` target when the indicator has no ``baseline``
        (target = previous value + increase × months between the two period
        ends / 12).

    Returns
    -------
    IndicatorValue

    Examples
    --------
    >>> ind = Indicator.model_validate({
    ...     "id": "tried", "label_vi": "Xét xử", "label_en": "Tried",
    ...     "measure": "prosecuted_tried_rate", "target": 95, "direction": "at_least",
    ...     "source_ref": {"document": "470/KH-UBND", "section": "I", "quote": "95%"}})
    >>> cases = pd.DataFrame({"date": pd.to_datetime(["2024-03-01"] * 4),
    ...                       "type": "trafficking_case", "new_code": "27787",
    ...                       "status": ["tried", "tried", "prosecuted", "received"]})
    >>> v = compute_indicator(ind, {"incidents": cases}, ("01/01/2024", "31/12/2024"))
    >>> round(v.value, 1), v.numerator, v.denominator, v.status
    (66.7, 2, 3, 'behind')
    >>> compute_indicator(ind, {}, ("01/01/2024", "31/12/2024")).reason
    'missing_table'
    """
    data = TrackingData.of(data)
    start, end = _as_period(period)
    plan_span = _as_period(plan_period) if plan_period is not None else None
    window_start = start
    notes: list[str] = []
    if indicator.cumulative and plan_span is not None and plan_span[0] < start:
        window_start = plan_span[0]
        notes.append(f"counted from the plan start {window_start:%d/%m/%Y}")
    if plan_span is not None and (end < plan_span[0] or start > plan_span[1]):
        notes.append(f"the period lies outside the plan period "
                     f"{plan_span[0]:%d/%m/%Y}-{plan_span[1]:%d/%m/%Y}")
    result = _MEASURES[indicator.measure](data, window_start, end, key_areas)
    target, target_gap = _period_target(indicator, end, previous)
    base = {"indicator": indicator.id, "measure": indicator.measure, "period": (start, end),
            "target": target}
    if isinstance(result, _NoData):
        return IndicatorValue(**base, value=None, numerator=None, denominator=None,
                              expected=None, status="no_data", reason=result.reason,
                              detail=result.detail, notes=tuple(notes))
    if result.denominator == 0:
        return IndicatorValue(**base, value=None, numerator=result.numerator, denominator=0,
                              expected=None, status="no_data", reason="empty",
                              detail="nothing to divide by in the period",
                              notes=tuple(notes) + result.notes)
    value = 100.0 * result.numerator / result.denominator
    if result.cap and value > 100.0:
        value = 100.0
        notes.append("capped at 100 %")
    notes += result.notes
    if target_gap:
        return IndicatorValue(**base, value=value, numerator=result.numerator,
                              denominator=result.denominator, expected=None, status="no_data",
                              reason=target_gap.reason, detail=target_gap.detail,
                              notes=tuple(notes))
    expected = _expected(indicator, target, end, plan_span)
    if _meets(value, target, indicator.direction, indicator.strict):
        status = "met"
    elif expected != target and _meets(value, expected, indicator.direction, indicator.strict):
        status = "on_track"
    else:
        status = "behind"
    return IndicatorValue(**base, value=value, numerator=result.numerator,
                          denominator=result.denominator, expected=expected, status=status,
                          notes=tuple(notes))


_COLUMNS = ["plan", "indicator", "label_vi", "label_en", "measure", "period_start", "period_end",
            "value", "numerator", "denominator", "target", "expected", "direction", "status",
            "reason", "detail", "notes", "change", "trend", "source"]


def track(
    plan: Plan,
    data: TrackingData | Mapping[str, Any],
    periods: Iterable[tuple[Any, Any]],
    *,
    key_areas: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every indicator of a plan over every period, with the change from the previous period.

    Parameters
    ----------
    plan : Plan
    data : TrackingData or mapping
    periods : iterable of (start, end)
        Sorted by start date before computing; each is measured on its own
        (``cumulative`` indicators count from the plan start).
    key_areas : iterable of str, optional
        Used when the plan lists no ``key_areas`` of its own (the plan's list wins).

    Returns
    -------
    DataFrame
        One row per indicator × period, in plan order then period order:
        ``plan``, ``indicator``, ``label_vi``, ``label_en``, ``measure``,
        ``period_start``, ``period_end``, ``value`` (percent), ``numerator``,
        ``denominator``, ``target``, ``expected``, ``direction``, ``status``,
        ``reason``, ``detail``, ``notes`` (text, "; "-joined), ``change``
        (points since the previous period, when both have a value),
        ``trend`` ("better" / "worse" / "same" for the target's direction)
        and ``source`` (document, section).

    Examples
    --------
    >>> plan = load_plan(PLANS_DIR / "tay_ninh_2024.yaml")
    >>> cases = pd.DataFrame({"date": pd.to_datetime(["2024-02-01", "2024-05-01", "2024-06-01"]),
    ...                       "type": "trafficking_case", "new_code": "27787",
    ...                       "status": ["tried", "received", "prosecuted"]})
    >>> table = track(plan, {"incidents": cases},
    ...               [("01/01/2024", "31/03/2024"), ("01/04/2024", "30/06/2024")])
    >>> cleared = table[table.indicator == "cases_cleared"]
    >>> cleared[["value", "status"]].values.tolist(), cleared["trend"].tolist()[1]
    ([[100.0, 'met'], [50.0, 'behind']], 'worse')
    """
    data = TrackingData.of(data)
    spans = sorted(_as_period(p) for p in periods)
    keys = plan.key_areas if plan.key_areas is not None else key_areas
    keys = tuple(keys) if keys is not None else None
    plan_span = (plan.period.start, plan.period.end)
    rows = []
    for ind in plan.indicators:
        previous: IndicatorValue | None = None
        base: IndicatorValue | None = None  # the latest period with a value
        for span in spans:
            v = compute_indicator(ind, data, span, key_areas=keys, plan_period=plan_span,
                                  previous=base)
            change = trend = None
            if previous is not None and previous.value is not None and v.value is not None:
                change = v.value - previous.value
                sign = 0 if math.isclose(change, 0.0, abs_tol=1e-9) else (1 if change > 0 else -1)
                if ind.direction == "at_most":
                    sign = -sign
                trend = {1: "better", -1: "worse", 0: "same"}[sign]
            rows.append({
                "plan": plan.id, "indicator": ind.id, "label_vi": ind.label_vi,
                "label_en": ind.label_en, "measure": ind.measure,
                "period_start": v.period[0], "period_end": v.period[1], "value": v.value,
                "numerator": v.numerator, "denominator": v.denominator, "target": v.target,
                "expected": v.expected, "direction": ind.direction, "status": v.status,
                "reason": v.reason, "detail": v.detail, "notes": "; ".join(v.notes),
                "change": change, "trend": trend,
                "source": f"{ind.source_ref.document}, {ind.source_ref.section}",
            })
            previous = v
            base = v if v.value is not None else base
    table = pd.DataFrame(rows, columns=_COLUMNS)
    for column in ("value", "target", "expected", "change"):
        table[column] = table[column].astype("float64")
    for column in ("numerator", "denominator"):
        table[column] = table[column].astype("Int64")
    return table
