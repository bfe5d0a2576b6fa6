"""The layer catalogue (layers/catalogue.py): one entry per kind, the cache that builds
through it, and the worked example of docs/code-map.md — a new layer added by one
catalogue entry and one module, built, memoised and released with nothing else changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from dashboard.analysis import GI_LAYERS, GRID_LAYERS, LAYERS, PLANNER_LAYERS, Analyses
from dashboard.context import build_context
from geo.catalogue import catalogue as messages
from geo.config import Settings
from layers import catalogue
from layers.catalogue import CATALOGUE, Entry, Query, Release, entry, kinds
from layers.counts import INCIDENT_TYPES
from layers.layer import Layer
from layers.suppression import PointDataRefused, ReleaseRefused, for_role
from tests.cache import PLAN_CACHE, demo_data

Q3 = dict(unit_set="2025", types=tuple(INCIDENT_TYPES), start=dt.date(2025, 7, 1),
          end=dt.date(2025, 9, 30))


@pytest.fixture(scope="module")
def an(tmp_path_factory) -> Analyses:
    settings = Settings(data_dir=tmp_path_factory.mktemp("catalogue") / "var",
                        cache_dir=PLAN_CACHE)
    demo_data(settings)
    return Analyses(build_context(settings))


# -- the worked example: a toy layer, as a new module would define it ---------------------

def _toy_build(src, q: Query) -> Layer:
    """The new module's build: twice the counts, from the counts layer (read, memoised)."""
    counts = src.layer("counts", q)
    frame = counts.frame[["name"]].copy()
    frame["toy"] = counts.frame["count"] * 2
    frame["toy_class"] = np.where(frame["toy"] > 0, "some", "none")
    return Layer(frame=frame, value="toy", unit_set=q.unit_set, kind="toy",
                 title_key="layer.toy.title", legend_key="layer.toy.legend",
                 units_key="unit.records", params={"types": q.types},
                 caveats=counts.caveats)


TOY = Entry("toy", _toy_build, ("layer.toy.title",), ("layer.toy.legend",),
            inputs=("incidents", "units"), reads=("counts",),
            release=Release("keep", ("name", "toy_class")), page="commander")


def test_a_new_layer_is_built_memoised_and_released_by_its_entry_alone(an, monkeypatch):
    monkeypatch.setitem(CATALOGUE, "toy", TOY)
    toy = an.layer("toy", **Q3)
    counts = an.layer("counts", **Q3)
    assert toy.kind == "toy"
    assert toy.frame["toy"].equals(counts.frame["count"] * 2)
    assert an.layer("toy", **Q3) is toy  # memoised on the store revision and the filters
    assert an.layer("toy", **Q3, bandwidth_km=9.0, fdr=False) is toy  # not its filters
    assert "toy" in kinds(page="commander")
    # below commander: the rule its entry declares, applied by the release (no plan read)
    shown = for_role(toy, "planner", plan=object())
    assert list(shown.frame.columns) == ["name", "toy_class"]
    # the same layer without a rule: refused, as any kind the catalogue gives none
    monkeypatch.setitem(CATALOGUE, "toy", replace(TOY, release=None))
    with pytest.raises(ReleaseRefused, match="no release rule for 'toy'"):
        for_role(toy, "viewer", plan=object())


def test_an_unknown_or_misplaced_kind_is_refused(an):
    with pytest.raises(ValueError, match="unknown layer 'toy'"):
        an.layer("toy", **Q3)
    with pytest.raises(ValueError, match="unknown layer 'gaps'"):
        an.layer("gaps", **Q3)  # a planner layer, not the commander's
    with pytest.raises(ValueError, match="unknown planner layer 'gi'"):
        an.planner_layer("gi", unit_set="2025", start=Q3["start"], end=Q3["end"])
    with pytest.raises(KeyError, match="unknown layer kind"):
        entry("nothing")
    with pytest.raises(ValueError, match="unknown inputs"):
        Entry("bad", _toy_build, (), (), inputs=("tweets",))
    with pytest.raises(ValueError, match="already registered"):
        catalogue.register(entry("gi"))


def test_the_pages_kinds_come_from_the_catalogue():
    assert LAYERS == ("rates", "gi", "gi_rate", "emerging", "density", "hexagons", "change",
                      "key_areas", "forecast", "counts")
    assert PLANNER_LAYERS == ("gaps", "coverage", "reach")
    assert GRID_LAYERS == ("density", "hexagons") and GI_LAYERS == ("gi", "gi_rate")
    from dashboard.pages.commander import _MENU

    assert _MENU == LAYERS[:-1]  # the counts are the overview's map, not a choice


def test_every_entry_reads_registered_kinds_and_names_messages_that_exist():
    vi, en = messages("vi"), messages("en")
    for kind, e in CATALOGUE.items():
        assert set(e.reads) <= set(CATALOGUE), kind
        keys = [*e.title_keys, *e.legend_keys] + ([e.menu_key] if e.page and e.in_menu else [])
        for key in keys:
            assert key in vi and key in en, (kind, key)


def test_each_layer_carries_its_kind_and_one_of_its_entry_s_titles(an):
    for kind in ("counts", "rates", "gi", "gi_rate", "change", "emerging", "key_areas"):
        layer = an.layer(kind, **Q3)
        assert layer.kind == kind and layer.title_key in entry(kind).title_keys, kind
        assert layer.legend_key in entry(kind).legend_keys, kind
    for kind in PLANNER_LAYERS:
        layer = an.planner_layer(kind, unit_set="2025", start=Q3["start"], end=Q3["end"])
        assert layer.kind == kind and layer.title_key in entry(kind).title_keys
    # the former communes have no population: their rates are the counts
    legacy = an.layer("rates", **{**Q3, "unit_set": "legacy"})
    assert legacy.kind == "counts" and legacy.unit_set == "legacy"
    # the Gi* classes without FDR: the same kind, no release rule for them
    uncorrected = an.layer("gi", **Q3, fdr=False)
    assert uncorrected.kind == "gi" and uncorrected.params["alpha_fdr"] is False
    with pytest.raises(ReleaseRefused, match="without the FDR correction"):
        for_role(uncorrected, "planner", plan=object())
    density = an.layer("density", **Q3)
    assert density.kind == "density" and "geometry" not in density.frame
    with pytest.raises(PointDataRefused):
        for_role(density, "viewer", plan=object())
