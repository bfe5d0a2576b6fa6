"""The record importer on messy, real-looking files: every rule, on both back-ends.

Each test builds a small file the way spreadsheets from the police, the
border guard or the Women's Union come (Vietnamese headers, BOM, semicolons,
names without diacritics, Excel dates …), imports it, and checks the exact
outcome: which rows are accepted, which are refused and why, what the store
holds afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from geo.config import Settings
from geo.ingest import DEMO_SOURCE, FileRefused, Places, import_file
from geo.units import NEW, OLD

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Places:
    return Places.load(Settings(data_dir=tmp_path_factory.mktemp("places")))


@pytest.fixture(scope="module")
def inside(places) -> dict[str, tuple[float, float]]:
    """A (lat, lon) well inside some communes of each set."""
    out = {}
    for unit_set, frame in ((NEW, places.communes_new), (OLD, places.communes_old)):
        for code in ("25681", "25702", "27787", "25699"):
            if code in frame.index:
                pt = frame.loc[code, "geometry"].representative_point()
                out[f"{unit_set}:{code}"] = (round(pt.y, 6), round(pt.x, 6))
    return out


def _csv(path: Path, text: str, *, bom: bool = True) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def _run(path, kind, store, places, **kw):
    kw.setdefault("today", TODAY)
    return import_file(path, kind, store, places, **kw)


def _reasons(report) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for row in report.rejects.itertuples():
        out.setdefault(int(row.row_number), []).append(row.reason)
    return out


# -- a messy incidents file -------------------------------------------------------------


@pytest.fixture()
def messy_incidents(tmp_path, inside) -> Path:
    lat, lon = inside["2025:25681"]
    old_lat, old_lon = inside["legacy:25699"]
    rows = [
        # row 2: code, Vietnamese label, dd/mm/yyyy
        "HS-001;05/08/2024;Xuất, nhập cảnh trái phép;25699;;;;;3;0;BĐBP;Xác minh",
        # row 3: old name without diacritics + district, d/m/yyyy, upper-case label
        "HS-002;5/8/2024;TIN BAO;;X. LOI THUAN;H. Ben Cau;;;1;;Công an xã;",
        # row 4: ISO date, 2025 unit by name, code as number with .0
        "HS-003;2025-09-14;tip;25681.0;;;;;;;;received",
        # row 5: point only (after the merger), decimal comma
        f"HS-004;01/10/2025;illegal_crossing;;;;{str(lat).replace('.', ',')};"
        f"{str(lon).replace('.', ',')};2;;BĐBP;",
        # row 6: victim with a point: placed, then the point is dropped
        f"HS-005;02/10/2025;nạn nhân;;;;{lat};{lon};;1;Hội LHPN;",
        # row 7: impossible date
        "HS-006;31/02/2024;tip;25681;;;;;;;;",
        # row 8: future date
        "HS-007;01/01/2027;tip;25681;;;;;;;;",
        # row 9: before 2000
        "HS-008;31/12/1999;tip;25681;;;;;;;;",
        # row 10: unknown type, close to "tin báo"
        "HS-009;01/02/2024;tin bao to giak;25699;;;;;;;;",
        # row 11: negative and unreadable counts
        "HS-010;01/02/2024;tip;25699;;;;;-2;abc;;",
        # row 12: lat without lon
        f"HS-011;01/10/2025;tip;;;;{lat};;;;;",
        # row 13: swapped coordinates
        f"HS-012;01/10/2025;tip;;;;{lon};{lat};;;;",
        # row 14: a point in Phnom Penh
        "HS-013;01/10/2025;tip;;;;11.5564;104.9282;;;;",
        # row 15: ambiguous old name without district
        "HS-014;01/03/2023;tip;;Xã Tân Bình;;;;;;;",
        # row 16: unknown name (a typo)
        "HS-015;01/03/2023;tip;;Xã Lợi Thương;Huyện Bến Cầu;;;;;;",
        # row 17: unknown code
        "HS-016;01/03/2023;tip;99999;;;;;;;;",
        # row 18: no record id
        ";01/03/2023;tip;25699;;;;;;;;",
        # row 19: no date
        "HS-018;;tip;25699;;;;;;;;",
        # row 20: nothing to place it
        "HS-019;01/03/2023;tip;;;;;;;;;",
        # row 21: Excel serial date (45505 = 01/08/2024), old code
        "HS-020;45505;trafficking_case;25699;;;;;2;1;Công an tỉnh;Khởi tố",
        # row 22: old-only code in a 2025 record
        "HS-021;01/10/2025;tip;25456;;;;;;;;",
    ]
    header = ("Mã hồ sơ;Ngày;Loại;Mã xã;Xã/Phường;Huyện;Vĩ độ;Kinh độ;Số đối tượng;"
              "Số nạn nhân;Đơn vị;Tình trạng")
    return _csv(tmp_path / "vu_viec.csv", header + "\n" + "\n".join(rows) + "\n")


def test_messy_file_every_row_accounted_for(messy_incidents, store, places, tmp_path):
    report = _run(messy_incidents, "incidents", store, places, rejects_dir=tmp_path / "rej")
    assert report.status == "committed"
    assert report.rows_read == 21
    assert report.accepted == 6
    assert report.rejected == 15
    assert report.accepted + report.rejected + report.duplicates == report.rows_read
    reasons = _reasons(report)
    assert reasons == {
        7: ["date.impossible"], 8: ["date.future"], 9: ["date.too_old"],
        10: ["choice.unknown"], 11: ["number.negative", "number.unreadable"],
        12: ["coords.partial"], 13: ["coords.swapped"], 14: ["point.outside"],
        15: ["commune.ambiguous"], 16: ["commune.unknown_name"],
        17: ["commune.unknown_code"], 18: ["required.missing"], 19: ["required.missing"],
        20: ["commune.missing"], 22: ["commune.unknown_code"],
    } | {11: sorted(reasons[11])} and sorted(reasons[11]) == ["number.negative",
                                                              "number.unreadable"]
    table = report.reject_table("vi").set_index("row_number")
    assert table.loc[10, "suggestion"].startswith("tip")
    assert "Tân Bình" in table.loc[15, "reason_text"] and "Huyện Tân Biên" in \
        table.loc[15, "reason_text"]
    assert "Lợi Thuận" in table.loc[16, "suggestion"]
    assert table.loc[13, "suggestion"].startswith("lat = ")
    assert "25459" in table.loc[22, "suggestion"] or "trước" in table.loc[22, "suggestion"]
    assert table.loc[7, "reason_text"] == "Ngày '31/02/2024' không tồn tại"

    stored = store.read("incidents").set_index("record_id")
    assert sorted(stored.index) == ["HS-001", "HS-002", "HS-003", "HS-004", "HS-005", "HS-020"]
    assert stored.loc["HS-001", "date"] == pd.Timestamp("2024-08-05")
    assert stored.loc["HS-002", "date"] == pd.Timestamp("2024-08-05")
    assert stored.loc["HS-020", "date"] == pd.Timestamp("2024-08-01")
    assert stored.loc["HS-001", "type"] == "illegal_crossing"
    assert stored.loc["HS-002", "type"] == "tip"
    assert stored.loc["HS-001", "status"] == "verified"
    assert stored.loc["HS-020", "status"] == "prosecuted"
    # Lợi Thuận (old 25699) is part of the 2025 commune Bến Cầu (25681).
    assert stored.loc["HS-001", ["old_code", "new_code"]].tolist() == ["25699", "25681"]
    assert stored.loc["HS-002", ["old_code", "new_code", "resolved_by"]].tolist() == \
        ["25699", "25681", "name"]
    assert stored.loc["HS-003", ["new_code", "resolved_by"]].tolist() == ["25681", "code"]
    assert stored.loc["HS-004", ["new_code", "resolved_by"]].tolist() == ["25681", "point"]
    assert stored.loc["HS-004", "lat"] == pytest.approx(float(messy_incidents.read_text(
        encoding="utf-8-sig").splitlines()[4].split(";")[6].replace(",", ".")))
    assert stored.loc["HS-001", "persons"] == 3
    # the victim was placed by its point, and the point was not kept
    assert stored.loc["HS-005", "new_code"] == "25681"
    assert pd.isna(stored.loc["HS-005", "lat"]) and pd.isna(stored.loc["HS-005", "lon"])
    assert any("victim" in n["en"] for n in report.notes)

    quarantine = store.quarantine(report.import_id)
    assert sorted(set(quarantine["row_number"])) == sorted(reasons)
    assert json.loads(quarantine.set_index("row_number").loc[7, "raw"])["record_id"] == "HS-006"
    imports = store.imports().set_index("id")
    assert imports.loc[report.import_id, "status"] == "committed"
    assert imports.loc[report.import_id, "checksum"] == report.checksum
    assert len(report.checksum) == 64

    rejects_file = pd.read_csv(report.rejects_file, encoding="utf-8-sig", dtype=str)
    assert len(rejects_file) == len(report.rejects)
    assert set(rejects_file["Dòng (row)"].astype(int)) == set(reasons)


def test_reimport_is_a_no_op(messy_incidents, store, places):
    first = _run(messy_incidents, "incidents", store, places)
    before = store.read("incidents")
    again = _run(messy_incidents, "incidents", store, places)
    assert again.accepted == 0
    assert again.duplicates == first.accepted
    assert again.rejected == first.rejected
    pd.testing.assert_frame_equal(store.read("incidents"), before)


def test_same_id_other_content_is_a_conflict(tmp_path, store, places):
    header = "record_id,date,type,commune_code\n"
    first = _csv(tmp_path / "a.csv", header + "A1,01/02/2024,tip,25699\nA2,01/02/2024,tip,25699\n")
    _run(first, "incidents", store, places)
    second = _csv(tmp_path / "b.csv", header +
                  "A1,01/02/2024,tip,25699\n"            # same: skipped
                  "A2,02/02/2024,tip,25699\n"            # other date: conflict with the store
                  "A3,03/02/2024,tip,25699\n"            # new
                  "A3,03/02/2024,tip,25699\n"            # same again in the file: skipped
                  "A3,04/02/2024,tip,25699\n")           # other content in the file: conflict
    report = _run(second, "incidents", store, places)
    assert (report.accepted, report.duplicates, report.rejected) == (1, 2, 2)
    assert _reasons(report) == {3: ["duplicate.conflict"], 6: ["duplicate.in_file"]}
    assert store.read("incidents").set_index("record_id").loc["A2", "date"] == \
        pd.Timestamp("2024-02-01")
    # record ids are unique within a source: another agency may use the same id
    other = _run(second, "incidents", store, places, source="BĐBP")
    assert (other.accepted, other.rejected) == (3, 1)


def test_strict_refuses_the_whole_file(messy_incidents, store, places):
    report = _run(messy_incidents, "incidents", store, places, strict=True)
    assert report.status == "refused"
    assert store.count("incidents") == 0
    assert store.imports().iloc[-1]["status"] == "refused"
    assert len(store.quarantine(report.import_id)) == len(report.rejects)
    assert any("strict" in n["en"] for n in report.notes)


def test_preview_writes_nothing(messy_incidents, store, places):
    report = _run(messy_incidents, "incidents", store, places, preview=True)
    assert (report.status, report.accepted, report.rejected) == ("preview", 6, 15)
    assert report.import_id is None
    assert len(report.sample) == 6
    assert store.count("incidents") == 0 and store.imports().empty and store.quarantine().empty


@pytest.mark.parametrize("header", ["Họ tên nạn nhân", "Số điện thoại", "CCCD", "Ngày sinh",
                                    "Địa chỉ thường trú", "full name"])
def test_personal_data_columns_refuse_the_file(tmp_path, store, places, header):
    path = _csv(tmp_path / "pii.csv", f"record_id,date,type,commune_code,{header}\n"
                "P1,01/02/2024,victim,25699,x\n")
    with pytest.raises(FileRefused) as err:
        _run(path, "incidents", store, places)
    assert err.value.code == "file.personal_data"
    assert header in err.value.describe("vi")
    assert store.count("incidents") == 0 and store.imports().empty


def test_phone_numbers_in_an_unnamed_column_refuse_the_file(tmp_path, store, places):
    path = _csv(tmp_path / "pii.csv", "record_id,date,type,commune_code,ghi chu\n"
                "P1,01/02/2024,tip,25699,0912 345 678\nP2,01/02/2024,tip,25699,0987654321\n")
    with pytest.raises(FileRefused) as err:
        _run(path, "incidents", store, places)
    assert err.value.code == "file.personal_data" and "ghi chu" in str(err.value)


def test_failure_midway_leaves_the_store_as_it_was(tmp_path, store, places):
    """A problem found in a later chunk undoes the rows of the earlier chunks."""
    good = _csv(tmp_path / "ok.csv", "record_id,date,type,commune_code\nK1,01/02/2024,tip,25699\n")
    _run(good, "incidents", store, places)
    before = (store.read("incidents"), store.imports(), store.quarantine())
    lines = [f"M{i},01/02/2024,tip,25699," for i in range(12)] + \
            [f"M{i},01/02/2024,tip,25699,09123456{i:02d}" for i in range(12, 20)]
    path = _csv(tmp_path / "late.csv", "record_id,date,type,commune_code,extra\n" +
                "\n".join(lines) + "\n")
    with pytest.raises(FileRefused):
        _run(path, "incidents", store, places, chunk_rows=5)
    after = (store.read("incidents"), store.imports(), store.quarantine())
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_file_level_refusals(tmp_path, store, places):
    cases = {
        "missing.csv": ("record_id,type,commune_code\nX,tip,25699\n", "file.missing_columns"),
        "nocommune.csv": ("record_id,date,type\nX,01/02/2024,tip\n", "file.no_commune_column"),
        "empty.csv": ("record_id,date,type,commune_code\n", "file.empty"),
        "twice.csv": ("record_id,date,Ngày,type,commune_code\nX,1/2/2024,1/2/2024,tip,25699\n",
                      "file.duplicate_columns"),
        "data.ods": ("x", "file.format"),
    }
    for name, (text, code) in cases.items():
        path = _csv(tmp_path / name, text)
        with pytest.raises(FileRefused) as err:
            _run(path, "incidents", store, places)
        assert err.value.code == code, name
    latin = tmp_path / "cp1258.csv"
    # what Excel's plain "CSV" writes on a Windows machine: a legacy code page, not UTF-8
    latin.write_bytes("record_id,date,type,commune\nX,01/02/2024,tip,Xã Tân Bình\n"
                      .encode("cp1252"))
    with pytest.raises(FileRefused) as err:
        _run(latin, "incidents", store, places)
    assert err.value.code == "file.unreadable" and "UTF-8" in str(err.value)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(FileRefused):
        _run(broken, "incidents", store, places)
    assert store.count("incidents") == 0 and store.imports().empty


def test_unknown_columns_are_reported_not_stored(tmp_path, store, places):
    path = _csv(tmp_path / "x.csv", "record_id,date,type,commune_code,Ghi chú nội bộ\n"
                "U1,01/02/2024,tip,25699,xem lại\n", bom=False)
    report = _run(path, "incidents", store, places)
    assert report.unknown_columns == ("Ghi chú nội bộ",)
    assert report.accepted == 1
    assert "xem lại" not in store.read("incidents").to_string()


def test_xlsx_with_excel_dates_and_numeric_codes(tmp_path, store, places):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Mã hồ sơ", "Ngày", "Loại", "Mã xã", "Số đối tượng"])
    sheet.append(["X1", dt.datetime(2024, 8, 5), "Vụ mua bán người", 25699, 2])
    sheet.append(["X2", dt.date(2025, 9, 1), "tip", 25681.0, None])
    sheet.append([None, None, None, None, None])
    sheet.append(["X3", "30/02/2025", "tip", 25681, 1])
    path = tmp_path / "vu_viec.xlsx"
    book.save(path)
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (2, 1)
    assert _reasons(report) == {5: ["date.impossible"]}
    stored = store.read("incidents").set_index("record_id")
    assert stored.loc["X1", ["date", "type", "new_code"]].tolist() == \
        [pd.Timestamp("2024-08-05"), "trafficking_case", "25681"]
    assert stored.loc["X2", "old_code"] is not None


def test_geojson_points(tmp_path, store, places, inside):
    lat, lon = inside["2025:25702"]
    features = [
        {"type": "Feature", "properties": {"record_id": "G1", "date": "01/10/2025",
                                           "type": "illegal_crossing"},
         "geometry": {"type": "Point", "coordinates": [lon, lat]}},
        {"type": "Feature", "properties": {"record_id": "G2", "date": "02/10/2025",
                                           "type": "tip"},
         "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat],
                                                          [lon, lat + 0.01], [lon, lat]]]}},
    ]
    path = tmp_path / "diem.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (1, 1)
    assert _reasons(report)[2] == ["geometry.not_point"]
    stored = store.read("incidents").set_index("record_id")
    assert stored.loc["G1", "new_code"] == "25702"
    assert stored.loc["G1", ["lat", "lon"]].tolist() == pytest.approx([lat, lon])


def test_models_outreach_population(tmp_path, store, places):
    models = _csv(tmp_path / "mo_hinh.csv",
                  "Mã hồ sơ,Mã xã,Loại mô hình,Phân loại,Ngày bắt đầu,Ngày kết thúc,Đơn vị\n"
                  "M1,25681,Zalo phòng chống tội phạm,Chuyên sâu,01/09/2025,,Công an tỉnh\n"
                  "M2,25699,camera giam sat,lồng ghép,01/03/2023,01/03/2024,Công an xã\n"
                  "M3,25681,camera,integrated,01/09/2025,01/08/2025,\n"
                  "M4,25681,đội bóng,integrated,01/09/2025,,\n"
                  "M5,25681,camera,integrated,01/09/2025,31/12/2030,\n")
    report = _run(models, "models", store, places)
    assert (report.accepted, report.rejected) == (3, 2)
    assert _reasons(report) == {4: ["date.end_before_start"], 5: ["choice.unknown"]}
    stored = store.read("models").set_index("record_id")
    assert stored.loc["M1", ["model_type", "model_class", "new_code"]].tolist() == \
        ["zalo_group", "intensive", "25681"]
    assert stored.loc["M2", ["model_type", "model_class", "old_code", "new_code"]].tolist() == \
        ["security_camera", "integrated", "25699", "25681"]
    assert stored.loc["M2", "end_date"] == pd.Timestamp("2024-03-01")
    assert pd.isna(stored.loc["M1", "end_date"])
    assert stored.loc["M5", "end_date"] == pd.Timestamp("2030-12-31")  # planned end: accepted

    outreach = _csv(tmp_path / "truyen_thong.csv",
                    "Mã hồ sơ;Ngày;Xã/Phường;Hình thức;Số người tham dự;Số tài liệu;Đơn vị\n"
                    "O1;30/07/2024;Xã Lợi Thuận;Hội nghị;1.835;200;Hội LHPN\n"
                    "O2;30/07/2025;Xã Bến Cầu;tờ rơi;;28.000;Đoàn TN\n"
                    "O3;30/07/2025;Xã Bến Cầu;tờ rơi;-5;;\n")
    report = _run(outreach, "outreach", store, places)
    assert (report.accepted, report.rejected) == (2, 1)
    stored = store.read("outreach").set_index("record_id")
    assert stored.loc["O1", ["participants", "format", "new_code"]].tolist() == \
        [1835, "meeting", "25681"]
    assert stored.loc["O2", "materials"] == 28000

    population = _csv(tmp_path / "dan_so.csv",
                      "Mã xã,Năm,Dân số,Dân số 14-60 tuổi\n"
                      "25681,2024,41.250,27.000\n"
                      "Xã Long Thuận,2024,20000,\n"
                      "25681,2030,41000,\n"
                      "25702,2024,1000,2000\n")
    report = _run(population, "population", store, places)
    assert (report.accepted, report.rejected) == (2, 2)
    assert _reasons(report) == {4: ["date.future"], 5: ["population.subset"]}
    stored = store.read("population").set_index("record_id")
    assert stored.loc["25681-2024", ["population", "population_14_60"]].tolist() == \
        [41250, 27000]
    again = _run(population, "population", store, places)
    assert (again.accepted, again.duplicates) == (0, 2)


def test_real_records_replace_the_synthetic_demo(tmp_path, store, places):
    demo = _csv(tmp_path / "demo.csv", "record_id,date,type,commune_code\nD1,01/02/2024,tip,25699\n")
    _run(demo, "incidents", store, places, source=DEMO_SOURCE)
    assert store.sources() == {DEMO_SOURCE: 1}
    real = _csv(tmp_path / "real.csv", "record_id,date,type,commune_code\nR1,01/02/2024,tip,25699\n")
    report = _run(real, "incidents", store, places, source="Công an tỉnh")
    assert store.sources() == {"Công an tỉnh": 1}
    assert any("synthetic demo records" in n["en"] for n in report.notes)


def test_before_commit_runs_inside_the_transaction_and_can_undo_it(tmp_path, store, places):
    """The dashboard claims the source and closes the demo accounts there: never in a
    preview, and an error in it leaves the store as it was (the demo included)."""
    demo = _csv(tmp_path / "demo.csv", "record_id,date,type,commune_code\nD1,01/02/2024,tip,25699\n")
    _run(demo, "incidents", store, places, source=DEMO_SOURCE)
    real = _csv(tmp_path / "real.csv", "record_id,date,type,commune_code\nR1,01/02/2024,tip,25699\n")
    seen = []
    report = _run(real, "incidents", store, places, source="BĐBP", preview=True,
                  before_commit=seen.append)
    assert seen == [] and report.status == "preview"
    assert any(n.get("code") == "demo_replaced" for n in report.notes)

    def fail(report):
        seen.append((report.status, report.accepted))
        raise RuntimeError("accounts file locked")

    with pytest.raises(RuntimeError, match="accounts file locked"):
        _run(real, "incidents", store, places, source="BĐBP", before_commit=fail)
    assert seen == [("committed", 1)]
    assert store.sources() == {DEMO_SOURCE: 1}  # nothing written, the demo still there
    assert store.imports()["source"].tolist() == [DEMO_SOURCE]
    report = _run(real, "incidents", store, places, source="BĐBP", before_commit=seen.append)
    assert seen[-1] is report and report.status == "committed"
    assert store.sources() == {"BĐBP": 1}


def test_the_demo_stays_when_a_real_import_is_refused_or_brings_nothing(tmp_path, store, places):
    demo = _csv(tmp_path / "demo.csv", "record_id,date,type,commune_code\nD1,01/02/2024,tip,25699\n")
    _run(demo, "incidents", store, places, source=DEMO_SOURCE)
    bad = _csv(tmp_path / "bad.csv", "record_id,date,type,commune_code\n"
                                     "R1,01/02/2024,tip,25699\nR2,31/02/2024,tip,25699\n")
    report = _run(bad, "incidents", store, places, source="BĐBP", strict=True)
    assert report.status == "refused" and store.sources() == {DEMO_SOURCE: 1}
    assert not any(n.get("code") == "demo_replaced" for n in report.notes)
    none = _csv(tmp_path / "none.csv", "record_id,date,type,commune_code\nR2,31/02/2024,tip,25699\n")
    report = _run(none, "incidents", store, places, source="BĐBP")
    assert (report.status, report.accepted) == ("committed", 0)
    assert store.sources() == {DEMO_SOURCE: 1}


def test_messages_exist_in_both_languages():
    from geo.ingest.messages import MESSAGES

    for code, texts in MESSAGES.items():
        assert set(texts) == {"vi", "en"}, code


def test_a_corrected_rejects_file_imports_as_it_is(messy_incidents, store, places, tmp_path):
    """The rejects file's bilingual headers are read back; fixing a value makes the row pass."""
    report = _run(messy_incidents, "incidents", store, places, rejects_dir=tmp_path / "rej")
    rejected = pd.read_csv(report.rejects_file, encoding="utf-8-sig", dtype=str)
    row = json.loads(rejected.set_index("Dòng (row)").loc["7", "Dòng gốc (raw)"])
    row["date"] = "28/02/2024"
    fixed = pd.DataFrame([row]).rename(columns={"record_id": "Mã hồ sơ (record_id)",
                                                "date": "Ngày (date)"})
    path = tmp_path / "sua.csv"
    fixed.to_csv(path, index=False, encoding="utf-8-sig")
    again = _run(path, "incidents", store, places)
    assert (again.accepted, again.rejected) == (1, 0)
    assert store.read("incidents").set_index("record_id").loc["HS-006", "date"] == \
        pd.Timestamp("2024-02-28")


