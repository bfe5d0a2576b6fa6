"""The trend chart: the province's incidents per quarter or month by type, campaigns shaded.

Drawn from a :func:`layers.trend.province_trend` frame (or its release below commander,
:func:`layers.trend.released_trend`): one line per incident type, each with its own colour
(Okabe–Ito, safe for colour-blind readers), marker and dash (apart in grey print); the peak
campaign windows (01/7–30/9) shaded; the period the page shows outlined. A count the
release hides is no point on its line (the line breaks) but a grey mark on the axis with its
label ("< 5", "x"). Every text is the reader's language: periods as "Quý III/2025" or
"Tháng 7/2025", dates dd/mm/yyyy, numbers 1.835; no date is left for Plotly to write
(its month names are English).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.text import plain_text
from dashboard.i18n import format_date, format_number, translate
from layers.counts import INCIDENT_TYPES

__all__ = ["CAMPAIGN_FILL", "HIDDEN_MARK", "SELECTED_LINE", "TYPE_STYLE", "commune_chart",
           "period_text", "trend_chart", "trend_figure"]

#: Each type's line: Okabe–Ito colours, and a marker and dash of its own for grey print.
TYPE_STYLE = {
    "trafficking_case": {"color": "#D55E00", "symbol": "circle", "dash": "solid"},
    "illegal_crossing": {"color": "#0072B2", "symbol": "square", "dash": "dot"},
    "tip": {"color": "#009E73", "symbol": "diamond", "dash": "dash"},
    "victim": {"color": "#CC79A7", "symbol": "triangle-up", "dash": "dashdot"},
}
#: Each type's bar fill pattern in the commune panel (stacked bars apart in grey print).
TYPE_PATTERN = {"trafficking_case": "", "illegal_crossing": "/", "tip": ".", "victim": "x"}
#: The shading of the campaign windows (behind the lines).
CAMPAIGN_FILL = {"color": "#fdd49e", "opacity": 0.45}
#: The outline of the period the page shows.
SELECTED_LINE = {"color": "#252525", "width": 2, "dash": "dash"}
#: A hidden count: a grey mark on the axis, its label above it.
HIDDEN_MARK = {"color": "#737373", "symbol": "x-thin-open", "size": 9}


def period_text(period: str, lang: str) -> str:
    """A trend period as a reader names it: ``"2025Q3"`` → "Quý III/2025", ``"2025-07"`` →
    "Tháng 7/2025".

    >>> period_text("2025Q3", "vi"), period_text("2025-07", "vi"), period_text("2025Q3", "en")
    ('Quý III/2025', 'Tháng 7/2025', 'Q3 2025')
    """
    if "Q" in period:
        from dashboard.exports.report import quarter_label

        return quarter_label(period, lang)
    year, month = period.split("-")
    return translate("trend.month", lang, month=int(month), year=int(year))


def _middle(start: dt.date, end: dt.date) -> str:
    a, b = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    return (a + (b - a) / 2).strftime("%Y-%m-%d %H:%M")


def _day(value: dt.date, *, after: bool = False) -> str:
    day = pd.Timestamp(value) + pd.Timedelta(days=1 if after else 0)
    return day.strftime("%Y-%m-%d")


#: Room left and right of the periods, as a share of the span shown: the outline of a period
#: at either end is drawn whole, not half cut by the edge of the plot.
_X_PAD = 0.015


def _x_range(trend: pd.DataFrame, selected: tuple[dt.date, dt.date] | None) -> list[str]:
    """The time axis: the trend's periods and the period shown, with a little room each side.

    >>> trend = pd.DataFrame({"start": [dt.date(2024, 1, 1)], "end": [dt.date(2024, 12, 31)]})
    >>> _x_range(trend, (dt.date(2024, 10, 1), dt.date(2024, 12, 31)))
    ['2023-12-26 12:14', '2025-01-06 11:45']
    """
    first = pd.Timestamp(min([trend["start"].min()] + ([selected[0]] if selected else [])))
    last = pd.Timestamp(max([trend["end"].max()] + ([selected[1]] if selected else [])))
    last += pd.Timedelta(days=1)
    pad = (last - first) * _X_PAD
    return [(first - pad).strftime("%Y-%m-%d %H:%M"), (last + pad).strftime("%Y-%m-%d %H:%M")]


def trend_chart(
    trend: pd.DataFrame,
    windows: pd.DataFrame,
    *,
    freq: str = "Q",
    selected: tuple[dt.date, dt.date] | None = None,
    lang: str = "vi",
    row_height: int = 120,
) -> go.Figure:
    """The figure of a trend frame: one panel per type, on a shared time axis.

    A panel per type, each with its own scale: a few victims a quarter beside hundreds of
    illegal crossings would otherwise lie flat on the axis, and "are they growing?" is
    asked of each type.

    Parameters
    ----------
    trend : DataFrame
        ``period``, ``start``, ``end``, ``type``, ``count`` and, when released below
        commander, ``label`` (``"< 5"``/``"x"`` where ``count`` is missing).
    windows : DataFrame
        The campaign windows to shade (``start``, ``end``; :func:`layers.trend.campaign_windows`).
    freq : {"Q", "M"}
        The step, for the title.
    selected : (date, date), optional
        The period the page shows, outlined.
    lang : {"vi", "en"}
    row_height : int
        Pixels per type's panel (one type alone gets at least 220).

    Returns
    -------
    go.Figure
        Per type (in :data:`~layers.counts.INCIDENT_TYPES` order) its line (``meta`` role
        ``"type"``) and, when the release hides some of its counts, their marks (role
        ``"hidden"``); then the legend entries of the shading and the outline (no data). The
        shading and the outline are layout shapes across every panel; each panel is titled
        with its type.
    """
    from plotly.subplots import make_subplots

    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    kinds = [k for k in INCIDENT_TYPES if k in set(trend["type"])]
    rows = max(len(kinds), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True,
                        vertical_spacing=min(0.12, 0.3 / rows),
                        subplot_titles=[plain_text(t(f"type.{k}")) for k in kinds] or None)
    labels = trend["label"] if "label" in trend else pd.Series(None, index=trend.index,
                                                                 dtype=object)
    any_hidden = False
    for row_no, kind in enumerate(kinds, start=1):
        rows_of = trend[trend["type"] == kind]
        style = TYPE_STYLE[kind]
        name = t(f"type.{kind}")
        ys, hover, hidden_x, hidden_text, hidden_hover = [], [], [], [], []
        for row, label in zip(rows_of.itertuples(), labels[rows_of.index], strict=True):
            when = f"{period_text(row.period, lang)} ({format_date(row.start, lang)} – " \
                   f"{format_date(row.end, lang)})"
            if isinstance(label, str) and label:
                ys.append(None)
                hover.append("")
                hidden_x.append(_middle(row.start, row.end))
                hidden_text.append(label)
                hidden_hover.append(f"<b>{plain_text(name)}</b><br>{when}<br>"
                                    f"{label}: {t('map.hidden.title').lower()}")
            else:
                value = None if pd.isna(row.count) else int(row.count)
                ys.append(value)
                hover.append(f"<b>{plain_text(name)}</b><br>{when}<br>"
                             f"{format_number(value, lang) if value is not None else '–'}")
        fig.add_trace(go.Scatter(
            x=[_middle(a, b) for a, b in zip(rows_of["start"], rows_of["end"], strict=True)],
            y=ys, mode="lines+markers", name=plain_text(name), connectgaps=False,
            line={"color": style["color"], "dash": style["dash"], "width": 2},
            marker={"symbol": style["symbol"], "size": 7, "color": style["color"]},
            hovertext=hover, hoverinfo="text", showlegend=False,
            meta={"role": "type", "type": kind}), row=row_no, col=1)
        # room above the highest point (and for a hidden mark's label): from shown values only
        top = max([v for v in ys if v is not None], default=0)
        fig.update_yaxes(range=[0, max(1.2 * top, 4)], row=row_no, col=1)
        if hidden_x:
            fig.add_trace(go.Scatter(
                x=hidden_x, y=[0] * len(hidden_x), mode="markers+text", text=hidden_text,
                textposition="top center",
                textfont={"size": 11, "color": HIDDEN_MARK["color"]},
                marker={"symbol": HIDDEN_MARK["symbol"], "size": HIDDEN_MARK["size"],
                        "color": HIDDEN_MARK["color"],
                        "line": {"width": 1.5, "color": HIDDEN_MARK["color"]}},
                name=t("trend.hidden"), hovertext=hidden_hover, hoverinfo="text",
                legendgroup="hidden", showlegend=not any_hidden,
                meta={"role": "hidden", "type": kind}), row=row_no, col=1)
            any_hidden = True
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": _day(w.start),
               "x1": _day(w.end, after=True), "y0": 0, "y1": 1, "layer": "below",
               "line": {"width": 0}, "fillcolor": CAMPAIGN_FILL["color"],
               "opacity": CAMPAIGN_FILL["opacity"], "name": "campaign"}
              for w in windows.itertuples()]
    if len(windows):  # the legend's entry for the shading (no data of its own)
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=t("trend.campaign"), hoverinfo="skip",
            marker={"symbol": "square", "size": 14, "color": CAMPAIGN_FILL["color"]},
            meta={"role": "campaign"}))
    if selected is not None:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper",
                       "x0": _day(selected[0]), "x1": _day(selected[1], after=True),
                       "y0": 0, "y1": 1, "layer": "above", "fillcolor": "rgba(0,0,0,0)",
                       "line": dict(SELECTED_LINE), "name": "selected"})
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="lines", name=t("trend.selected"), hoverinfo="skip",
            line={"color": SELECTED_LINE["color"], "dash": SELECTED_LINE["dash"]},
            meta={"role": "selected"}))
    years = sorted({d.year for d in trend["start"]} | {d.year for d in trend["end"]})
    for note in fig.layout.annotations:  # the panels' titles, at their left
        note.update(x=0, xanchor="left", font={"size": 13})
    fig.update_layout(
        title={"text": t(f"trend.title.{freq}"), "x": 0.01, "font": {"size": 15}},
        height=90 + max(row_height * rows, 220), shapes=shapes, hovermode="closest",
        # the legend's one row in the bottom margin, under the years
        plot_bgcolor="#ffffff", margin={"l": 48, "r": 16, "t": 64, "b": 72},
        legend={"orientation": "h", "x": 0, "y": 0, "yref": "container",
                "yanchor": "bottom", "font": {"size": 12}},
        separators=",." if lang == "vi" else ".,",
    )
    fig.update_xaxes(type="date", tickvals=[f"{y}-01-01" for y in years],
                     ticktext=[str(y) for y in years], showgrid=True, gridcolor="#bdbdbd",
                     minor={"dtick": "M3", "showgrid": True, "gridcolor": "#eeeeee"},
                     range=_x_range(trend, selected) if len(trend) else None)
    fig.update_yaxes(tickformat=",d", gridcolor="#eeeeee", nticks=4,
                     zeroline=True, zerolinecolor="#969696")
    return fig


def trend_figure(view, *, freq: str, types, selected: tuple[dt.date, dt.date] | None,
                 lang: str = "vi") -> go.Figure | dict:
    """The chart of the trend that ``view`` gives for ``types``: the commander's
    :class:`~dashboard.analysis.Analyses` (counts as they are), or a
    :class:`~dashboard.released.Released` view (the plan's province cells, by quarter only).

    An empty selection of types gives an empty chart that says so. A view that keeps
    answers (``view.memo``: the analyses of a worker, or a role's released view) keeps the
    chart of each (role, types, step, language) too, and answers with its JSON-ready dict
    (what Dash sends; ``go.Figure(answer)`` reads it as a figure): a change of
    period only moves the outline of the period and the time axis (:func:`_outlined`), so
    the chart is built once, not at every filter change (building it costs ~0.1–0.2 CPU-s;
    the pages send it as it is, never change it).
    """
    memo = getattr(view, "memo", None)
    types = tuple(types)
    if memo is None or selected is None:
        return _trend_figure(view, freq=freq, types=types, selected=selected, lang=lang)
    trend = view.trend(freq=freq, types=types)
    if trend.empty:
        return _trend_figure(view, freq=freq, types=types, selected=selected, lang=lang)
    chart = memo(("trend-chart", freq, types, lang),
                 lambda: _trend_figure(view, freq=freq, types=types, selected=selected,
                                       lang=lang).to_plotly_json())
    return _outlined(chart, trend, selected)


def _outlined(chart: dict, trend: pd.DataFrame, selected: tuple[dt.date, dt.date]) -> dict:
    """``chart`` (a trend chart's dict, drawn with some period outlined) with ``selected``
    outlined instead: the outline's corners and every time axis's range, as
    :func:`trend_chart` draws them; nothing else of a chart depends on the period."""
    layout = dict(chart["layout"])
    layout["shapes"] = [{**shape, "x0": _day(selected[0]), "x1": _day(selected[1], after=True)}
                        if shape.get("name") == "selected" else shape
                        for shape in layout["shapes"]]
    span = _x_range(trend, selected)
    for key, axis in chart["layout"].items():
        if key.startswith("xaxis") and "range" in axis:
            layout[key] = {**axis, "range": type(axis["range"])(span)}
    return {**chart, "layout": layout}


def _trend_figure(view, *, freq: str, types: tuple, selected, lang: str) -> go.Figure:
    from layers.trend import campaign_windows

    trend = view.trend(freq=freq, types=tuple(types))
    if trend.empty:
        fig = go.Figure()
        fig.update_layout(
            height=200, xaxis={"visible": False}, yaxis={"visible": False},
            plot_bgcolor="#ffffff", margin={"l": 16, "r": 16, "t": 16, "b": 16},
            annotations=[{"text": translate("trend.empty", lang), "showarrow": False,
                          "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}])
        return fig
    windows = campaign_windows(trend["start"].min(), trend["end"].max())
    return trend_chart(trend, windows, freq=freq, selected=selected, lang=lang)


_ROMAN = ("I", "II", "III", "IV")


def _top(table: pd.DataFrame) -> float:
    """The highest stacked bar of ``table`` (0 for none)."""
    totals = table.select_dtypes("number").sum(axis=1)
    return float(totals.max()) if len(totals) else 0.0


def commune_chart(by_period: pd.DataFrame, lang: str = "vi", *, last: int = 8,
                  height: int = 300) -> go.Figure:
    """The commune panel's chart: one commune's incidents per quarter, stacked by type.

    Made for the side panel (about 280 px wide): the last ``last`` quarters, each tick the
    quarter in Roman numerals with its year under the first quarter and every quarter I
    ("III / 2024", "IV", "I / 2025" …), the full name and the count in the hover, the
    legend in rows under the axis with the room it needs (nothing cut).

    Parameters
    ----------
    by_period : DataFrame
        Counts, quarters (a ``PeriodIndex``) × incident types
        (:attr:`layers.profile.CommuneProfile.by_period`).
    lang : {"vi", "en"}
    last : int
        How many quarters, the latest last.
    height : int
        Pixels, the legend included.
    """
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    table = by_period.tail(last)
    x = [str(p) for p in table.index]
    ticks = [f"{_ROMAN[p.quarter - 1]}<br>{p.year}" if i == 0 or p.quarter == 1
             else _ROMAN[p.quarter - 1] for i, p in enumerate(table.index)]
    names = [period_text(f"{p.year}Q{p.quarter}", lang) for p in table.index]
    fig = go.Figure()
    for kind in [k for k in INCIDENT_TYPES if k in table.columns]:
        name = t(f"type.{kind}")
        values = [int(v) for v in table[kind]]
        fig.add_trace(go.Bar(
            x=x, y=values, name=plain_text(name),
            marker={"color": TYPE_STYLE[kind]["color"],
                    "pattern": {"shape": TYPE_PATTERN[kind], "fgcolor": "#ffffff",
                                "size": 6, "solidity": 0.3}},
            hovertext=[f"{n}<br>{plain_text(name)}: {format_number(v, lang)}"
                       for n, v in zip(names, values, strict=True)],
            hoverinfo="text"))
    fig.update_layout(
        barmode="stack", height=height, plot_bgcolor="#ffffff",
        margin={"l": 34, "r": 6, "t": 6, "b": 110},
        separators=",." if lang == "vi" else ".,",
        xaxis={"type": "category", "tickmode": "array", "tickvals": x, "ticktext": ticks,
               "tickangle": 0, "tickfont": {"size": 11}, "automargin": True},
        yaxis={"tickformat": ",d", "rangemode": "tozero", "gridcolor": "#eeeeee",
               "tickfont": {"size": 11}, "automargin": True,
               # a few records: a tick per record (Plotly's own steps of 0,5 read "1, 1, 2, 2")
               **({"dtick": 1} if _top(table) <= 5 else {})},
        # the legend in the bottom margin, under the two-line ticks: it wraps in rows there
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yanchor": "bottom",
                "yref": "container", "font": {"size": 11}, "traceorder": "normal"},
    )
    return fig
