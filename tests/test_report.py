"""The committee's quarterly report: the PDF read back page by page, the CLI, the quarters."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata

import pytest
from pypdf import PdfReader

from dashboard.analysis import Analyses
from dashboard.cli import main
from dashboard.context import build_context
from dashboard.exports.report import (
    PRIORITY_TOP,
    quarter_label,
    quarterly_report,
    report_html,
    report_title,
)
from dashboard.i18n import format_date, format_number, translate
from layers.counts import INCIDENT_TYPES
from layers.gaps import priority_list
from tests.browser import blank_fraction
from tests.cache import PLAN_CACHE, demo_data

START, END = dt.date(2025, 7, 1), dt.date(2025, 9, 30)
DOCUMENT_DATE = dt.date(2026, 1, 15)
PAGES = 7  # cover + one page per section on the demo (the forecast: the commander's report)
#: Section titles: the changes are on the same period a year before (cùng kỳ năm trước).
SECTION_KEYS = {1: "report.s1", 2: "report.s2", 3: "report.s3", 4: "report.s4",
                5: "report.s5_yoy", 6: "report.s6"}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("report") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def an(ctx):
    return Analyses(ctx)


@pytest.fixture(scope="module")
def pdf(ctx, an) -> bytes:
    """The Vietnamese report of Q3 2025, built once for the module."""
    return quarterly_report(ctx, an, start=START, end=END, document_date=DOCUMENT_DATE)


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    return [_text(page) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def cli_run(ctx, tmp_path_factory):
    """``borderwatch --lang en report --quarter 2025Q3``: the README's command, in English."""
    out = tmp_path_factory.mktemp("cli") / "nested" / "report_2025Q3.pdf"
    code = main(["--data-dir", str(ctx.settings.data_dir), "--lang", "en", "report",
                 "--quarter", "2025Q3", "--out", str(out)])
    return code, out


def _text(page) -> str:
    """A page's text with ligatures undone and every run of white space one space."""
    return " ".join(unicodedata.normalize("NFKC", page.extract_text()).split())


def _squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- the PDF


def test_seven_pages_each_with_page_number_date_and_caveats(pdf, pages):
    assert pdf.startswith(b"%PDF-")
    assert len(pages) == PAGES
    for number, text in enumerate(pages, start=1):
        assert f"Trang {number}/{PAGES}" in text
        assert "Ngày lập báo cáo: 15/01/2026" in text
        assert translate("caveat.synthetic") in text
        assert _squash(translate("caveat.approximate_boundaries")) in text
        assert "Báo cáo quý III/2025" in text  # the footer names the document


def test_cover_names_period_units_date_source_and_summary(ctx, an, pages):
    cover = pages[0]
    assert "Báo cáo quý III/2025" in cover
    assert "Kỳ báo cáo: 01/07/2025 – 30/09/2025" in cover
    assert "Phục vụ Ban Chỉ đạo 138 tỉnh Tây Ninh" in cover
    assert translate("units.2025") in cover
    assert (f"Nguồn dữ liệu: {translate('caveat.synthetic')} · "
            f"Trích xuất: {format_date(ctx.extracted)}") in cover
    change = an.layer("change", unit_set="2025", types=INCIDENT_TYPES, start=START, end=END)
    total, before = change.params["total"], change.params["total_other"]
    assert total > before > 0  # the demo's campaign quarter against the one a year before
    assert (f"Tổng số vụ việc trong kỳ: {total} (cùng kỳ năm trước: {before}; chênh lệch "
            f"+{total - before}, tăng có ý nghĩa)") in cover
    for number in range(1, 7):
        assert translate(SECTION_KEYS[number]) in cover  # the contents


def test_each_section_opens_its_own_page(pages):
    for number in range(1, 7):
        assert pages[number].startswith(translate(SECTION_KEYS[number]))
    assert any(p.startswith("5. Thay đổi so với cùng kỳ năm trước") for p in pages)


