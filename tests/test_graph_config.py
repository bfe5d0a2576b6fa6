"""Every graph of every page has the one offline toolbar: no button sends a figure away."""

from __future__ import annotations

import ast
from pathlib import Path

from dashboard.figures.graph_config import CLOUD_BUTTONS, graph_config

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"


def test_offline_config_removes_every_cloud_button():
    config = graph_config("vi", scrollZoom=True)
    assert config["showSendToCloud"] is False and config["showEditInChartStudio"] is False
    assert config["displaylogo"] is False and config["plotlyServerURL"] == ""
    assert {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"} <= set(
        config["modeBarButtonsToRemove"])
    assert config["scrollZoom"] is True
    more = graph_config("en", modeBarButtonsToRemove=["lasso2d"])
    assert set(more["modeBarButtonsToRemove"]) == {*CLOUD_BUTTONS, "lasso2d"}
    config["modeBarButtonsToRemove"].append("x")  # each call is a new dict
    assert "x" not in graph_config("vi")["modeBarButtonsToRemove"]


def _graphs(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            if name == "Graph":
                yield node


def test_every_dcc_graph_takes_the_offline_config():
    found = []
    for path in sorted(DASHBOARD.rglob("*.py")):
        for call in _graphs(ast.parse(path.read_text(encoding="utf-8"))):
            config = next((k.value for k in call.keywords if k.arg == "config"), None)
            ok = (isinstance(config, ast.Call) and getattr(config.func, "id", "") ==
                  "graph_config" and len(config.args) == 1)  # the page's language
            found.append((f"{path.relative_to(DASHBOARD)}:{call.lineno}", ok))
    assert len(found) >= 5  # overview, commander (map, panel), planner, presentation
    assert [where for where, ok in found if not ok] == []


def test_toolbar_speaks_the_page_language():
    """Every toolbar string of plotly.js has a catalogue message, Vietnamese on a Vietnamese
    page (plotly.js's own ``vi`` locale has an empty dictionary), with Vietnamese dates and
    numbers; an unknown language fails loudly."""
    import pytest

    from dashboard.figures.graph_config import PLOTLY_MESSAGES, plotly_locale
    from dashboard.i18n import translate

    vi = graph_config("vi")
    assert vi["locale"] == "vi" and set(vi["locales"]) == {"vi"}
    words = vi["locales"]["vi"]["dictionary"]
    assert set(words) == set(PLOTLY_MESSAGES)
    assert words["Download plot as a PNG"] == translate("plotly.download_png", "vi") == "Tải ảnh PNG"
    assert words["Reset view"] == "Về khung nhìn ban đầu" and words["Zoom out"] == "Thu nhỏ"
    assert all(v and v != k for k, v in words.items() if k not in ("Zoom", "Pan"))
    fmt = vi["locales"]["vi"]["format"]
    assert fmt["shortDays"] == ["CN", "Th 2", "Th 3", "Th 4", "Th 5", "Th 6", "Th 7"]
    assert fmt["months"][6] == "Tháng 7" and fmt["date"] == "%d/%m/%Y"
    assert (fmt["decimal"], fmt["thousands"]) == (",", ".")
    en = plotly_locale("en")
    assert en["dictionary"]["Zoom in"] == "Zoom in" and en["format"]["months"][0] == "January"
    assert en["format"]["shortDays"][0] == "Sun"
    with pytest.raises(ValueError, match="unsupported language"):
        graph_config("fr")