def test_geopackage_in_vn2000_gets_the_datum_shift(tmp_path, store, places, inside):
    """A GeoPackage of points in VN-2000 / TM-3 105°30' lands where the WGS84 point is."""
    import geopandas as gpd
    import shapely

    from geo.projections import resolve_crs

    lat, lon = inside["2025:25702"]
    vn2000 = resolve_crs("VN2000-TM3-105.5")
    points = gpd.GeoDataFrame(
        {"record_id": ["V1"], "date": ["01/10/2025"], "type": ["tip"]},
        geometry=[shapely.Point(lon, lat)], crs="EPSG:4326",
    ).to_crs(vn2000)
    path = tmp_path / "diem.gpkg"
    points.to_file(path, driver="GPKG")
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (1, 0)
    stored = store.read("incidents").set_index("record_id")
    assert stored.loc["V1", "new_code"] == "25702"
    # back within centimetres: the 7-parameter shift was applied both ways
    assert stored.loc["V1", "lat"] == pytest.approx(lat, abs=1e-6)
    assert stored.loc["V1", "lon"] == pytest.approx(lon, abs=1e-6)


def test_a_2025_code_with_a_point_in_another_commune_is_refused(tmp_path, store, places, inside):
    """Issue 14: the code names Xã Tân Lập (25489), the point lies in the former commune
    Lợi Thuận (25699), part of Xã Bến Cầu (25681), tens of km away: the two cannot both
    hold, so the row is refused naming both; the same point under Bến Cầu's own code or
    alone is accepted, its former commune inside its 2025 commune."""
    lat, lon = inside["legacy:25699"]
    path = _csv(tmp_path / "tin_bao.csv", (
        "record_id,date,type,commune_code,commune,lat,lon\n"
        f"T1,01/10/2025,tip,25489,,{lat},{lon}\n"
        f"T2,01/10/2025,tip,,Xã Tân Lập,{lat},{lon}\n"
        f"T3,01/10/2025,tip,25681,,{lat},{lon}\n"
        f"T4,01/10/2025,tip,,,{lat},{lon}\n"))
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (2, 2)
    assert _reasons(report) == {2: ["commune.point_elsewhere"], 3: ["commune.point_elsewhere"]}
    table = report.reject_table("en").set_index("row_number")
    assert (table.loc[2, "column_name"], table.loc[2, "value"]) == ("commune_code", "25489")
    assert (table.loc[3, "column_name"], table.loc[3, "value"]) == ("commune", "Xã Tân Lập")
    text = table.loc[2, "reason_text"]
    assert text.startswith("the record names Xã Tân Lập (25489) but its point")
    assert "Xã Lợi Thuận (25699)" in text and "Xã Bến Cầu (25681)" in text
    vi = report.reject_table("vi").set_index("row_number").loc[2, "reason_text"]
    assert vi.startswith("Hồ sơ ghi Xã Tân Lập (25489)") and "Xã Bến Cầu (25681)" in vi
    assert "25681" in table.loc[2, "suggestion"]
    stored = store.read("incidents").set_index("record_id")
    assert sorted(stored.index) == ["T3", "T4"]
    assert stored[["old_code", "new_code"]].values.tolist() == [["25699", "25681"]] * 2
    strict = _run(path, "incidents", store, places, strict=True)
    assert strict.status == "refused"


