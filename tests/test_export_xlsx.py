"""The XLSX exporter: numbers stay numbers, caveats travel in the sheet."""

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboard.exports.xlsx import Column, table_xlsx
from dashboard.i18n import translate


def test_sheet_holds_title_caveats_and_real_numbers():
    frame = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Long Thuận"], "n": [1835, 0],
                          "rate": [12.345, np.nan], "day": [pd.Timestamp("2024-08-05"), None]})
    raw = table_xlsx(frame, [Column("name", "Xã/phường", width=24),
                             Column("n", "Số vụ việc", "#,##0"),
                             Column("rate", "Tỷ lệ", "0.0"), Column("day", "Ngày", "DD/MM/YYYY")],
                     title="Danh sách ưu tiên", notes=["Dữ liệu minh họa tổng hợp"],
                     extracted=dt.date(2026, 11, 23))
    ws = load_workbook(io.BytesIO(raw)).active
    assert ws["A1"].value == "Danh sách ưu tiên"
    assert ws["A2"].value == "Dữ liệu minh họa tổng hợp"
    assert ws["B3"].value.date() == dt.date(2026, 11, 23)
    assert [c.value for c in ws[5]] == ["Xã/phường", "Số vụ việc", "Tỷ lệ", "Ngày"]
    assert ws["B6"].value == 1835 and ws["B6"].number_format == "#,##0"
    assert ws["C6"].value == 12.345 and ws["C7"].value is None
    assert ws["D6"].value.date() == dt.date(2024, 8, 5) and ws["D7"].value is None
    assert ws.freeze_panes == "A6"


def test_layer_table_writes_classes_as_words_and_numbers_as_numbers():
    from dashboard.exports.xlsx import layer_xlsx
    from layers.layer import Layer

    frame = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Long Thuận"], "count": [12, 0],
                          "p_value": [0.001, 0.8], "gi_class": ["hot_99", "not_significant"],
                          "gi_bin": [3.0, 0.0], "geometry": [None, None]},
                         index=["25681", "25702"])
    layer = Layer(frame=frame, value="gi_bin", unit_set="2025", title_key="t", legend_key="l",
                  units_key="u")
    raw = layer_xlsx(layer, title="Gi*", lang="vi", notes=["Dữ liệu minh họa tổng hợp"])
    ws = load_workbook(io.BytesIO(raw)).active
    header = [c.value for c in ws[5]]
    # no threshold in the frame: its p-value is not written (nothing would say why 0.001 is
    # "hot" and another small p "not significant"; issue 16)
    assert header == ["Mã", "Xã/phường", "Số vụ việc", "Điểm nóng (Gi*)"]
    assert [c.value for c in ws[6]] == ["25681", "Xã Bến Cầu", 12, "Điểm nóng 99%"]
    assert ws["D7"].value == "Không có ý nghĩa thống kê"


def test_change_table_explains_each_class_by_its_corrected_threshold():
    """A p-value under 0.05 beside "no significant change" comes with the column that explains
    it (the Benjamini–Hochberg threshold); "no comparison" is written as such (issue 16)."""
    from dashboard.exports.xlsx import layer_xlsx
    from layers.compare import compare_periods

    codes = [f"{i:02d}" for i in range(20)]
    rows = [(pd.Timestamp(day), "tip", c, c) for c in codes
            for day, n in (("2024-07-01", 20), ("2025-08-01", 20)) for _ in range(n)]
    rows += [(pd.Timestamp("2025-08-02"), "tip", "00", "00")] * 40  # 60 against 20
    rows += [(pd.Timestamp("2025-08-02"), "tip", "01", "01")] * 19  # 39 against 20
    inc = pd.DataFrame(rows, columns=["date", "type", "new_code", "old_code"])
    communes = pd.DataFrame({"name": codes}, index=codes)
    layer = compare_periods(inc, communes, unit_set="2025", start=dt.date(2025, 7, 1),
                            end=dt.date(2025, 9, 30))
    raw = layer_xlsx(layer, title="Thay đổi", lang="vi", notes=["x"])
    ws = load_workbook(io.BytesIO(raw)).active
    header = [c.value for c in ws[5]]
    assert header[:8] == ["Mã", "Xã/phường", "Số vụ việc", "Giá trị p",
                          "Ngưỡng p đã hiệu chỉnh FDR", "Kỳ so sánh", "Chênh lệch", "Thay đổi"]
    rise, wobble = ws[6], ws[7]
    assert rise[7].value == "Tăng có ý nghĩa" and rise[3].value <= rise[4].value
    assert wobble[3].value < 0.05 and wobble[3].value > wobble[4].value  # p = 0.018 > 0.0025
    assert wobble[7].value == "Không đổi đáng kể" and wobble[4].number_format == "0.0000"
    before = compare_periods(inc, communes, unit_set="2025", start=dt.date(2024, 7, 1),
                             end=dt.date(2024, 9, 30))  # the records begin in 2024
    raw = layer_xlsx(before, title="Thay đổi", lang="vi", notes=["x"])
    ws = load_workbook(io.BytesIO(raw)).active
    assert {ws.cell(row, 8).value for row in range(6, 26)} == {"Không có số liệu kỳ trước để so sánh"}