def test_hotspot_page_counts_classes_as_the_gi_layer_does(an, pages):
    gi = an.layer("gi", unit_set="2025", types=INCIDENT_TYPES, start=START, end=END)
    classes = gi.frame["gi_class"]
    hot = int(classes.str.startswith("hot").sum())
    cold = int(classes.str.startswith("cold").sum())
    ns = int((classes == "not_significant").sum())
    assert hot + cold + ns == 96 and cold > 0
    assert f"Kết quả: {hot} điểm nóng" in pages[1]
    assert f"{cold} điểm lạnh" in pages[1] and f"{ns} xã, phường không có ý nghĩa" in pages[1]
    assert gi.params["inference"] == "exact"  # counts: exact p-values, no permutation count
    assert "chính xác" in pages[1] and "9.999 hoán vị" not in pages[1]
    for name in gi.frame.loc[classes.str.startswith("cold"), "name"]:
        assert name in pages[1]


def test_coverage_page_gives_the_models_and_outreach_of_the_layers(an, pages):
    cov = an.planner_layer("coverage", unit_set="2025", start=START, end=END).params
    reach = an.planner_layer("reach", unit_set="2025", start=START, end=END).params["province"]
    assert (f"Ngày 30/09/2025 có {cov['total']} mô hình phòng ngừa đang hoạt động tại "
            f"{cov['n_with_model']}/96 xã, phường") in pages[2]
    assert f"{cov['n_without_model']} xã, phường chưa có mô hình nào" in pages[2]
    participants = f"{reach['participants']:,}".replace(",", ".")
    assert f"{reach['events']} hoạt động truyền thông, {participants} lượt người" in pages[2]


def test_the_two_maps_are_embedded_images_that_are_not_blank(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    assert pdf.count(b"/Subtype /Image") >= 2
    for index in (1, 2):  # the hot-spot map, the risk × coverage map
        (image,) = reader.pages[index].images
        assert image.image.size == (1754, 1240)  # A4 landscape at about 150 dpi
        png = io.BytesIO()
        image.image.convert("RGB").save(png, format="PNG")
        assert blank_fraction(png.getvalue()) < 0.9
    assert not reader.pages[0].images


def test_kpi_page_lists_every_indicator_with_its_status(an, pages):
    now, _ = an.kpis(start=START, end=END)
    page = pages[3]
    for row in now.itertuples():
        assert _squash(row.label_vi) in page
    statuses = now["status"].value_counts()
    assert statuses.get("met", 0) and statuses.get("behind", 0)
    assert page.count(translate("status.met")) >= statuses["met"]
    assert "≥ 90,0 %" in page  # 470/KH-UBND: cases cleared above 90 %
    assert "470/KH-UBND" in page and "5116/KH-UBND" in page


def test_priority_page_follows_the_priority_list(an, pages):
    expected = priority_list(an.gap_evidence(unit_set="2025", start=START, end=END),
                             top=PRIORITY_TOP)
    page = pages[4]
    positions = [page.index(name) for name in expected["name"]]
    assert positions == sorted(positions), "in the list's order"
    assert f"{PRIORITY_TOP} xã, phường đầu danh sách" in page
    first = expected.iloc[0]
    assert translate(f"gap.{first['risk']}.{first['coverage']}") in page
    assert f"Ưu tiên hàng đầu: {expected['name'].iloc[0]}" in pages[0]


def test_changes_page_counts_types_and_names_the_largest_rises(an, pages):
    page = next(p for p in pages if p.startswith(translate(SECTION_KEYS[5])))
    assert "với cùng kỳ năm trước (01/07/2024 – 30/09/2024)" in page  # Q3 of the year before
    assert "01/04/2025 – 30/06/2025" not in page  # not the quarter before (the season)
    for kind in INCIDENT_TYPES:
        layer = an.layer("change", unit_set="2025", types=(kind,), start=START, end=END)
        now, before = layer.params["total"], layer.params["total_other"]
        diff = f"+{now - before}" if now > before else str(now - before)
        assert f"{translate(f'type.{kind}')} {now} {before} {diff}" in page
    change = an.layer("change", unit_set="2025", types=INCIDENT_TYPES, start=START, end=END)
    top = change.frame.sort_values(["change", "count"], ascending=False, kind="stable").iloc[0]
    assert (f"{top['name']} {top['count']} {top['other']} +{int(top['change'])} "
            f"{translate(f'trend.{int(top.trend)}')}") in page
    # the communes' classes are corrected across communes, and the page says how
    frame, p = change.frame, change.params
    assert _squash(translate("report.change.counts_fdr", alpha="5", tests=str(p["n_tests"]),
                             threshold=format_number(p["fdr_threshold"], "vi", 4),
                             up=str(int((frame["trend"] == 1).sum())),
                             down=str(int((frame["trend"] == -1).sum())))) in page


# --------------------------------------------------------------------------- the HTML (no browser)


def test_former_communes_and_a_free_period(ctx, an):
    start, end = dt.date(2022, 1, 2), dt.date(2022, 2, 14)
    # the forecast section is not read here: not waited for (the others wait up to a minute)
    page = report_html(ctx, an, start=start, end=end, unit_set="old", lang="en",
                       document_date=DOCUMENT_DATE, forecast_wait=0)
    assert "<h1>Report for 02/01/2022 – 14/02/2022</h1>" in page
    assert translate("units.legacy", "en") in page
    # the same days of 2021 lie before the records: no comparison, never "no change"
    assert ("No records for the same period a year before (02/01/2021 – 14/02/2021): the "
            "records begin on 01/01/2022") in page
    assert "Incidents in the period: " in page and "no comparison" in page
    assert translate("trend.2", "en") in page and translate("trend.0", "en") not in page
    after = report_html(ctx, an, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31),
                        document_date=DOCUMENT_DATE, forecast_wait=0)
    assert "hồ sơ mới nhất trong dữ liệu là ngày 31/12/2025" in after
    assert "the latest record is of" not in page  # the period is inside the data
    with pytest.raises(ValueError, match="unit set"):
        report_html(ctx, an, start=start, end=end, unit_set="1999", document_date=DOCUMENT_DATE)
    with pytest.raises(ValueError, match="before it starts"):
        report_html(ctx, an, start=end, end=start, document_date=DOCUMENT_DATE)


