"""The view in the URL: parameters read back checked, written in a stable order."""

from __future__ import annotations

import pytest

from dashboard import ids
from dashboard.pages import commander, planner
from dashboard.url_state import Field, frame_of, query_string, read_query
from tests.cache import PLAN_CACHE, demo_data

FIELDS = (
    Field("layer", "l", choices=("rates", "gi")),
    Field("types", "t", kind="list", choices=("tip", "victim")),
    Field("from", "p", "start_date", kind="date"),
    Field("bw", "b", kind="number", low=2, high=15),
    Field("agency", "a", kind="list"),
)


def test_round_trip_of_every_kind():
    values = {"layer": "gi", "types": ["victim", "tip"], "from": "2024-07-01", "bw": 5,
              "agency": ["Hội LHPN tỉnh", "Công an, tỉnh"]}
    search = query_string(values, FIELDS, {"lang": "vi"})
    assert search.startswith("?lang=vi&layer=gi&types=victim&types=tip&from=2024-07-01&bw=5")
    assert read_query(search, FIELDS) == values
    assert frame_of(search, "vi", ("vi", "en")) == {"lang": "vi", "present": False}


def test_an_empty_list_differs_from_a_missing_one():
    assert read_query(query_string({"types": []}, FIELDS), FIELDS) == {"types": []}
    assert read_query("?layer=gi", FIELDS) == {"layer": "gi"}


def test_hostile_and_stale_values_are_dropped_or_clamped():
    search = ("?layer=../../etc/passwd&types=<script>&from=2024-13-45&bw=1e309"
              "&lang=xx&present=1")
    assert read_query(search, FIELDS) == {"bw": 15}
    assert read_query("?bw=nan&types=tip&types=bogus&from=2024-02-29", FIELDS) == {
        "types": ["tip"], "from": "2024-02-29"}
    assert read_query("?bw=-4", FIELDS) == {"bw": 2}
    assert frame_of(search, "vi", ("vi", "en")) == {"lang": "vi", "present": True}


def test_pages_declare_their_components():
    """Each URL field names a component of the page's layout, so a link sets what it says."""
    for page, prefix in ((commander, "cmd-"), (planner, "plan-")):
        assert len({f.param for f in page.URL_FIELDS}) == len(page.URL_FIELDS)
        assert all(f.component.startswith(prefix) for f in page.URL_FIELDS)
    assert {f.component for f in commander.URL_FIELDS} >= {ids.CMD_LAYER, ids.CMD_PERIOD}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from dashboard.context import build_context
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("url") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    return build_context(settings)


def test_layout_reads_the_link(ctx):
    """The commander's layout opened from a link shows the link's layer, dates and preset."""
    import json

    import plotly.io  # noqa: F401  (the JSON encoder for Dash components)
    from plotly.utils import PlotlyJSONEncoder

    body = json.dumps(commander.layout(ctx, "vi", "?layer=gi&from=2025-01-01&to=2025-12-31"
                                                  "&types=victim"), cls=PlotlyJSONEncoder)
    assert '"id": "cmd-layer"' in body and '"value": "gi"' in body
    assert '"start_date": "2025-01-01"' in body and '"end_date": "2025-12-31"' in body
    assert '"value": ["victim"]' in body and '"value": "year"' in body
