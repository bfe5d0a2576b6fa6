"""The commander's side panel of a clicked 2 km grid cell of the forecast (Ô lưới 2 km).

On the forecast drawn on the grid, a click on a cell opens this panel where a
commune's click opens the commune's (:mod:`dashboard.pages.commander`): the
commune holding the cell's centre, the cell's forecast for the next period with
its rank among the cells and whether it lies in the tenth of the area the map
flags, or why there is none (being prepared, too little or too sparse history),
and the cell's located records per quarter (:func:`layers.forecast.grid_history`,
the counts the forecast itself learns from).

Commander only: the forecast is on the commander's page alone, whose components
carry the ``cmd-`` prefix, so the server refuses their callbacks to every other
role (:func:`dashboard.auth.roles.may_update`); below commander no count of a cell
is ever shown, released or not.
"""

from __future__ import annotations

import math

import pandas as pd
from dash import dcc, html

from dashboard.figures.graph_config import graph_config
from dashboard.figures.trend_chart import commune_chart
from dashboard.forecast_text import period_key
from dashboard.i18n import format_number, translate
from dashboard.period_filter import period_text
from layers.forecast import grid_history
from layers.layer import Layer

__all__ = ["CELL_NAME", "cell_facts", "cell_panel", "cell_reason"]

#: The id of the panel's heading (the browser tests read it).
CELL_NAME = "cmd-cell-name"


def _next_text(layer: Layer, lang: str) -> str:
    """The period forecast ("01/01/2026 – 31/03/2026"), else "quý tới" / "tháng tới"."""
    p = layer.params
    if p.get("period_start"):
        return period_text(p["period_start"], p["period_end"], lang)
    return translate(period_key("forecast.next_unknown", p.get("freq")), lang)


def cell_facts(layer: Layer, cell: str, lang: str) -> list[tuple[str, str]]:
    """(label, text) of the cell in the grid forecast ``layer``: its forecast for the next
    period (expected incidents, or the best baseline's score, as the map), its rank among
    the cells with a value, and whether it is in the flagged tenth of the area; without a
    forecast, the reason in a few words (the sentence under the map says it in full).

    Parameters
    ----------
    layer : Layer
        The forecast on the grid (:func:`layers.forecast.forecast_layer`).
    cell : str
        The cell's id; a cell the layer does not hold has no forecast.
    lang : {"vi", "en"}

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ["Xã A", "Xã A"], "forecast": [0.4, 1.25],
    ...                       "flagged": [0.0, 1.0], "rank": [2.0, 1.0]}, index=["7", "8"])
    >>> layer = Layer(frame, "forecast", "grid", "layer.forecast.title",
    ...               "layer.forecast.legend", "unit.records", kind="forecast",
    ...               params={"freq": "Q", "problem": None})
    >>> cell_facts(layer, "8", "vi")  # doctest: +NORMALIZE_WHITESPACE
    [('Dự báo quý tới (số vụ việc dự báo)', '1,25'), ('Thứ hạng trong các ô lưới', '1 / 2'),
     ('Thuộc 10 % diện tích được đánh dấu', 'Có')]
    """
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    frame = layer.frame
    value = float(frame[layer.value].get(cell, math.nan)) if cell in frame.index else math.nan
    label = t("cmd.cell.forecast", next=_next_text(layer, lang),
              legend=t(layer.legend_key).lower())
    if not math.isfinite(value):
        return [(label, cell_reason(layer, lang))]
    ranked = frame["rank"].notna().sum()
    rank = frame.at[cell, "rank"]
    flagged = float(frame.at[cell, "flagged"]) if "flagged" in frame else 0.0
    return [
        (label, format_number(value, lang, 2)),
        (t("cmd.cell.rank"), f"{format_number(rank, lang)} / {format_number(ranked, lang)}"
         if pd.notna(rank) else "–"),
        (t("cmd.cell.flagged"), t("cmd.cell.yes" if flagged > 0 else "cmd.cell.no")),
    ]


def cell_reason(layer: Layer, lang: str) -> str:
    """Why the grid forecast ``layer`` has no value for a cell, in a few words (being
    prepared, too sparse, too little history: the sentence under the map says it in full).

    >>> layer = Layer(pd.DataFrame({"forecast": [math.nan]}, index=["7"]), "forecast", "grid",
    ...               "t", "l", "u", params={"problem": "forecast.preparing"})
    >>> cell_reason(layer, "vi")[:17]
    'Đang tính dự báo '
    """
    problem = layer.params.get("problem") or "forecast.too_few_periods"
    return translate({"forecast.preparing": "cmd.cell.preparing",
                      "forecast.too_sparse": "cmd.cell.too_sparse"}.get(problem, "cmd.cell.none"),
                     lang)


def cell_panel(layer: Layer, cells, incidents: pd.DataFrame, cell: str, *, cell_km: float,
               lang: str) -> list:
    """The side panel of the grid cell ``cell``: the commune holding it, :func:`cell_facts`,
    and its located records per quarter, stacked by type (the commune panel's chart); the
    hint to click when ``cell`` is not a cell of the grid.

    Parameters
    ----------
    layer : Layer
        The forecast on the grid as the map shows it.
    cells : GeoDataFrame
        The grid's cells (:func:`dashboard.forecast_build.grid_cells`), ``name`` the 2025
        commune holding each centre.
    incidents : DataFrame
        The records (every type, as a commune's panel).
    cell : str
    cell_km : float
        The side of the cells.
    lang : {"vi", "en"}
    """
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    if cell not in cells.index:
        return [html.P(t("cmd.panel.hint"))]
    commune = str(cells.at[cell, "name"] or "") or "–"
    facts = cell_facts(layer, cell, lang)
    history = grid_history(incidents, cells, cell, cell_km=cell_km)
    located = int(history.to_numpy().sum())
    if len(facts) == 1:  # no forecast: the reason is a sentence, not a figure beside its name
        (label, reason), = facts
        shown = [html.H4(label), html.P(reason, className="note")]
    else:
        shown = [html.Dl([item for k, v in facts for item in (html.Dt(k), html.Dd(v))])]
    return [
        html.H3(t("cmd.cell.title", km=format_number(cell_km, lang)), id=CELL_NAME),
        html.P(t("cmd.cell.in", commune=commune)),
        *shown,
        html.H4(t("cmd.cell.by_period")),
        dcc.Graph(figure=commune_chart(history, lang), id="cmd-cell-chart",
                  config=graph_config(lang, displayModeBar=False))
        if located else html.P(t("cmd.cell.no_records")),
        html.P(t("cmd.cell.located"), className="hint"),
    ]
