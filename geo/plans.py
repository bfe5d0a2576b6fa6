"""Plan files (kế hoạch): their schema, and the YAML loader that checks every field.

A plan is a YAML file in ``data/plans/`` (or the data folder's ``plans/``):
its document, its period and its indicators, each a *computable measure*
(:data:`MEASURES`; computed by :mod:`layers.targets`) with a target written as
in the document ("trên 90 %", "ít nhất 30 %", "đến năm 2017 đạt 75 %", "hàng
năm tăng ít nhất 02 %"). :func:`load_plan` validates a file and says, for
every mistake, the file, the line, the field and what was expected;
:func:`attach_key_areas` adds each plan's official key areas.

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
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from data import BUNDLED_DIR

__all__ = [
    "CENSORED",
    "DEFAULT_COHORT_LAG_MONTHS",
    "MEASURES",
    "PLANS_DIR",
    "Baseline",
    "Indicator",
    "Midterm",
    "Plan",
    "PlanError",
    "PlanPeriod",
    "PlanSource",
    "Problem",
    "Reporting",
    "ReportingPeriod",
    "SourceRef",
    "agency_key",
    "attach_key_areas",
    "installed_plans",
    "load_plan",
    "load_plans",
    "parse_date",
]

#: The shipped plans (``data/plans/*.yaml``).
PLANS_DIR = BUNDLED_DIR / "plans"

#: The computable measures, each with what it divides by what (the docstrings
#: of their functions in :mod:`layers.targets.measures` say it exactly).
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


#: Measures whose value is a state at the period end (models), built up over the plan.
_STATE = frozenset({"key_communes_intensive", "communes_integrated"})
#: Measures counting events (outreach) inside a window, which ``cumulative`` widens.
_EVENTS = frozenset({"key_areas_covered", "communes_with_materials", "residents_reached"})
#: Measures of case progress, whose latest cases are still in process (right-censored).
CENSORED = frozenset({"cases_cleared_rate", "prosecuted_tried_rate", "prosecution_rate"})
#: Months between a period and the cohort of cases measured for it, unless a plan says.
DEFAULT_COHORT_LAG_MONTHS = 12
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^\d{5}$")


def parse_date(value: Any) -> dt.date:
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


Date = Annotated[dt.date, BeforeValidator(parse_date)]
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
        return f"unknown field {name!r} (check the spelling; see geo/plans.py for the format)"
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


def installed_plans(registry, data_dir: str | Path) -> list[Plan]:
    """The bundled plans, then the data folder's ``plans/*.yaml`` (same id: the user's wins),
    each with its official key areas (:func:`attach_key_areas`).

    Raises
    ------
    PlanError
        Naming the file, line and field when a user's plan file is invalid.
    """
    plans = {plan.id: plan for plan in load_plans(PLANS_DIR)}
    user = Path(data_dir) / "plans"
    if user.is_dir() and any(user.glob("*.yaml")):
        plans.update({plan.id: plan for plan in load_plans(user)})
    # the official key areas: the plan's own, or the province's key_areas_<id>.csv
    return attach_key_areas(list(plans.values()), registry, user)
