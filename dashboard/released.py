"""What a role may see of the analyses: the same questions, answered for that role.

Pages and the quarterly report ask an :class:`~dashboard.analysis.Analyses` for
layers, the planner's gap evidence and the plan indicators. A commander gets the
answers as computed. Every other role gets a :class:`Released` view: it asks the
same ``Analyses`` over the period rounded to the release grid (quarters,
half-years, years; see :func:`layers.suppression.snap_period`) and passes every
answer through :func:`layers.suppression.for_role` (small counts "< 5",
complementary "x", reasons without numbers, no point data) or
:meth:`layers.suppression.IndicatorRelease.release` (plan indicators
computed from cases and tips). :func:`analyses_for` is the one door: a page takes
what it returns for the signed-in role and cannot forget to release. Both answer the
same questions (:class:`View`): a page asks them without knowing the role.

Outreach and prevention models hold no victim: their layers pass unchanged, over
the period asked for.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dataclasses import replace
from typing import Protocol

from dashboard.analysis import Analyses
from dashboard.auth.roles import suppressed_for
from layers.counts import INCIDENT_TYPES
from layers.layer import Caveat, Layer
from layers.suppression import PUBLISHED, ReleasePlan, ReleaseRefused, SnappedPeriod, for_role
from layers.trend import released_trend

__all__ = ["ALL_TYPES", "NotReady", "Released", "View", "analyses_for", "period_note",
           "shown_types", "type_choices", "unavailable_text", "waiting", "withheld"]

#: The choice "all incident types" of a type control, offered below commander only where the
#: release plan publishes the total of the types.
ALL_TYPES = "all"


class View(Protocol):
    """What a page asks of the analyses, whatever the role: :class:`Analyses` answers for
    the commander, :class:`Released` for the roles below (same names, same arguments)."""

    #: Whether small counts are hidden (a role below commander): what a report says and
    #: leaves out depends on it.
    released: bool

    def layer(self, name: str, *, unit_set: str, types: tuple[str, ...], start: dt.date,
              end: dt.date, bandwidth_km: float = 5.0, fdr: bool = True) -> Layer: ...

    def planner_layer(self, name: str, *, unit_set: str, start: dt.date, end: dt.date,
                      agencies: tuple[str, ...] = (), model_types: tuple[str, ...] = ()
                      ) -> Layer: ...

    def gap_evidence(self, *, unit_set: str, start, end, agencies=()) -> pd.DataFrame: ...

    def kpis(self, *, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]: ...

    def trend(self, *, freq: str = "Q", types=INCIDENT_TYPES) -> pd.DataFrame: ...

    def plans(self) -> list: ...

    def snap(self, start: dt.date, end: dt.date) -> SnappedPeriod: ...

    def shown_types(self, chosen) -> list[str]: ...

    def province_total(self, layer: Layer): ...


class NotReady(RuntimeError):
    """The release plan of the current records is still being built (or could not be:
    ``failed``): show no figure drawn from incidents (fail closed)."""

    def __init__(self, message: str, *, failed: str | None = None):
        super().__init__(message)
        self.failed = failed


def unavailable_text(an: Analyses, lang: str) -> str:
    """What a role below commander reads instead of the figures: "being prepared", or that
    the release could not be built (then nobody below commander sees a count until an
    administrator fixes the cause; the commander is not affected).

    The second is one fixed sentence: the error itself (its text may name codes, counts or
    the store) goes to the server log, where :mod:`dashboard.release_worker` writes it with
    its traceback, never to a reader.
    """
    from dashboard.i18n import translate

    if an.release_failed():
        return translate("suppress.failed", lang)
    return translate("suppress.preparing", lang)


def waiting(an: Analyses, role: str | None) -> bool:
    """Whether ``role`` waits for a release still being built (pages then ask again)."""
    return (suppressed_for(role) and an.release_plan() is None
            and an.release_failed() is None)


def analyses_for(an: Analyses, role: str | None, *, wait: float = 2.0) -> Analyses | Released:
    """The analyses as ``role`` may see them.

    Raises
    ------
    NotReady
        For a role below commander while the release plan is being built.
    """
    if not suppressed_for(role):
        return an
    plan = an.release_plan(wait=wait)
    indicators = an.indicator_release(wait=wait) if plan is not None else None
    if plan is None or indicators is None:
        failed = an.release_failed()
        raise NotReady("the small-count release of the current records is "
                       + ("unavailable" if failed else "being prepared"), failed=failed)
    return Released(an, role or "viewer", plan, indicators)


def type_choices(plan: ReleasePlan | None, types: tuple[str, ...] = INCIDENT_TYPES
                 ) -> tuple[str, ...]:
    """What a role below commander may choose of ``types``: each type on its own, and
    :data:`ALL_TYPES` where ``plan`` publishes the total (``type_total``; off by default, see
    ``docs/confidentiality.md``). Any other subset is no published figure.

    While the plan is being built (``None``) the total is not offered.
    """
    types = tuple(t for t in types if plan is None or t in plan.types)
    return types + ((ALL_TYPES,) if plan is not None and plan.type_total else ())


def shown_types(chosen, plan: ReleasePlan | None, types: tuple[str, ...] = INCIDENT_TYPES
                ) -> list[str]:
    """The types a role below commander is shown for the selection ``chosen``.

    One type is shown as chosen; every type (or :data:`ALL_TYPES`) as the total where it is
    published; anything else as the first chosen type in the order of ``types`` (the first
    type when none is), which the type control then shows as chosen.
    """
    choices = type_choices(plan, types)
    chosen = [chosen] if isinstance(chosen, str) else list(chosen or ())
    chosen = list(types) if ALL_TYPES in chosen else [t for t in types if t in chosen]
    if len(chosen) == 1 and chosen[0] in choices:
        return chosen
    if set(chosen) == set(types) and ALL_TYPES in choices:
        return list(types)
    return [next((t for t in chosen if t in choices), choices[0])]


def period_note(view: View, start: dt.date, end: dt.date) -> SnappedPeriod | None:
    """The grid period shown instead of ``start``–``end`` when they differ, else None."""
    snapped = view.snap(start, end)
    return None if snapped.exact else snapped


def withheld(layer: Layer) -> Layer:
    """``layer`` with no value at all: what a role below commander sees while the release
    is being built, or could not be (fail closed); the communes keep their names."""
    frame = layer.frame.copy()
    frame[layer.value] = float("nan")
    caveats = tuple(dict.fromkeys((*layer.caveats, Caveat.SMALL_COUNTS_SUPPRESSED)))
    return replace(layer, frame=frame, caveats=caveats)


class Released:
    """The analyses for a role below commander (see the module docstring).

    Its methods take the arguments of :class:`Analyses`' methods of the same name
    and answer for the grid period that holds the one asked for. Each answer is kept in
    the analyses' memory (:meth:`memo`): a filter change asks the same released layer from
    its map, its key figures and its table, and a role's users ask the same states.
    """

    released = True

    def __init__(self, an: Analyses, role: str, plan: ReleasePlan, indicators):
        self.an, self.role, self.plan, self.indicators = an, role, plan, indicators
        self.ctx = an.ctx

    @property
    def threshold(self) -> int:
        return self.plan.threshold

    def snap(self, start, end) -> SnappedPeriod:
        """The grid period that holds ``start``–``end``."""
        return self.plan.snap(start, end)

    def _period(self, start, end) -> tuple[dt.date, dt.date]:
        snapped = self.snap(start, end)
        return snapped.start, snapped.end

    def layer(self, name: str, *, unit_set: str, types: tuple[str, ...], start: dt.date,
              end: dt.date, bandwidth_km: float = 5.0, fdr: bool = True) -> Layer:
        """A commander layer, released (density and hexagons are refused: point data; so are
        the Gi* classes without the FDR correction, ``fdr=False``: no release rule)."""
        start, end = self._period(start, end)
        return self.memo(
            ("layer", name, unit_set, tuple(types), start, end, bandwidth_km, bool(fdr)),
            lambda: for_role(self.an.layer(name, unit_set=unit_set, types=types, start=start,
                                           end=end, bandwidth_km=bandwidth_km, fdr=fdr),
                             self.role, plan=self.plan))

    def planner_layer(self, name: str, *, unit_set: str, start: dt.date, end: dt.date,
                      agencies: tuple[str, ...] = (), model_types: tuple[str, ...] = ()) -> Layer:
        """Coverage and reach as asked; the gap map over the grid period, released."""
        if name != "gaps":
            return self.an.planner_layer(name, unit_set=unit_set, start=start, end=end,
                                         agencies=agencies, model_types=model_types)
        start, end = self._period(start, end)
        return self.memo(
            ("planner_layer", "gaps", unit_set, start, end, tuple(agencies or ()),
             tuple(model_types or ())),
            lambda: for_role(self.an.planner_layer("gaps", unit_set=unit_set, start=start,
                                                   end=end, agencies=agencies,
                                                   model_types=model_types),
                             self.role, plan=self.plan))

    def gap_evidence(self, *, unit_set: str, start, end, agencies=()) -> pd.DataFrame:
        """The released gap layer's frame: classes, coverage facts, reasons without numbers."""
        return self.planner_layer("gaps", unit_set=unit_set, start=start, end=end,
                                  agencies=tuple(agencies)).frame

    def kpis(self, *, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The plan indicators over the grid period and its four quarters, released."""
        start, end = self._period(start, end)

        def build():
            now, trend = self.an.kpis(start=start, end=end)
            return self.indicators.release(now), self.indicators.release(trend)
        return self.memo(("kpis", start, end), build)

    def trend(self, *, freq: str = "Q", types=INCIDENT_TYPES) -> pd.DataFrame:
        """The quarterly trend by type, as the plan publishes the province's cells (a count
        missing and labelled "< 5" / "x" where hidden); a monthly one is refused
        (:func:`layers.trend.released_trend`: months are not on the release grid)."""
        types = tuple(types)
        return self.memo(("trend", freq, types), lambda: released_trend(
            self.an.trend(freq=freq, types=types), self.plan)).copy()

    def plans(self) -> list:
        return self.an.plans()

    def shown_types(self, chosen) -> list[str]:
        """The types shown for the selection ``chosen`` (:func:`shown_types`: one type, or
        the published total)."""
        return shown_types(chosen, self.plan)

    def province_total(self, layer: Layer):
        """The province's total of a released counts layer as the plan publishes it (the
        nation's, for a plan of several provinces): the count, or its label (``"< 5"``,
        ``"x"``); ``"–"`` where the plan has no such cell."""
        params = layer.params

        def build():
            period = self.snap(params["start"], params["end"])
            type_key = self.plan.type_key(params["types"])
            try:
                cell = self.plan.total(period.label, type_key)
                return int(cell["count"]) if cell["status"] == PUBLISHED else str(cell["label"])
            except (ReleaseRefused, KeyError, TypeError, ValueError):
                return "–"
        types = params["types"]
        return self.memo(("province_total", params["start"], params["end"],
                          tuple(types) if isinstance(types, (list, tuple)) else types), build)

    def memo(self, key: tuple, build):
        """The value of ``key`` for this role and the current records, built once by
        ``build()``: in the analyses' memory (:meth:`Analyses.memo`), never on disk (it is
        what this role is shown). The plan is that of the records' revision, which the key
        of the memory holds: a released answer is pure per (revision, role, question)."""
        return self.an.memo(("released", self.role, *key), build)