# --------------------------------------------------------------------------- the command


def test_cli_writes_the_english_report(cli_run, capsys):
    code, out = cli_run
    assert code == 0
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    pages = [_text(p) for p in reader.pages]
    assert len(pages) == PAGES
    assert pages[0].startswith(translate("report.addressee", "en"))
    assert "Quarterly report, Q3 2025" in pages[0]
    assert "Period: 01/07/2025 – 30/09/2025" in pages[0]
    for number in range(1, 6):
        assert pages[number].startswith(translate(SECTION_KEYS[number], "en"))
    assert pages[1].startswith("1. Hot spots of incidents")
    assert pages[3].count("Trafficking cases cleared by investigation") == 1
    for number, text in enumerate(pages, start=1):
        assert f"Page {number}/{PAGES}" in text
        assert "Synthetic demo data – not real records" in text
        assert f"Date of the report: {format_date(dt.date.today())}" in text


def test_cli_refuses_a_bad_quarter_and_half_a_period(ctx, tmp_path, capsys):
    out = tmp_path / "r.pdf"
    base = ["--data-dir", str(ctx.settings.data_dir), "report", "--out", str(out)]
    assert main(base + ["--quarter", "2025Q5"]) == 2
    assert "quý không hợp lệ '2025Q5'" in capsys.readouterr().err
    assert main(base + ["--start", "2025-07-01"]) == 2
    assert "--start và --end" in capsys.readouterr().err
    assert main(base + ["--start", "2025-07-01", "--end", "31/02/2025"]) == 2
    assert "ngày không hợp lệ '31/02/2025'" in capsys.readouterr().err
    assert main(base + ["--start", "2025-09-30", "--end", "2025-07-01"]) == 2
    assert not out.exists()


# --------------------------------------------------------------------------- quarters


def test_quarters_are_named():
    assert (quarter_label("2025Q4"), quarter_label("2025Q4", "en")) == ("Quý IV/2025", "Q4 2025")
    assert report_title(START, END) == "Báo cáo quý III/2025"
    assert report_title(START, END, "en") == "Quarterly report, Q3 2025"
