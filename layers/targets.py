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
    key_areas: ["27787", ...]           # optional: the official list, 5-digit 2025 codes
    key_areas_source: Quyết định ...    # optional: where that list is decided
    indicators:
      - id: cases_cleared
        label_vi: ...
        label_en: ...
        measure: cases_cleared_rate     # one of MEASURES
        target: 90                      # percent, 0-100
        direction: at_least             # or at_most
        strict: true                    # optional: "trên 90 %" (more than, not at least)
        definition_vi: ...              # optional: what is divided by what, in the plan's words
        definition_en: ...
        cohort_lag_months: 12           # optional: measure the cases of the period N months
                                        # earlier (cases still in process; see below)
        midterm: {date: 31/12/2017, target: 75}         # optional
        baseline: {year: 2015, value: 40}               # optional; value: measured if absent
        annual_increase: 2              # optional, points a year (instead of target); needs
                                        # a baseline year
        cumulative: true                # optional: count events from the plan start
        prorate: true                   # optional: override the default (see below)
        source_ref:                     # where the target is written
          {document: 470/KH-UBND, section: I, quote: "trên 90% tổng số án khởi tố"}
        note: ...                       # optional caveat shown with the value
    reporting:                          # optional: the reporting calendar (layers/reporting.py)
      to: Công an tỉnh (Thường trực Ban Chỉ đạo 138 tỉnh)   # who receives the reports
      source_ref: {document: ..., section: ..., quote: ...}
      agencies: [Công an tỉnh, Sở Tư pháp, ...]            # who must report, as they import
      periods:
        - id: half_2024
          kind: half_year               # quarter | half_year | year | campaign
          label_vi: 6 tháng đầu năm 2024
          label_en: First half of 2024
          start: 01/01/2024
          end: 30/06/2024
          due_before: 01/06/2024        # optional: "trước ngày 01/6"; on time only before it
          source_ref: {...}             # optional: where the due date is written

Status of a value (``STATUSES``), in this order:

- ``no_data``: the value cannot be computed (denominator 0, a table or a
  column missing, no status recorded), or the target cannot (a yearly
  increase whose baseline year has no value), or the value is only a lower
  bound that falls short of the target (``lower_bound``: cases cleared,
  whose "solved" step the records do not carry); ``reason`` says which,
  never a 0 in disguise;
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

Three rules read the targets as the plans mean them:

- **Definitions.** Each measure divides what the plan divides (the
  ``_measure_*`` docstrings quote it): cases cleared by investigation out of
  the cases with proceedings opened (*án khởi tố*: status prosecuted or
  tried), not every case; each indicator's ``definition_vi`` /
  ``definition_en`` says it next to the figure.
- **Cases still in process** (right-censoring). A case detected late in the
  period has not had time to be prosecuted or tried, so the three measures
  of case progress (cleared, tried, prosecuted) count the *cohort* of the
  cases dated in the same span ``cohort_lag_months`` earlier (12 by
  default: for 2025, the cases of 2024, with their status today); the row
  says which cohort (``cohort_start``, ``cohort_end``).
- **A yearly increase counts from the plan's baseline year** ("hàng năm,
  tăng ít nhất 02 %"): the target for the cases of year Y (the cohort's
  year for a lagged measure, else the period's) is the baseline value +
  increase × (Y − baseline year), the baseline value written in the plan
  or else measured on the cases of the baseline year; never chained on the
  previous period's value (one noisy quarter would move every later target).