def test_a_released_table_with_pandas_missing_values_writes_labels_and_empty_cells():
    """The table a viewer downloads holds ``pd.NA`` (nullable integers of the release plan):
    a withheld count reads its label ("< 5", "x"), a missing class is an empty cell."""
    from dashboard.exports.xlsx import layer_xlsx
    from layers.layer import Layer

    frame = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Long Thuận", "Xã Long Chữ"],
                          "count": pd.array([12, pd.NA, pd.NA], dtype="Int64"),
                          "count_label": [None, "< 5", "x"],
                          "risk": pd.array(["high", pd.NA, "low"], dtype="string")},
                         index=["25681", "25702", "25703"])
    layer = Layer(frame=frame, value="count", unit_set="2025", title_key="t", legend_key="l",
                  units_key="u")
    ws = load_workbook(io.BytesIO(layer_xlsx(layer, title="T", lang="vi"))).active
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Mã")
    assert [[c.value for c in ws[r]][:3] for r in range(header + 1, header + 4)] == [
        ["25681", "Xã Bến Cầu", 12], ["25702", "Xã Long Thuận", "< 5"],
        ["25703", "Xã Long Chữ", "x"]]
    assert ws.cell(header + 2, 4).value is None


def _gi_sheet(alpha_fdr: bool):
    """The XLSX of a Gi* map of counts on a 6 × 6 grid: four high communes in a corner, and
    one other commune (code 00035, far corner) whose exact p is small but not enough."""
    import geopandas as gpd
    import shapely

    from dashboard.exports.xlsx import layer_xlsx
    from layers.counts import incident_counts
    from layers.hotspots import hotspot_layer

    grid = gpd.GeoDataFrame(
        {"name": [f"Xã {i}" for i in range(36)]},
        geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
        index=[f"{i:05d}" for i in range(36)], crs="EPSG:32648")
    codes = ["00000"] * 20 + ["00001"] * 20 + ["00006"] * 20 + ["00007"] * 20 + list(grid.index)
    inc = pd.DataFrame({"date": pd.Timestamp("2024-05-01"), "type": "tip",
                        "new_code": codes, "old_code": codes})
    layer = hotspot_layer(incident_counts(inc, grid, unit_set="2025"), grid, alpha_fdr=alpha_fdr)
    ws = load_workbook(io.BytesIO(layer_xlsx(layer, title="Gi*", lang="vi"))).active
    top = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Mã")
    header = [c.value for c in ws[top]]
    rows = {ws.cell(r, 1).value: {h: ws.cell(r, i + 1).value for i, h in enumerate(header)}
            for r in range(top + 1, top + 1 + 36)}
    return layer, header, rows