def test_a_second_process_gives_the_same_outcome(tmp_path, messy_incidents, places):
    """Parsing a chunk ahead in a second process (large files) changes nothing: the same
    records, rejects, reasons, duplicates and conflicts (within a chunk and across chunks),
    byte for byte in the store."""
    from geo.store import open_store

    rows = messy_incidents.read_text(encoding="utf-8-sig").splitlines()
    # repeats: the same row again (a duplicate) and other content under a kept id (a conflict)
    path = _csv(tmp_path / "repeats.csv", "\n".join(rows + rows[1:4] + [
        rows[1].replace("05/08/2024", "06/08/2024"), rows[3].replace("tip", "victim"),
        "HS-900;01/02/2024;tip;25699;;;;;;;;", "HS-901;01/02/2024;tip;25699;;;;;;;;",
        "HS-901;02/02/2024;tip;25699;;;;;;;;"]) + "\n")
    outcomes = []
    for parallel in (False, True):
        with open_store(Settings(data_dir=tmp_path / f"store-{parallel}")) as store:
            report = _run(path, "incidents", store, places, chunk_rows=4, parallel=parallel)
            again = _run(path, "incidents", store, places, chunk_rows=7, parallel=parallel)
            outcomes.append((report.to_dict("en"), again.to_dict("en"),
                             report.sample.astype(str).to_dict("records"),
                             store.read("incidents"), store.quarantine()))
    sequential, ahead = outcomes
    first, again = sequential[0], sequential[1]
    assert (first["accepted"], first["duplicates"]) == (8, 3)
    # rows 26, 27 meet rows of earlier chunks (already written), row 30 row 29 of its chunk
    assert [(r["row"], r["reason"]) for r in first["rejects"] if "duplicate" in r["reason"]] \
        == [(26, "duplicate.conflict"), (27, "duplicate.conflict"), (30, "duplicate.in_file")]
    assert (again["accepted"], again["duplicates"]) == (0, first["accepted"] + 3)
    for one, other in zip(sequential, ahead, strict=True):
        if isinstance(one, pd.DataFrame):
            pd.testing.assert_frame_equal(one, other)
        else:
            assert one == other


