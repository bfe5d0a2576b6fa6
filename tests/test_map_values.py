"""The map values a filter change sends (the overview's counts, the commander's smoothed
rates), on the demo: the same numbers and hover text as written value by value with esda and
:func:`geo.catalogue.format_number`, for filter states drawn as the bench draws them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from esda.smoothing import Empirical_Bayes

from bench.measure.callbacks import filter_states
from dashboard.context import build_context
from dashboard.figures.commune_map import TRACE_COMMUNES, value_texts, values_patch
from geo.catalogue import format_number
from geo.config import Settings
from layers.counts import incident_counts
from layers.rates import commune_rates
from tests.cache import demo_data


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("map-values") / "var")
    demo_data(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def states(ctx):
    dates = ctx.incidents["date"]
    return filter_states(12, dates.min().date(), dates.max().date(), seed=4)


def _texts_one_by_one(values, lang):
    """The hover text as it was written before: each value by format_number, a whole
    number without decimals, any other with one, "–" where there is none."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("–")
        else:
            digits = 1 if isinstance(v, float) and not float(v).is_integer() else 0
            out.append(format_number(v, lang, digits))
    return out


def _filters(state):
    return dict(unit_set="2025", types=state["types"],
                start=dt.date.fromisoformat(state["start"]),
                end=dt.date.fromisoformat(state["end"]))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_rates_and_their_hover_as_esda_and_format_number_write_them(ctx, states, lang):
    rec = ctx.records.current()
    units = ctx.unit_table("2025")
    smoothed = 0
    for state in states:
        layer = commune_rates(rec.incidents, units, rec.population, cube=ctx.cube(),
                              **_filters(state))
        frame = layer.frame
        known = frame["population"].notna().to_numpy() & (frame["population"] > 0).to_numpy()
        e = frame["count"].to_numpy(dtype=float)[known]
        b = frame["population"].to_numpy(dtype=float, na_value=np.nan)[known]
        m = e.sum() / b.sum()
        a = (b * (e / b - m) ** 2).sum() / b.sum() - m / b.mean()
        want = np.full(known.sum(), m) if e.sum() == 0 or a <= 0 \
            else Empirical_Bayes(e, b).r.ravel()
        smoothed += not (e.sum() == 0 or a <= 0)
        np.testing.assert_array_equal(frame["rate_eb"].to_numpy()[known], want * 10_000)
        texts = value_texts(layer, lang)
        assert texts == _texts_one_by_one(frame["rate_eb"].tolist(), lang)
        patch = values_patch(layer, lang, "t").to_plotly_json()["operations"]
        sent = {tuple(op["location"]): op["params"]["value"] for op in patch
                if op["operation"] == "Assign"}
        assert sent[("data", TRACE_COMMUNES, "customdata")] == texts
        np.testing.assert_array_equal(sent[("data", TRACE_COMMUNES, "z")],
                                      frame["rate_eb"].astype(float).to_numpy())
    assert smoothed >= len(states) // 2  # most states are really smoothed, not flat


def test_counts_hover_as_format_number_writes_it(ctx, states):
    units = ctx.unit_table("2025")
    written = []
    for state in states:
        layer = incident_counts(ctx.incidents, units, cube=ctx.cube(), **_filters(state))
        texts = value_texts(layer, "vi")
        assert texts == _texts_one_by_one(layer.frame["count"].tolist(), "vi")
        written += texts
    everything = incident_counts(ctx.incidents, units, unit_set="2025", cube=ctx.cube())
    assert value_texts(everything, "en") == _texts_one_by_one(
        everything.frame["count"].tolist(), "en")
    assert any(len(t) > 1 for t in written + value_texts(everything, "en"))


def test_hidden_labels_and_missing_values_keep_their_text(ctx, states):
    """A released layer's "< 5" / "x" and a commune without a rate read as before."""
    rec = ctx.records.current()
    layer = commune_rates(rec.incidents, ctx.unit_table("2025"), rec.population,
                          cube=ctx.cube(), **_filters(states[0]))
    frame = layer.frame.copy()
    frame.iloc[0, frame.columns.get_loc("rate_eb")] = np.nan
    frame["rate_eb_label"] = None
    frame.iloc[1, frame.columns.get_loc("rate_eb_label")] = "< 5"
    frame.iloc[2, frame.columns.get_loc("rate_eb_label")] = "x"
    texts = value_texts(type(layer)(**{**layer.__dict__, "frame": frame}), "vi")
    assert texts[:3] == ["–", "< 5", "x"]
    assert texts[3:] == _texts_one_by_one(frame["rate_eb"].tolist()[3:], "vi")