def test_gi_table_explains_each_class_by_the_p_thresholds_of_its_levels():
    """z and p beside "not significant" come with the p each confidence level asks on this map,
    FDR-adjusted (Benjamini–Hochberg), so a reader sees why p = 0.03 is not a hot spot."""
    layer, header, rows = _gi_sheet(alpha_fdr=True)
    names = ["Ngưỡng p đã hiệu chỉnh FDR, độ tin cậy 90 %",
             "Ngưỡng p đã hiệu chỉnh FDR, độ tin cậy 95 %",
             "Ngưỡng p đã hiệu chỉnh FDR, độ tin cậy 99 %"]
    assert header[header.index("Giá trị p") + 1:header.index("Giá trị p") + 4] == names
    thresholds = layer.params["fdr_thresholds"]
    for row in rows.values():
        assert [row[n] for n in names] == [thresholds[0.10], thresholds[0.05], thresholds[0.01]]
        level = sum(row["Giá trị p"] <= row[n] * (1 + 1e-9) for n in names)
        if row["Điểm nóng (Gi*)"] == "Không có ý nghĩa thống kê":
            assert level == 0
        else:
            assert row["Điểm nóng (Gi*)"].endswith(("90%", "95%", "99%")[level - 1])
    # the case of the issue: a p below 0.10 read as "not significant", explained beside it
    unexplained = [r for r in rows.values() if r["Giá trị p"] < 0.10
                   and r["Điểm nóng (Gi*)"] == "Không có ý nghĩa thống kê"]
    assert unexplained and all(r["Giá trị p"] > r[names[0]] for r in unexplained)


def test_uncorrected_gi_table_says_its_thresholds_are_not_adjusted():
    layer, header, rows = _gi_sheet(alpha_fdr=False)
    assert layer.title_key == "layer.hotspots_uncorrected.title"
    names = ["Ngưỡng p (chưa hiệu chỉnh), độ tin cậy 90 %",
             "Ngưỡng p (chưa hiệu chỉnh), độ tin cậy 95 %",
             "Ngưỡng p (chưa hiệu chỉnh), độ tin cậy 99 %"]
    assert all(n in header for n in names)
    assert not any("FDR" in h for h in header)
    assert {tuple(r[n] for n in names) for r in rows.values()} == {(0.10, 0.05, 0.01)}
    assert rows["00000"]["Điểm nóng (Gi*)"] == "Điểm nóng 99%"  # 95 % with FDR


def test_a_forecast_table_carries_its_track_record_as_numbers():
    """The forecast's workbook: the page's sentence under the title, the forecast, the share
    flagged and the rank per commune, and a second sheet with the backtest table whose hit
    rates and PAI are numbers (the hit rate a percentage)."""
    import geopandas as gpd
    import shapely

    from dashboard.exports.xlsx import layer_xlsx
    from dashboard.forecast_text import track_header, track_record, track_values
    from tests.forecast_layers import synthetic_forecast

    cells = [shapely.box(106 + 0.02 * i, 11 + 0.02 * j, 106.02 + 0.02 * i, 11.02 + 0.02 * j)
             for j in range(8) for i in range(8)]
    codes = [f"{k:05d}" for k in range(len(cells))]
    communes = gpd.GeoDataFrame({"name": [f"Xã {c}" for c in codes]}, geometry=cells,
                                index=codes, crs=4326)
    for freq, lang in (("Q", "vi"), ("M", "en")):
        layer = synthetic_forecast(communes, freq=freq)
        book = load_workbook(io.BytesIO(layer_xlsx(layer, title="Dự báo", lang=lang,
                                                   notes=["Dữ liệu minh họa tổng hợp"],
                                                   extracted=dt.date(2026, 11, 23))))
        first, track = book.worksheets
        sentence = track_record(layer.params, lang)
        assert [first["A2"].value, first["A3"].value] == ["Dữ liệu minh họa tổng hợp", sentence]
        header = [c.value for c in first[6]]
        assert header[:2] == [("Mã" if lang == "vi" else "Code"),
                              ("Xã/phường" if lang == "vi" else "Commune")]
        assert len(header) == 5  # the forecast, the share flagged, the rank
        top = min(range(7, 7 + len(codes)), key=lambda r: first.cell(r, 5).value)
        assert first.cell(top, 5).value == 1 and first.cell(top, 4).value > 0
        assert first.cell(top, 3).value == pytest.approx(
            float(layer.frame["forecast"].max()))
        assert track.title == translate("export.forecast.sheet", lang)
        assert track["A2"].value == sentence
        assert [c.value for c in track[5]] == track_header(lang)
        values = track_values(layer.params, lang)
        for r, row in enumerate(values, start=6):
            written = [track.cell(r, c + 1).value for c in range(len(row))]
            assert written[0] == row[0] and written[1:] == pytest.approx(row[1:], rel=1e-12)
        assert track["B6"].number_format == "0.0%" and track["C6"].number_format == "0.00"
        names = [track.cell(r, 1).value for r in range(6, 6 + len(values))]
        assert names[2] == ("Số vụ việc của quý trước" if freq == "Q"
                            else "Last month's counts")