def test_a_refusal_found_by_the_second_process_leaves_the_store_as_it_was(tmp_path, store,
                                                                          places):
    good = _csv(tmp_path / "ok.csv", "record_id,date,type,commune_code\nK1,01/02/2024,tip,25699\n")
    _run(good, "incidents", store, places)
    before = (store.read("incidents"), store.imports(), store.quarantine())
    lines = [f"M{i},01/02/2024,tip,25699," for i in range(12)] + \
            [f"M{i},01/02/2024,tip,25699,09123456{i:02d}" for i in range(12, 20)]
    path = _csv(tmp_path / "late.csv", "record_id,date,type,commune_code,extra\n" +
                "\n".join(lines) + "\n")
    with pytest.raises(FileRefused) as err:
        _run(path, "incidents", store, places, chunk_rows=5, parallel=True)
    assert err.value.code == "file.personal_data" and "extra" in str(err.value)
    after = (store.read("incidents"), store.imports(), store.quarantine())
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(a, b)


# -- boundaries that hold communes the registry does not list ---------------------------

#: A box in Tây Ninh (2025 Xã Bến Cầu 25681; former Xã Lợi Thuận 25699 west, Thị trấn
#: Bến Cầu 25681 east) and one in Hà Nội's centre, whose codes the registry lacks.
_TAY_NINH = (106.0, 11.0, 106.2, 11.2)
_HA_NOI = (105.80, 21.00, 105.86, 21.05)


