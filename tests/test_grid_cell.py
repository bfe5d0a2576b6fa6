"""The side panel of a clicked cell of the forecast on the 2 km grid, and the forecast's name in
the commander's layer switch (it follows the period chosen)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from dashboard.pages import commander
from dashboard.pages.grid_cell import CELL_NAME, cell_facts, cell_panel
from layers.density import GRID
from layers.forecast import grid_counts, grid_history
from layers.layer import Layer

#: A point of cell "a" (row 627, column 314 of the UTM 48N 2 km grid).
_LAT, _LON = 11.3516, 106.1874


@pytest.fixture()
def cells() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"row": [627, 627, 628], "col": [314, 315, 314],
                             "name": ["Xã Bến Cầu", "Xã Bến Cầu", ""]},
                            index=["a", "b", "c"], geometry=[shapely.box(0, 0, 1, 1)] * 3,
                            crs=4326)


@pytest.fixture()
def incidents() -> pd.DataFrame:
    """Cell a: two tips in 2024 Q3, a victim in 2025 Q1; one record without a point."""
    return pd.DataFrame({
        "date": pd.to_datetime(["2024-07-02", "2024-09-30", "2025-02-11", "2025-03-01"]),
        "type": ["tip", "tip", "victim", "tip"],
        "lat": [_LAT, _LAT, _LAT, np.nan], "lon": [_LON, _LON, _LON, np.nan]})


def _forecast(values, *, problem=None, legend="layer.forecast.legend") -> Layer:
    frame = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Bến Cầu", ""],
                          "forecast": values}, index=["a", "b", "c"])
    frame["rank"] = frame["forecast"].rank(ascending=False, method="min")
    frame["flagged"] = (frame["rank"] == 1).astype(float)
    params = {"freq": "Q", "problem": problem}
    if not problem:
        params.update(period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31))
    return Layer(frame, "forecast", GRID, "layer.forecast.title", legend, "unit.records",
                 kind="forecast", params=params)


def _text(component) -> str:
    """Every string a person reads in a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def _find(component, id_):
    if isinstance(component, (list, tuple)):
        return next((f for f in (_find(c, id_) for c in component) if f is not None), None)
    if getattr(component, "id", None) == id_:
        return component
    return _find(getattr(component, "children", None), id_) if hasattr(component, "children") \
        else None


def test_a_cells_history_is_the_forecasts_own_counts_by_type(cells, incidents):
    history = grid_history(incidents, cells, "a", cell_km=2.0)
    assert list(history.columns) == ["tip", "victim"]
    assert [str(p) for p in history.index] == ["2024Q3", "2024Q4", "2025Q1"]
    assert history.to_numpy().tolist() == [[2, 0], [0, 0], [0, 1]]
    counts = grid_counts(incidents, cells, cell_km=2.0)
    assert history.sum(axis=1).tolist() == counts.loc["a"].tolist()
    assert grid_history(incidents, cells, "b", cell_km=2.0).to_numpy().sum() == 0
    with pytest.raises(KeyError):
        grid_history(incidents, cells, "zz", cell_km=2.0)


def test_a_cells_facts_are_its_forecast_rank_and_flag(cells):
    layer = _forecast([1.25, 0.4, 0.05])
    assert cell_facts(layer, "a", "vi") == [
        ("Dự báo 01/01/2026 – 31/03/2026 (số vụ việc dự báo)", "1,25"),
        ("Thứ hạng trong các ô lưới", "1 / 3"),
        ("Thuộc 10 % diện tích được đánh dấu", "Có")]
    assert cell_facts(layer, "c", "en") == [
        ("Forecast for 01/01/2026 – 31/03/2026 (forecast incidents)", "0.05"),
        ("Rank among the grid cells", "3 / 3"),
        ("In the 10 % of the area flagged", "No")]
    scored = _forecast([3.0, 9.0, 1.0], legend="layer.forecast.legend_score")
    assert cell_facts(scored, "b", "vi")[0] == ("Dự báo 01/01/2026 – 31/03/2026 (điểm)", "9,00")


def test_a_cell_without_a_forecast_says_why(cells):
    sparse = _forecast([np.nan] * 3, problem="forecast.too_sparse")
    assert cell_facts(sparse, "a", "vi") == [(
        "Dự báo quý tới (số vụ việc dự báo)",
        "Không dự báo theo ô lưới: số liệu có tọa độ quá thưa (xem ghi chú dưới bản đồ).")]
    waiting = _forecast([np.nan] * 3, problem="forecast.preparing")
    waiting.params["freq"] = "M"
    assert cell_facts(waiting, "a", "en") == [(
        "Forecast for next month (forecast incidents)",
        "The forecast is being prepared (see the note under the map); click the cell again "
        "once the map shows it.")]
    assert cell_facts(_forecast([1.0, 2.0, 3.0]), "zz", "vi")[0][1] == \
        "Chưa có dự báo (xem ghi chú dưới bản đồ)."


def test_the_panel_names_the_cell_its_commune_and_charts_its_records(cells, incidents):
    layer = _forecast([1.25, 0.4, 0.05])
    panel = cell_panel(layer, cells, incidents, "a", cell_km=2.0, lang="vi")
    text = _text(panel)
    assert _text(_find(panel, CELL_NAME)) == "Ô lưới 2 km"
    assert "Tâm ô nằm trên địa bàn Xã Bến Cầu." in text
    assert "Số vụ việc có tọa độ trong ô, theo quý" in text and "1,25" in text
    chart = _find(panel, "cmd-cell-chart").figure
    bars = {trace.name: list(trace.y) for trace in chart.data}
    assert sum(map(sum, bars.values())) == 3  # the two tips and the victim, not the unlocated
    empty = cell_panel(layer, cells, incidents, "b", cell_km=2.0, lang="en")
    assert _find(empty, "cmd-cell-chart") is None
    assert "No located incident in this cell yet." in _text(empty)
    assert "Its centre lies in Xã Bến Cầu." in _text(empty)
    outside = cell_panel(layer, cells, incidents, "zz", cell_km=2.0, lang="vi")
    assert _text(outside) == "Bấm vào một xã, phường trên bản đồ hoặc trong bảng để xem chi tiết."


def test_the_layer_switch_names_the_forecast_for_the_period_chosen():
    def forecast_label(lang, freq):
        return next(o["label"] for o in commander._menu(lang, freq) if o["value"] == "forecast")

    assert forecast_label("vi", "Q") == "Dự báo quý tới"
    assert forecast_label("vi", "M") == "Dự báo tháng tới"
    assert forecast_label("en", "Q") == "Next quarter's forecast"
    assert forecast_label("en", "M") == "Next month's forecast"
    others = {o["value"]: o["label"] for o in commander._menu("vi", "M")}
    assert others == {**{o["value"]: o["label"] for o in commander._menu("vi", "Q")},
                      "forecast": "Dự báo tháng tới"}


@pytest.mark.parametrize("click, trace", [
    ({"points": [{"curveNumber": 0, "location": "17"}]}, 0),
    ({"points": [{"curveNumber": 2, "customdata": "moc_bai"}]}, 2),
    ({"points": [{"curveNumber": True}]}, None),
    ({"points": []}, None), ({"points": "x"}, None), (None, None), ("junk", None),
])
def test_the_trace_a_click_landed_on(click, trace):
    assert commander._clicked_trace(click) == trace
