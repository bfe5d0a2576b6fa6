"""The report's sections as data: the totals, rows and words the PDF and the DOCX share."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard.exports.report_sections import (
    coverage_gaps,
    gi_levels,
    hotspot_counts,
    is_released,
    layer_trend,
    priority_rows,
    province_total,
    signed,
    type_row,
)
from dashboard.i18n import translate
from layers.compare import NO_COMPARISON

Q3 = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))            # 92 days
Q3_BEFORE = (dt.date(2024, 7, 1), dt.date(2024, 9, 30))     # 92 days


def _params(total, other, p_value=0.01, *, comparable=True, period=Q3, before=Q3_BEFORE,
            suppression=None) -> dict:
    return {"total": total, "total_other": other, "total_p_value": p_value, "alpha": 0.05,
            "comparable": comparable, "start": period[0], "end": period[1],
            "other_start": before[0], "other_end": before[1],
            **({"suppression": suppression} if suppression else {})}


def _layer(**kw):
    return SimpleNamespace(params=_params(**kw))


def test_a_total_is_written_with_vietnamese_grouping_or_as_its_released_label():
    assert province_total({"total": 1835}, "vi") == "1.835"
    assert province_total({"total": 1835}, "en") == "1,835"
    hidden = {"total": None, "total_other": None,
              "suppression": {"province_label": "< 5", "other": {"province_label": "x"}}}
    assert province_total(hidden, "vi") == "< 5"
    assert province_total(hidden, "vi", other=True) == "x"
    # a total hidden without a label is still not shown as a number
    assert province_total({"total": None}, "vi") == "x"


def test_a_difference_carries_its_sign():
    assert [signed(v, "vi") for v in (1835, -1835, 0)] == ["+1.835", "-1.835", "0"]


@pytest.mark.parametrize(("total", "other", "p_value", "expected"), [
    (40, 20, 0.001, 1),    # more per day, significant
    (20, 40, 0.001, -1),   # fewer per day, significant
    (22, 20, 0.60, 0),     # not significant at 5 %
])
def test_the_trend_of_a_total_is_its_significant_direction(total, other, p_value, expected):
    assert layer_trend(_params(total, other, p_value)) == expected


def test_the_trend_compares_counts_per_day_not_counts():
    # 30 in 92 days is fewer per day than 20 in 31 days: a fall, though 30 > 20
    july = (dt.date(2024, 7, 1), dt.date(2024, 7, 31))
    assert layer_trend(_params(30, 20, 0.001, before=july)) == -1


def test_no_trend_where_the_records_do_not_reach_the_earlier_period():
    assert layer_trend(_params(12, 0, None, comparable=False)) == NO_COMPARISON


def test_a_type_row_holds_the_totals_the_difference_and_the_assessment():
    assert type_row("Vụ mua bán người", _layer(total=40, other=25, p_value=0.001), "vi") == [
        "Vụ mua bán người", "40", "25", "+15", "Tăng có ý nghĩa"]
    assert type_row("Tip", _layer(total=22, other=20, p_value=0.6), "en") == [
        "Tip", "22", "20", "+2", "No significant change"]


def test_a_type_row_without_an_earlier_period_shows_no_earlier_count():
    row = type_row("Nạn nhân", _layer(total=0, other=324, p_value=None, comparable=False), "vi")
    assert row == ["Nạn nhân", "0", "–", "–", "Không có số liệu kỳ trước để so sánh"]


def test_a_type_row_with_a_hidden_total_shows_its_label_and_no_difference():
    hidden = {"province_label": "< 5", "other": {"province_label": "x"}}
    row = type_row("Tin báo", _layer(total=None, other=None, p_value=None,
                                     suppression=hidden), "vi")
    assert row == ["Tin báo", "< 5", "x", "–", "–"]


def test_gi_levels_count_the_communes_of_each_confidence_strongest_first():
    classes = pd.Series(["hot_90", "hot_99", "hot_90", "cold_95", "not_significant", ""])
    assert gi_levels(classes, "hot", "vi") == " (99 %: 1; 90 %: 2)"
    assert gi_levels(classes, "cold", "en") == " (95 %: 1)"
    assert gi_levels(pd.Series(["not_significant"]), "hot", "vi") == ""


def test_a_report_is_released_when_made_from_a_released_view_only():
    from dashboard.released import Released

    view = Released(SimpleNamespace(ctx=None), "viewer", plan=None, indicators=None)
    assert is_released(view)
    assert not is_released(view.an)  # the commander's analyses it wraps


def test_the_hotspot_sentence_counts_each_class_once():
    classes = pd.Series(["hot_99", "hot_90", "hot_90", "cold_95", "not_significant",
                         "not_significant", "not_significant", None])
    text = hotspot_counts(classes, "vi")
    assert text == translate("report.hot.counts", "vi", hot="3", hot_detail=" (99 %: 1; 90 %: 2)",
                             cold="1", cold_detail=" (95 %: 1)", ns="3")


def test_the_coverage_sentence_counts_high_risk_communes_by_coverage():
    frame = pd.DataFrame({"risk": ["high", "high", "high", "medium", "low", "medium"],
                          "coverage": ["low", "low", "high", "low", "high", "medium"]})
    assert coverage_gaps(frame, "en") == translate(
        "report.cov.gaps", "en", high="3", low="2", medium="0", high_cov="1", medium_risk="2")


def test_a_priority_row_says_the_class_the_agency_and_the_reasons_in_words():
    priority = pd.DataFrame({
        "rank": [1, 12], "name": ["Xã Phước Chỉ", "Phường Bình Minh"],
        "risk": ["high", "high"], "coverage": ["low", "medium"],
        "last_agency": [None, "Hội LHPN tỉnh"],
        "reasons": [[("gi.hot_99", {}), ("coverage.no_model", {})],
                    [("coverage.reach", {"reach": 12.5})]],
    })
    assert priority_rows(priority, "vi") == [
        ["1", "Xã Phước Chỉ", "Rủi ro cao, bao phủ thấp", "–",
         "Điểm nóng Gi* 99%; Chưa có mô hình phòng ngừa"],
        ["12", "Phường Bình Minh", translate("gap.high.medium", "vi"), "Hội LHPN tỉnh",
         "Truyền thông: 12,5 lượt/1.000 dân"],
    ]