def _places_beyond_the_registry(case: str) -> Places:
    """Boundaries with one Hà Nội commune in each unit set, and the registry that leaves it
    out: "one_province" is Tây Ninh's registry under boundaries of two provinces (Hà Nội's
    2025 Phường Ba Đình 00004, former Phường Phúc Xá 00001); "unlisted_code" is the registry
    the app chooses (:func:`geo.units.registry_covering`) for boundaries that name Phường
    Cửa Nam by the code of ``vietnam-provinces`` (00073), which ``vietnamadminunits``, the
    registry's source, gives as 00082 (former Phường Tràng Tiền 00079)."""
    import geopandas as gpd
    from shapely.geometry import box

    from geo.units import load_registry, registry_covering

    new_hn, old_hn = {"one_province": ("00004", "00001"),
                      "unlisted_code": ("00073", "00079")}[case]
    tn, hn = box(*_TAY_NINH), box(*_HA_NOI)
    west, east = box(106.0, 11.0, 106.1, 11.2), box(106.1, 11.0, 106.2, 11.2)

    def frame(codes, shapes):
        return gpd.GeoDataFrame({"name": codes}, geometry=shapes, crs="EPSG:4326",
                                index=pd.Index(codes, name="code"))

    new = frame(["25681", new_hn], [tn, hn])
    old = frame(["25699", "25681", old_hn], [west, east, hn])
    registry = load_registry() if case == "one_province" else registry_covering(new.index)
    assert new_hn not in registry.communes.index and old_hn not in registry.legacy.index
    return Places.of(registry, new, old, gpd.GeoDataFrame(geometry=[tn.union(hn)],
                                                          crs="EPSG:4326"))


