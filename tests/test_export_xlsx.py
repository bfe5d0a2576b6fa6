"""The XLSX exporter: numbers stay numbers, caveats travel in the sheet."""

import datetime as dt
import io

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from dashboard.exports.xlsx import Column, table_xlsx


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