Every value comes with its numerator, denominator and 95 % Wilson interval
(``ci_low``, ``ci_high``; statsmodels' ``proportion_confint``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
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
from statsmodels.stats.proportion import proportion_confint

from data import BUNDLED_DIR

__all__ = [
    "CENSORED",
    "DEFAULT_COHORT_LAG_MONTHS",
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
    "Reporting",
    "ReportingPeriod",
    "SourceRef",
    "TrackingData",
    "agency_key",
    "attach_key_areas",
    "compute_indicator",
    "load_plan",
    "load_plans",
    "status_stage",
    "track",
    "wilson_interval",
]

#: The shipped plans (``data/plans/*.yaml``).
PLANS_DIR = BUNDLED_DIR / "plans"

#: The computable measures, each with what it divides by what (the docstrings
#: of the ``_measure_*`` functions below say it exactly).
MEASURES: dict[str, str] = {
    "cases_cleared_rate": "trafficking cases of the cohort with status tried (a lower bound of "
                          "those solved) / those with proceedings opened (status prosecuted "
                          "or tried)",
    "prosecuted_tried_rate": "trafficking cases of the cohort with status tried / those with "
                             "status prosecuted or tried",
    "prosecution_rate": "trafficking cases of the cohort with status prosecuted or tried / "
                        "trafficking cases of the cohort",
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
#: Measures of case progress, whose latest cases are still in process (right-censored).
CENSORED = frozenset({"cases_cleared_rate", "prosecuted_tried_rate", "prosecution_rate"})
#: Months between a period and the cohort of cases measured for it, unless a plan says.
DEFAULT_COHORT_LAG_MONTHS = 12
#: Measures over the key-area communes.
_KEYED = frozenset({"key_areas_covered", "key_communes_intensive"})
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
    """Where the indicator stood in a year (the base of a yearly increase, or of proration).

    Without ``value``, the value is measured on the records of the year (a
    yearly increase only; proration needs the value written).
    """

    year: Annotated[int, Field(strict=True, ge=1990, le=2100)]
    value: Percent | None = None


class SourceRef(_Strict):
    """Where the target is written: document, section and a few words quoted from it."""

    document: Text
    section: Text
    quote: Text


class Indicator(_Strict):
    """One target of a plan: a computable measure, its target and where it is written.

    Either ``target`` (percent, 0–100) or ``annual_increase`` (points a year,
    from the ``baseline`` year) is given.
    """

    id: Identifier
    label_vi: Text
    label_en: Text
    measure: Measure
    target: Percent | None = None
    direction: Literal["at_least", "at_most"]
    strict: bool = False
    definition_vi: Text | None = None
    definition_en: Text | None = None
    cohort_lag_months: Annotated[int, Field(strict=True, ge=0, le=60)] | None = None
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
        if self.annual_increase is not None and self.baseline is None:
            raise _rule("an annual_increase counts from the plan's baseline year: give "
                        "baseline: {year: ...} (the year before the plan starts, e.g. 2015 "
                        "for 2016-2020), with its value if the plan writes one",
                        "annual_increase")
        if self.baseline is not None and self.baseline.value is None and (
                self.annual_increase is None):
            raise _rule("a baseline without a value is measured for a yearly increase only; "
                        "write the value the plan gives", "baseline", "value")
        if self.cohort_lag_months is not None and self.measure not in CENSORED:
            raise _rule("cohort_lag_months applies to the case measures only ({censored}), "
                        "not {measure}", "cohort_lag_months",
                        censored=", ".join(sorted(CENSORED)), measure=self.measure)
        if self.cumulative and self.measure not in _EVENTS:
            raise _rule("cumulative applies to event measures only ({events}), not {measure}",
                        "cumulative", events=", ".join(sorted(_EVENTS)), measure=self.measure)
        return self

    @property
    def lag_months(self) -> int:
        """Months between a period and the cohort measured for it (0: the period itself)."""
        if self.cohort_lag_months is not None:
            return self.cohort_lag_months
        return DEFAULT_COHORT_LAG_MONTHS if self.measure in CENSORED else 0

    @property
    def prorated(self) -> bool:
        """Whether the expected level grows over the plan (see the module docstring)."""
        if self.prorate is not None:
            return self.prorate
        if self.annual_increase is not None:
            return False
        return self.measure in _STATE or (self.measure in _EVENTS and self.cumulative)


def agency_key(name: str) -> str:
    """How two spellings of one agency compare: Unicode NFC, case, dashes and spaces folded.

    >>> agency_key("Sở Lao động – Thương binh và Xã hội") == agency_key(
    ...     "sở lao động - thương binh  và xã hội")
    True
    """
    text = unicodedata.normalize("NFC", str(name)).casefold()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return " ".join(text.replace(" - ", "-").replace("-", " - ").split())


class ReportingPeriod(_Strict):
    """A reporting period (kỳ báo cáo): the span its figures cover and the day they are due.

    ``due_before`` is written as the documents write it: "trước ngày 01/6" is
    ``due_before: 01/06/...``, and a report received on that day is late. A
    period without one (the plans ask for quarterly reports and give no day)
    is received or not, never on time or late.
    """

    id: Identifier
    kind: Literal["quarter", "half_year", "year", "campaign"]
    label_vi: Text
    label_en: Text
    start: Date
    end: Date
    due_before: Date | None = None
    source_ref: SourceRef | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ReportingPeriod:
        if self.end < self.start:
            raise _rule("the period ends ({end}) before it starts ({start})", "end",
                        start=self.start.strftime("%d/%m/%Y"), end=self.end.strftime("%d/%m/%Y"))
        if self.due_before is not None and self.due_before <= self.start:
            raise _rule("the report is due ({due}) before the period starts ({start})",
                        "due_before", due=self.due_before.strftime("%d/%m/%Y"),
                        start=self.start.strftime("%d/%m/%Y"))
        return self


class Reporting(_Strict):
    """The plan's reporting calendar: who reports, to whom, for which periods, by when."""

    to: Text
    source_ref: SourceRef
    agencies: tuple[Text, ...]
    periods: tuple[ReportingPeriod, ...]

    @field_validator("agencies")
    @classmethod
    def _unique_agencies(cls, agencies):
        if not agencies:
            raise _rule("the list is empty: name the agencies that report")
        seen: dict[str, int] = {}
        for i, name in enumerate(agencies):
            key = agency_key(name)
            if key in seen:
                raise _rule("{name} is listed twice (first as agencies[{first}])", i,
                            name=name, first=seen[key])
            seen[key] = i
        return agencies

    @field_validator("periods")
    @classmethod
    def _unique_periods(cls, periods):
        if not periods:
            raise _rule("the list is empty: name the reporting periods")
        first: dict[str, int] = {}
        for i, period in enumerate(periods):
            if period.id in first:
                raise _rule("duplicate period id '{id}' (first used by periods[{first}])",
                            i, "id", id=period.id, first=first[period.id])
            first[period.id] = i
        return periods

    def period(self, period_id: str) -> ReportingPeriod:
        """The period with this id (``KeyError`` naming the known ids otherwise)."""
        for period in self.periods:
            if period.id == period_id:
                return period
        raise KeyError(f"no reporting period {period_id!r}; known: "
                       f"{[p.id for p in self.periods]}")


class Plan(_Strict):
    """A plan (kế hoạch): its document, its period, its key areas, its indicators and,
    optionally, its reporting calendar."""

    id: Identifier
    title: Text
    source: PlanSource
    period: PlanPeriod
    key_areas: tuple[Code, ...] | None = None
    key_areas_source: Text | None = None
    indicators: Annotated[tuple[Indicator, ...], Field(min_length=1)]
    reporting: Reporting | None = None

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
    lower_bound: bool = False  # the numerator counts only part of what the plan counts


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
        return _NoData("empty", "no trafficking case of the period had proceedings opened "
                                "(prosecuted or tried)")
    tried = int((status == "tried").sum())
    return _Ratio(tried, denominator,
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
        return _NoData("empty", "no trafficking case of the period was prosecuted or tried")
    return _Ratio(int((status == "tried").sum()), denominator)


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
        First and last day asked for (both included).
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
        ``no_baseline_year``, ``lower_bound``.
    detail : str or None
        The reason in a sentence, with its numbers.
    notes : tuple of str
        Caveats on the value (records without a status, population year used …).
    ci_low, ci_high : float or None
        The 95 % Wilson interval of the value, percent (None without a
        value, or when the numerator is not a count of the denominator's
        members, e.g. attendances above the population).
    cohort : tuple of date or None
        The cases measured when they are not the period's own (a case
        measure with a lag: the same span ``lag_months`` earlier).
    baseline_period : tuple of date or None
        The cases measured for a baseline value that the plan does not write
        (a yearly increase); the target is drawn from them.
    lower_bound : bool
        The value counts only part of what the plan counts (cases cleared).
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
    ci_low: float | None = None
    ci_high: float | None = None
    cohort: tuple[dt.date, dt.date] | None = None
    baseline_period: tuple[dt.date, dt.date] | None = None
    lower_bound: bool = False


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


def _cohort(start: dt.date, end: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The same span ``months`` earlier (whole months: a quarter stays a quarter).

    >>> _cohort(dt.date(2025, 1, 1), dt.date(2025, 12, 31), 12)
    (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    """
    if months == 0:
        return start, end
    shift = pd.DateOffset(months=months)
    first = (pd.Timestamp(start) - shift).date()
    last = (pd.Timestamp(end) + pd.Timedelta(days=1) - shift - pd.Timedelta(days=1)).date()
    return first, last


def wilson_interval(numerator: int, denominator: int, *, alpha: float = 0.05
                    ) -> tuple[float | None, float | None]:
    """The Wilson interval of a proportion, in percent (None, None when it has no meaning).

    Parameters
    ----------
    numerator, denominator : int
        Counts, ``0 <= numerator <= denominator``; otherwise (attendances above
        a population, denominator 0) no interval.
    alpha : float
        1 − the confidence level (0.05: 95 %).

    Examples
    --------
    >>> [round(x, 1) for x in wilson_interval(13, 35)]
    [23.2, 53.7]
    """
    if denominator <= 0 or not 0 <= numerator <= denominator:
        return None, None
    low, high = proportion_confint(numerator, denominator, alpha=alpha, method="wilson")
    return 100.0 * float(low), 100.0 * float(high)


def _measure(indicator: Indicator, data: TrackingData, start: dt.date, end: dt.date,
             key_areas, plan_span, *, lagged: bool = True
             ) -> tuple[_Ratio | _NoData, tuple[dt.date, dt.date] | None, list[str]]:
    """The measure over its window: the cumulative or lagged window of ``start``–``end``."""
    notes: list[str] = []
    window_start, window_end = start, end
    cohort = None
    if indicator.cumulative and plan_span is not None and plan_span[0] < start:
        window_start = plan_span[0]
        notes.append(f"counted from the plan start {window_start:%d/%m/%Y}")
    if indicator.lag_months and lagged:
        cohort = window_start, window_end = _cohort(start, end, indicator.lag_months)
        notes.append(f"cohort: cases dated {window_start:%d/%m/%Y}-{window_end:%d/%m/%Y} "
                     f"({indicator.lag_months} months earlier; later cases are still in process)")
    result = _MEASURES[indicator.measure](data, window_start, window_end, key_areas)
    return result, cohort, notes


def _period_target(ind: Indicator, year: int, data: TrackingData, key_areas, plan_span
                   ) -> tuple[float | None, _NoData | None, tuple[dt.date, dt.date] | None]:
    """The target of ``year``; for a yearly increase, from the baseline year.

    The baseline value is the plan's, or else the measure over the cases of
    the baseline year itself (long past: no lag). ``year`` is the year of the
    cases measured (the cohort's last day, else the period's). Returns the
    target, why it cannot be given, and the cases measured for the baseline.
    """
    if ind.annual_increase is None:
        return ind.target, None, None
    base, measured = ind.baseline, None
    value = base.value
    if value is None:
        measured = (dt.date(base.year, 1, 1), dt.date(base.year, 12, 31))
        result, _, _ = _measure(ind, data, *measured, key_areas, plan_span, lagged=False)
        if isinstance(result, _NoData) or result.denominator == 0:
            why = result.detail if isinstance(result, _NoData) else "nothing to divide by"
            return None, _NoData("no_baseline_year", f"the baseline year {base.year} has no value "
                                                f"({why}) and the plan writes none"), measured
        value = 100.0 * result.numerator / result.denominator
    level = value + ind.annual_increase * (year - base.year)
    return min(max(level, 0.0), 100.0), None, measured


def compute_indicator(
    indicator: Indicator,
    data: TrackingData | Mapping[str, Any],
    period: tuple[Any, Any],
    *,
    key_areas: Iterable[str] | None = None,
    plan_period: tuple[Any, Any] | PlanPeriod | None = None,
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
        A case measure counts the cohort ``indicator.lag_months`` earlier.
    key_areas : iterable of str, optional
        The key-area communes (2025 codes) for the key-area measures.
    plan_period : (start, end) or PlanPeriod, optional
        The plan's period: needed for ``on_track`` while the plan runs and
        for ``cumulative`` windows (which start at the plan start).

    Returns
    -------
    IndicatorValue

    Examples
    --------
    >>> ind = Indicator.model_validate({
    ...     "id": "tried", "label_vi": "Xét xử", "label_en": "Tried",
    ...     "measure": "prosecuted_tried_rate", "target": 95, "direction": "at_least",
    ...     "source_ref": {"document": "470/KH-UBND", "section": "I", "quote": "95%"}})
    >>> cases = pd.DataFrame({"date": pd.to_datetime(["2023-03-01"] * 4),
    ...                       "type": "trafficking_case", "new_code": "27787",
    ...                       "status": ["tried", "tried", "prosecuted", "received"]})
    >>> v = compute_indicator(ind, {"incidents": cases}, ("01/01/2024", "31/12/2024"))
    >>> v.cohort, round(v.value, 1), v.numerator, v.denominator, v.status
    ((datetime.date(2023, 1, 1), datetime.date(2023, 12, 31)), 66.7, 2, 3, 'behind')
    >>> round(v.ci_low, 1), round(v.ci_high, 1)
    (20.8, 93.9)
    >>> compute_indicator(ind, {}, ("01/01/2024", "31/12/2024")).reason
    'missing_table'
    """
    data = TrackingData.of(data)
    start, end = _as_period(period)
    plan_span = _as_period(plan_period) if plan_period is not None else None
    result, cohort, notes = _measure(indicator, data, start, end, key_areas, plan_span)
    if plan_span is not None and (end < plan_span[0] or start > plan_span[1]):
        notes.append(f"the period lies outside the plan period "
                     f"{plan_span[0]:%d/%m/%Y}-{plan_span[1]:%d/%m/%Y}")
    year = (cohort or (start, end))[1].year
    target, target_gap, measured = _period_target(indicator, year, data, key_areas, plan_span)
    base = {"indicator": indicator.id, "measure": indicator.measure, "period": (start, end),
            "target": target, "cohort": cohort, "baseline_period": measured}
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
    counts = {"value": value, "numerator": result.numerator, "denominator": result.denominator,
              "lower_bound": result.lower_bound}
    counts["ci_low"], counts["ci_high"] = wilson_interval(result.numerator, result.denominator)
    if target_gap:
        return IndicatorValue(**base, **counts, expected=None, status="no_data",
                              reason=target_gap.reason, detail=target_gap.detail,
                              notes=tuple(notes))
    expected = _expected(indicator, target, end, plan_span)
    reason = detail = None
    if _meets(value, target, indicator.direction, indicator.strict):
        status = "met"
    elif result.lower_bound:
        status, reason = "no_data", "lower_bound"
        detail = (f"at least {value:.1f} %: only the cases tried are known to be solved, and "
                  f"the target is {'more than ' if indicator.strict else ''}{target:g} %")
    elif expected != target and _meets(value, expected, indicator.direction, indicator.strict):
        status = "on_track"
    else:
        status = "behind"
    return IndicatorValue(**base, **counts, expected=expected, status=status, reason=reason,
                          detail=detail, notes=tuple(notes))


_COLUMNS = ["plan", "indicator", "label_vi", "label_en", "measure", "period_start", "period_end",
            "value", "numerator", "denominator", "target", "expected", "direction", "status",
            "reason", "detail", "notes", "change", "trend", "source", "ci_low", "ci_high",
            "lower_bound", "cohort_start", "cohort_end", "baseline_start", "baseline_end",
            "definition_vi", "definition_en", "key_areas", "key_areas_source"]


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
        (``cumulative`` indicators count from the plan start, case measures
        count their lagged cohort).
    key_areas : iterable of str, optional
        A *suggested* list (the key-area score), used only when the plan has
        no official list (``plan.key_areas``, from its file or imported with
        :func:`attach_key_areas`); the rows say which was used.

    Returns
    -------
    DataFrame
        One row per indicator × period, in plan order then period order:
        ``plan``, ``indicator``, ``label_vi``, ``label_en``, ``measure``,
        ``period_start``, ``period_end``, ``value`` (percent), ``numerator``,
        ``denominator``, ``target``, ``expected``, ``direction``, ``status``,
        ``reason``, ``detail``, ``notes`` (text, "; "-joined), ``change``
        (points since the previous period, when both have a value),
        ``trend`` ("better" / "worse" / "same" for the target's direction),
        ``source`` (document, section), ``ci_low``, ``ci_high`` (95 % Wilson
        interval, percent), ``lower_bound``, ``cohort_start``, ``cohort_end``
        (the cases measured, when not the period's own), ``baseline_start``,
        ``baseline_end`` (the cases a yearly-increase target is drawn from),
        ``definition_vi``, ``definition_en`` (what is divided by what, as
        the plan means it), ``key_areas`` ("official" or "suggested" on the
        key-area rows, else None) and ``key_areas_source``.

    Examples
    --------
    >>> plan = load_plan(PLANS_DIR / "tay_ninh_2024.yaml")
    >>> cases = pd.DataFrame({"date": pd.to_datetime(["2023-02-01", "2023-05-01", "2023-06-01"]),
    ...                       "type": "trafficking_case", "new_code": "27787",
    ...                       "status": ["tried", "received", "prosecuted"]})
    >>> table = track(plan, {"incidents": cases},
    ...               [("01/01/2024", "31/03/2024"), ("01/04/2024", "30/06/2024")])
    >>> tried = table[table.indicator == "cases_tried"]
    >>> tried[["value", "status"]].values.tolist(), tried["trend"].tolist()[1]
    ([[100.0, 'met'], [0.0, 'behind']], 'worse')
    >>> tried["cohort_start"].tolist()
    [datetime.date(2023, 1, 1), datetime.date(2023, 4, 1)]
    """
    data = TrackingData.of(data)
    spans = sorted(_as_period(p) for p in periods)
    official = plan.key_areas is not None
    keys = plan.key_areas if official else key_areas
    keys = tuple(keys) if keys is not None else None
    plan_span = (plan.period.start, plan.period.end)
    rows = []
    for ind in plan.indicators:
        previous: IndicatorValue | None = None
        keyed = ind.measure in _KEYED and keys is not None
        for span in spans:
            v = compute_indicator(ind, data, span, key_areas=keys, plan_period=plan_span)
            change = trend = None
            if previous is not None and previous.value is not None and v.value is not None:
                change = v.value - previous.value
                sign = 0 if math.isclose(change, 0.0, abs_tol=1e-9) else (1 if change > 0 else -1)
                if ind.direction == "at_most":
                    sign = -sign
                trend = {1: "better", -1: "worse", 0: "same"}[sign]
            cohort = v.cohort or (None, None)
            baseline = v.baseline_period or (None, None)
            rows.append({
                "plan": plan.id, "indicator": ind.id, "label_vi": ind.label_vi,
                "label_en": ind.label_en, "measure": ind.measure,
                "period_start": v.period[0], "period_end": v.period[1], "value": v.value,
                "numerator": v.numerator, "denominator": v.denominator, "target": v.target,
                "expected": v.expected, "direction": ind.direction, "status": v.status,
                "reason": v.reason, "detail": v.detail, "notes": "; ".join(v.notes),
                "change": change, "trend": trend,
                "source": f"{ind.source_ref.document}, {ind.source_ref.section}",
                "ci_low": v.ci_low, "ci_high": v.ci_high, "lower_bound": v.lower_bound,
                "cohort_start": cohort[0], "cohort_end": cohort[1],
                "baseline_start": baseline[0], "baseline_end": baseline[1],
                "definition_vi": ind.definition_vi, "definition_en": ind.definition_en,
                "key_areas": ("official" if official else "suggested") if keyed else None,
                "key_areas_source": plan.key_areas_source if keyed and official else None,
            })
            previous = v
    table = pd.DataFrame(rows, columns=_COLUMNS)
    for column in ("value", "target", "expected", "change", "ci_low", "ci_high"):
        table[column] = table[column].astype("float64")
    for column in ("numerator", "denominator"):
        table[column] = table[column].astype("Int64")
    table["lower_bound"] = table["lower_bound"].astype(bool)
    return table


def attach_key_areas(plans: Sequence[Plan], registry, folder: str | Path | None = None
                     ) -> list[Plan]:
    """The plans with their official key areas: checked against the registry, or imported.

    A plan's list is the ``key_areas:`` of its file, or the province's
    ``key_areas_<plan id>.csv`` in ``folder`` (the data folder's ``plans/``,
    read by :func:`geo.key_area_list.read_key_area_list`), which replaces it.
    Without either, :func:`track` falls back on the caller's suggested list
    and says so.

    Parameters
    ----------
    plans : sequence of Plan
    registry : geo.units.Registry
    folder : str or Path, optional

    Returns
    -------
    list of Plan
        In the same order; ``key_areas_source`` is the file name for an
        imported list.

    Raises
    ------
    PlanError
        A key-area file that cannot be used (file, line, field, what is
        wrong), one named after no plan, or a plan file listing a code that
        is not a 2025 commune.
    """
    from geo.key_area_list import KeyAreaListError, key_area_lists

    try:
        lists = key_area_lists(folder, registry) if folder is not None else {}
    except KeyAreaListError as err:
        raise PlanError(err.file, [Problem(f, m, line) for f, m, line in err.problems]) from None
    ids = {plan.id for plan in plans}
    for plan_id, found in lists.items():
        if plan_id not in ids:
            raise PlanError(Path(folder) / found.source, [Problem(
                "", f"no plan has the id {plan_id!r} (the file is named key_areas_<plan id>.csv; "
                    f"plans: {', '.join(sorted(ids))})")])
    out = []
    for plan in plans:
        if plan.id in lists:
            found = lists[plan.id]
            plan = plan.model_copy(update={"key_areas": found.codes,
                                           "key_areas_source": found.source})
        elif plan.key_areas is not None:
            unknown = [c for c in plan.key_areas if c not in registry.communes.index]
            if unknown:
                raise PlanError(plan.id, [Problem("key_areas", f"{', '.join(unknown)}: not 2025 "
                                                               "commune codes of the registry")])
        out.append(plan)
    return out