@pytest.mark.parametrize("case", ["one_province", "unlisted_code"])
def test_a_point_in_a_commune_the_registry_does_not_list_is_a_rejected_row(tmp_path, store,
                                                                           case):
    """A point that lies in a commune of the boundaries which the registry does not list
    cannot be placed: the row is rejected with that reason (before: a record of the former
    units raised sqlite's IntegrityError "NOT NULL constraint failed: incidents.new_code"
    and lost the whole file's report, a 2025 record coded by the point was stored under a
    code no registry knows, and a coded record whose point lay there raised KeyError); the
    other rows are imported, and strict mode refuses the file whole."""
    places = _places_beyond_the_registry(case)
    hn = "21.02,105.83"
    path = _csv(tmp_path / "ngoai_danh_muc.csv", (
        "record_id,date,type,commune_code,lat,lon\n"
        f"U1,01/03/2024,tip,,{hn}\n"          # former units, placed by the point alone
        f"U2,01/09/2025,tip,,{hn}\n"          # 2025 units, placed by the point alone
        f"U3,01/09/2025,tip,25681,{hn}\n"     # a known code, its point far off in Hà Nội
        "U4,01/09/2025,tip,25681,11.1,106.15\n"
        "U5,01/03/2024,tip,,11.1,106.05\n"))
    report = _run(path, "incidents", store, places, rejects_dir=tmp_path / "rej")
    assert (report.status, report.rows_read, report.accepted, report.rejected) == \
        ("committed", 5, 2, 3)
    assert _reasons(report) == {2: ["commune.not_in_registry"], 3: ["commune.not_in_registry"],
                                4: ["commune.point_not_in_registry"]}
    table = report.reject_table("en").set_index("row_number")
    old_hn, new_hn = (places.communes_old.index[-1], places.communes_new.index[-1])
    assert table.loc[2, "reason_text"] == (
        f"point (21.02, 105.83) lies in unit {old_hn} of the communes before 01/07/2025 "
        "of the boundaries in use, a code the unit registry does not list, so the record "
        "cannot be placed: the boundaries and the registry disagree; tell the administrator")
    assert f"unit {new_hn} of the communes of 2025" in table.loc[3, "reason_text"]
    assert table.loc[4, "reason_text"] == (
        "the record names Xã Bến Cầu (25681) but its point (21.02, 105.83) lies far from it, "
        f"in unit {old_hn} of the communes before 01/07/2025 of the boundaries in use, a code "
        "the unit registry does not list: correct the commune or the point; if both are "
        "right, the boundaries and the registry disagree; tell the administrator")
    assert (table.loc[2, "column_name"], table.loc[2, "value"]) == ("lat", "21.02, 105.83")
    assert (table.loc[4, "column_name"], table.loc[4, "value"]) == ("commune_code", "25681")
    vi = report.reject_table("vi").set_index("row_number")
    assert vi.loc[2, "reason_text"].startswith(
        f"Điểm (21.02, 105.83) nằm trong đơn vị mã {old_hn} thuộc các xã, phường, thị trấn "
        "trước 01/7/2025 của ranh giới đang dùng")
    assert "danh mục đơn vị hành chính không có mã này" in vi.loc[2, "reason_text"]
    assert vi.loc[4, "reason_text"].startswith("Hồ sơ ghi Xã Bến Cầu (25681) nhưng điểm")
    lines = report.summary_lines("vi")
    assert any(line.startswith("  dòng 3 [lat]: Điểm (21.02, 105.83)") for line in lines)
    stored = store.read("incidents").set_index("record_id").sort_index()
    assert stored[["new_code", "old_code"]].values.tolist() == [["25681", "25681"],
                                                                 ["25681", "25699"]]
    assert store.quarantine()["row_number"].tolist() == [2, 3, 4]
    assert report.rejects_file.read_text(encoding="utf-8-sig").count("not_in_registry") == 3
    strict = _run(path, "incidents", store, places, strict=True, source="other")
    assert (strict.status, strict.accepted, strict.rejected) == ("refused", 2, 3)
    assert sorted(store.read("incidents")["record_id"]) == ["U4", "U5"]
