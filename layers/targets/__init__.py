"""Plan targets (chỉ tiêu): is the province on track against its plans?

The plans themselves (their YAML files, schema and loader) are read in
:mod:`geo.plans`; here they are measured:

- :mod:`~layers.targets.measures`: the computable measures, each a function
  of the joined records, in an explicit registry by name;
- :mod:`~layers.targets.tracking`: one indicator over one period
  (:func:`compute_indicator`), every indicator of a plan over several periods
  (:func:`track`), each value with its status, interval and trend.

The names of :mod:`geo.plans` are re-exported, so that ``from layers.targets
import load_plan, Plan`` keeps working.
"""

from geo.plans import (
    CENSORED, DEFAULT_COHORT_LAG_MONTHS, MEASURES, PLANS_DIR, Baseline, Indicator, Midterm, Plan,
    PlanError, PlanPeriod, PlanSource, Problem, Reporting, ReportingPeriod, SourceRef, agency_key,
    attach_key_areas, load_plan, load_plans,
)
from layers.targets.measures import MEASURE_FUNCTIONS, STAGES, TrackingData, status_stage
from layers.targets.tracking import (
    STATUSES, IndicatorValue, compute_indicator, plan_indicators, track, wilson_interval,
)

__all__ = [
    "CENSORED",
    "DEFAULT_COHORT_LAG_MONTHS",
    "MEASURES",
    "MEASURE_FUNCTIONS",
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
    "plan_indicators",
    "status_stage",
    "track",
    "wilson_interval",
]
