"""The trend chart and the commune panel's chart (dashboard/figures/trend_chart.py): the
numbers on the lines, the campaign shading and the period outlined, hidden counts drawn as
labels and never as numbers, Vietnamese periods, dates and numbers."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from dashboard.figures.trend_chart import (CAMPAIGN_FILL, commune_chart, period_text,
                                           trend_chart, trend_figure)
from layers.counts import INCIDENT_TYPES
from layers.trend import campaign_windows, province_trend

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec")


def _records() -> pd.DataFrame:
    rows = ([("2024-02-01", "tip")] * 1835 + [("2024-08-01", "tip")] * 40
            + [("2024-08-03", "victim")] * 6 + [("2025-01-15", "victim")] * 2)
    frame = pd.DataFrame(rows, columns=["date", "type"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _chart(trend, lang="vi", selected=(dt.date(2024, 7, 1), dt.date(2024, 9, 30)), freq="Q"):
    windows = campaign_windows(trend["start"].min(), trend["end"].max())
    return trend_chart(trend, windows, freq=freq, selected=selected, lang=lang)


def _by_role(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


def test_one_line_per_type_with_the_counts():
    trend = province_trend(_records(), types=["tip", "victim"])
    fig = _chart(trend)
    lines = _by_role(fig, "type")
    assert [t.meta["type"] for t in lines] == ["tip", "victim"]
    assert [t.name for t in lines] == ["Tin báo, tố giác", "Nạn nhân được tiếp nhận"]
    tip, victim = lines
    assert list(tip.y) == [1835, 0, 40, 0, 0] and list(victim.y) == [0, 0, 6, 0, 2]
    # each point in the middle of its quarter: 2024Q3 sits between 01/07 and 01/10
    assert dt.date(2024, 7, 1) < pd.Timestamp(tip.x[2]).date() < dt.date(2024, 10, 1)
    # hover: the quarter as it is written, its dates dd/mm/yyyy, the number 1.835
    assert tip.hovertext[0] == ("<b>Tin báo, tố giác</b><br>Quý I/2024 (01/01/2024 – "
                                "31/03/2024)<br>1.835")
    assert fig.layout.separators == ",." and fig.layout.yaxis.tickformat == ",d"
    assert fig.layout.title.text == "Số vụ việc toàn tỉnh theo quý, theo loại vụ việc"
    assert not _by_role(fig, "hidden")  # the commander's trend hides nothing
    # a panel per type, each on its own scale (1.835 tips would flatten 6 victims)
    assert (tip.yaxis, victim.yaxis) == ("y", "y2") and victim.xaxis == "x2"
    assert [a.text for a in fig.layout.annotations] == ["Tin báo, tố giác",
                                                        "Nạn nhân được tiếp nhận"]
    assert fig.layout.xaxis.matches == "x2" and fig.layout.height == 90 + 2 * 120
    assert tuple(fig.layout.yaxis.range) == (0, pytest.approx(1.2 * 1835))  # room above


def test_campaign_windows_are_shaded_and_the_period_shown_outlined():
    trend = province_trend(_records(), first=dt.date(2023, 3, 1))
    fig = _chart(trend, selected=(dt.date(2025, 1, 1), dt.date(2025, 3, 31)))
    shades = [s for s in fig.layout.shapes if s.name == "campaign"]
    assert [(s.x0, s.x1) for s in shades] == [("2023-07-01", "2023-10-01"),
                                              ("2024-07-01", "2024-10-01")]
    assert all(s.fillcolor == CAMPAIGN_FILL["color"] and s.layer == "below" for s in shades)
    (outline,) = [s for s in fig.layout.shapes if s.name == "selected"]
    assert (outline.x0, outline.x1) == ("2025-01-01", "2025-04-01")
    assert outline.fillcolor == "rgba(0,0,0,0)" and outline.line.dash == "dash"
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert "Đợt cao điểm (01/7–30/9)" in legend and "Kỳ đang xem" in legend
    # years on the axis written by us (no month name of Plotly's), the span framed
    assert list(fig.layout.xaxis.ticktext) == ["2023", "2024", "2025"]
    # the span framed with a little room each side: the latest quarter's outline is drawn
    # whole, not cut by the plot's right edge (2025-04-01 + 1.5 % of 821 days ≈ 12.3 days)
    assert list(fig.layout.xaxis.range) == ["2022-12-19 16:26", "2025-04-13 07:33"]
    assert not any(m in fig.to_json() for m in _MONTH_NAMES)


def test_a_period_shown_beyond_the_trend_is_inside_the_axis():
    trend = province_trend(_records(), first=dt.date(2023, 3, 1))
    fig = _chart(trend, selected=(dt.date(2025, 2, 1), dt.date(2025, 6, 30)))
    (outline,) = [s for s in fig.layout.shapes if s.name == "selected"]
    low, high = fig.layout.xaxis.range
    assert low < "2023-01-01" and outline.x1 == "2025-07-01" < high < "2025-07-31"


def test_hidden_counts_are_labels_on_the_axis_never_numbers():
    trend = province_trend(_records(), types=["victim"])
    released = trend.assign(count=trend["count"].astype("Int64"), label=None)
    released.loc[released["period"] == "2025Q1", ["count", "label"]] = [pd.NA, "< 5"]
    released.loc[released["period"] == "2024Q3", ["count", "label"]] = [pd.NA, "x"]
    fig = _chart(released)
    (line,) = _by_role(fig, "type")
    assert list(line.y) == [0, 0, None, 0, None] and line.connectgaps is False
    (hidden,) = _by_role(fig, "hidden")
    assert list(hidden.text) == ["x", "< 5"] and list(hidden.y) == [0, 0]
    assert hidden.name == "Số liệu được ẩn (< 5, x)"
    assert "Quý III/2024" in hidden.hovertext[0] and "x: số liệu được ẩn" in hidden.hovertext[0]
    # the hidden counts (6 and 2) are nowhere in what the browser gets
    assert not any(str(v) in (line.hovertext[2] + line.hovertext[4]) for v in (6, 2))
    assert "6" not in json.dumps(list(hidden.hovertext) + list(hidden.text))
    # nor in the axis: its range comes from the counts shown (all 0 here), not the hidden 6
    assert tuple(fig.layout.yaxis.range) == (0, 4)


def test_months_and_english():
    trend = province_trend(_records(), freq="M", types=["victim"])
    fig = _chart(trend, freq="M")
    (line,) = _by_role(fig, "type")
    assert len(line.y) == 12 and sum(line.y) == 8
    assert "Tháng 8/2024 (01/08/2024 – 31/08/2024)" in line.hovertext[6]
    assert fig.layout.title.text == "Số vụ việc toàn tỉnh theo tháng, theo loại vụ việc"
    en = _chart(province_trend(_records(), types=["tip"]), lang="en")
    assert en.layout.separators == ".," and en.data[0].name == "Tip or report"
    assert "Q1 2024" in en.data[0].hovertext[0] and en.data[0].hovertext[0].endswith("1,835")
    assert period_text("2025-07", "en") == "7/2025"


def test_each_type_apart_in_colour_and_in_grey():
    trend = province_trend(_records())
    lines = _by_role(_chart(trend), "type")
    assert [t.meta["type"] for t in lines] == list(INCIDENT_TYPES)
    for attr in (lambda t: t.line.color, lambda t: t.marker.symbol, lambda t: t.line.dash):
        assert len({attr(t) for t in lines}) == 4


class _View:
    def __init__(self, trend):
        self.frame, self.asked = trend, None

    def trend(self, *, freq, types):
        self.asked = (freq, types)
        return self.frame[self.frame["type"].isin(types)].copy()


def test_trend_figure_asks_the_view_and_says_when_there_is_nothing():
    view = _View(province_trend(_records()))
    fig = trend_figure(view, freq="Q", types=["victim"], selected=None, lang="vi")
    assert view.asked == ("Q", ("victim",))
    assert [t.meta["type"] for t in _by_role(fig, "type")] == ["victim"]
    assert not [s for s in fig.layout.shapes if s.name == "selected"]
    empty = trend_figure(view, freq="Q", types=[], selected=None, lang="vi")
    assert not empty.data
    assert empty.layout.annotations[0].text == "Chưa có dữ liệu vụ việc để lập biểu đồ."


def test_commune_chart_fits_the_side_panel():
    periods = pd.period_range("2022Q1", "2025Q3", freq="Q")
    table = pd.DataFrame(0, index=periods, columns=list(INCIDENT_TYPES))
    table.loc[pd.Period("2025Q3"), "victim"] = 3
    table.loc[pd.Period("2024Q1"), "tip"] = 1835
    fig = commune_chart(table, "vi")
    assert len(fig.data) == 4 and all(len(t.x) == 8 for t in fig.data)
    assert list(fig.data[0].x) == [str(p) for p in periods[-8:]]
    # Roman quarters, the year under the first one and under each quarter I
    assert list(fig.layout.xaxis.ticktext) == ["IV<br>2023", "I<br>2024", "II", "III", "IV",
                                               "I<br>2025", "II", "III"]
    assert fig.layout.xaxis.tickangle == 0
    victim = fig.data[3]
    assert victim.hovertext[-1] == "Quý III/2025<br>Nạn nhân được tiếp nhận: 3"
    assert fig.data[2].hovertext[1] == "Quý I/2024<br>Tin báo, tố giác: 1.835"
    # the legend has the bottom margin to itself, under the ticks
    assert fig.layout.legend.yref == "container" and fig.layout.margin.b >= 100
    assert len({t.marker.pattern.shape for t in fig.data}) == 4  # apart in grey print


def test_commune_chart_of_a_few_records_ticks_each_record_once():
    """Two records at most: ticks 0, 1, 2 (Plotly's own steps of 0,5 written as whole numbers
    read "0, 1, 1, 2, 2"); many records keep Plotly's steps."""
    table = pd.DataFrame({"tip": [1, 0, 2]}, index=pd.period_range("2024Q1", periods=3, freq="Q"))
    assert commune_chart(table, "vi").layout.yaxis.dtick == 1
    table.iloc[2, 0] = 40
    assert commune_chart(table, "vi").layout.yaxis.dtick is None


