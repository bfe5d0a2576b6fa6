"""Every graph of every page has the one offline toolbar: no button sends a figure away."""

from __future__ import annotations

import ast
from pathlib import Path

from dashboard.figures.graph_config import CLOUD_BUTTONS, graph_config

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"


def test_offline_config_removes_every_cloud_button():
    config = graph_config(scrollZoom=True)
    assert config["showSendToCloud"] is False and config["showEditInChartStudio"] is False
    assert config["displaylogo"] is False and config["plotlyServerURL"] == ""
    assert {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"} <= set(
        config["modeBarButtonsToRemove"])
    assert config["scrollZoom"] is True
    more = graph_config(modeBarButtonsToRemove=["lasso2d"])
    assert set(more["modeBarButtonsToRemove"]) == {*CLOUD_BUTTONS, "lasso2d"}
    config["modeBarButtonsToRemove"].append("x")  # each call is a new dict
    assert "x" not in graph_config()["modeBarButtonsToRemove"]


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
                  "graph_config")
            found.append((f"{path.relative_to(DASHBOARD)}:{call.lineno}", ok))
    assert len(found) >= 5  # overview, commander (map, panel), planner, presentation
    assert [where for where, ok in found if not ok] == []