@pytest.mark.parametrize("code, vi, en", [("2025Q1", "Quý I/2025", "Q1 2025"),
                                          ("2023-12", "Tháng 12/2023", "12/2023")])
def test_period_text(code, vi, en):
    assert (period_text(code, "vi"), period_text(code, "en")) == (vi, en)


class _Kept(_View):
    """A view that keeps answers, as the analyses and a role's released view do."""

    def __init__(self, trend):
        super().__init__(trend)
        self.kept, self.built = {}, 0

    def memo(self, key, build):
        if key not in self.kept:
            self.built += 1
            self.kept[key] = build()
        return self.kept[key]


def test_a_kept_chart_moves_only_its_outline_and_axis_with_the_period():
    """The chart of a view that keeps answers is built once per types and step; another
    period gives exactly the chart built afresh for it (outline, axis), and other types
    or another step a chart of their own."""
    from dashboard.figures.trend_chart import _trend_figure

    frame = province_trend(_records())
    view = _Kept(frame)
    periods = [(dt.date(2024, 4, 1), dt.date(2024, 6, 30)),
               (dt.date(2023, 1, 1), dt.date(2025, 12, 31)),  # beyond the records: wider axis
               (dt.date(2024, 7, 1), dt.date(2024, 9, 30))]
    for types in (["victim"], ["victim", "trafficking_case"]):
        for selected in periods:
            kept = trend_figure(view, freq="Q", types=types, selected=selected, lang="vi")
            fresh = _trend_figure(_View(frame), freq="Q", types=tuple(types),
                                  selected=selected, lang="vi").to_plotly_json()
            assert kept == fresh, (types, selected)
    assert view.built == 2  # one chart per choice of types, not per period
    outline = [s for s in kept["layout"]["shapes"] if s["name"] == "selected"]
    assert [(s["x0"], s["x1"]) for s in outline] == [("2024-07-01", "2024-10-01")]
    empty = trend_figure(view, freq="Q", types=[], selected=periods[0], lang="vi")
    assert not empty.data and view.built == 2  # nothing to keep
