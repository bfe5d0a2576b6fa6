"""The Standing Office's report as a Word document: layout, header, title, the results in the
seeds' words adding up to the records, LibreOffice, the viewer's release, the overview button."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil

import pandas as pd
import pytest
from docx import Document
from docx.shared import Mm

from dashboard.analysis import Analyses
from dashboard.cli import main
from dashboard.context import build_context
from dashboard.exports.report_docx import FONT, MARGINS_MM, report_docx
from dashboard.exports.report_text import report_period
from dashboard.released import analyses_for
from geo.config import Settings
from geo.kinds import OUTCOMES
from geo.store import open_store
from layers.counts import INCIDENT_TYPES
from tests.cache import PLAN_CACHE, demo_data

DOCUMENT_DATE = dt.date(2025, 1, 10)
YEAR = report_period(year=2024)
_COUNT = r"\d{1,3}(?:\.\d{3})+|\d+"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("docx") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def an(ctx):
    return Analyses(ctx)


@pytest.fixture(scope="module")
def raw(ctx, an) -> bytes:
    """The commander's report of 2024, with its two maps (drawn once for the module)."""
    return report_docx(ctx, an, period=YEAR, document_date=DOCUMENT_DATE, forecast_wait=None)


@pytest.fixture(scope="module")
def doc(raw):
    return Document(io.BytesIO(raw))


@pytest.fixture(scope="module")
def records(ctx) -> pd.DataFrame:
    """The incidents of 2024 counted straight from the store (not through any layer)."""
    with open_store(ctx.settings) as store:
        rows = store.read("incidents", ["date", "type", "persons", "victims", "status"])
    return rows[(rows["date"] >= "2024-01-01") & (rows["date"] <= "2024-12-31")]


def _paragraphs(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.strip()]


def _all_text(doc) -> str:
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join(_paragraphs(doc) + cells)


def _vi(n) -> str:
    """1753 → "1.753"."""
    return f"{int(n):,}".replace(",", ".")


def _counts(text: str) -> list[int]:
    return [int(n.replace(".", "")) for n in re.findall(_COUNT, text)]


def _results(doc) -> list[str]:
    """Section I's sentences on incidents (not the headings)."""
    return [p for p in _paragraphs(doc)
            if not re.match(r"\d\. ", p)
            and any(w in p for w in ("vụ mua bán người", "xuất, nhập cảnh trái phép",
                                     "tin báo, tố giác", "nạn nhân bị mua bán"))]


def _assert_no_small_count(texts) -> None:
    """Every count is 0 or at least 5 ("< 5" and "x" are labels; dates are not counts)."""
    for text in texts:
        text = re.sub(r"\d{2}/\d{2}/\d{4}", "", text.replace("< 5", ""))
        for n in _counts(text):
            assert n == 0 or n >= 5, text


def _paragraph(doc, words: str) -> str:
    found = [p for p in _paragraphs(doc) if words in p]
    assert len(found) == 1, f"{words!r}: {found}"
    return found[0]


# --------------------------------------------------------------------------- layout


def test_a4_portrait_with_decree_30_margins_and_times_new_roman(doc):
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    for side, mm in MARGINS_MM.items():
        assert round(getattr(section, f"{side}_margin").mm) == mm
    assert 20 <= MARGINS_MM["top"] <= 25 and 20 <= MARGINS_MM["bottom"] <= 25
    assert 30 <= MARGINS_MM["left"] <= 35 and 15 <= MARGINS_MM["right"] <= 20
    normal = doc.styles["Normal"]
    assert normal.font.name == FONT == "Times New Roman" and normal.font.size.pt == 14
    body = [r for p in doc.paragraphs for r in p.runs if r.text.strip()]
    assert all((r.font.name or FONT) == FONT for r in body)
    text = [r for r in body if not r.italic and set(r.text) != {"─"}]  # not notes, not rules
    assert len(text) > 20
    assert all(r.font.size is None or 13 <= r.font.size.pt <= 14 for r in text)


def test_header_block_two_borderless_columns(doc):
    header = doc.tables[0]
    assert len(header.columns) == 2
    left = [c.text for c in header.columns[0].cells]
    right = [c.text for c in header.columns[1].cells]
    assert left[0].startswith("BAN CHỈ ĐẠO 138 TỈNH TÂY NINH\nCƠ QUAN THƯỜNG TRỰC")
    assert right[0].startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")
    assert left[1] == "Số: …/BC-BCĐ138"  # the number is left blank to fill
    assert right[1] == "Tây Ninh, ngày 10 tháng 01 năm 2025"
    assert all(r.italic for r in header.cell(1, 1).paragraphs[0].runs)
    issuer = header.cell(0, 0).paragraphs
    assert issuer[1].runs[0].bold and not issuer[0].runs[0].bold  # the issuer itself in bold
    borders = header._tbl.tblPr.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblBorders")
    assert borders is not None and all(
        e.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val") == "nil"
        for e in borders)
    assert round(sum(c.width for c in header.columns) / Mm(1)) == 210 - 30 - 15


def test_title_names_the_period(doc, ctx, an):
    text = _paragraphs(doc)
    i = text.index("BÁO CÁO")
    assert text[i + 1] == "Kết quả công tác phòng, chống mua bán người năm 2024"
    assert all(r.bold for r in doc.paragraphs[[p.text for p in doc.paragraphs].index(
        "BÁO CÁO")].runs)
    assert "năm 2024 (từ ngày 01/01/2024 đến ngày 31/12/2024) như sau:" in _all_text(doc)
    assert any("Dữ liệu minh họa tổng hợp" in t for t in text)  # synthetic, said up front


# --------------------------------------------------------------------------- the results


def test_crossings_sentence_adds_up_to_the_records_of_the_period(doc, records):
    crossings = records[records["type"] == "illegal_crossing"]
    cases, persons = len(crossings), int(crossings["persons"].fillna(0).sum())
    text = _paragraph(doc, "có hành vi xuất, nhập cảnh trái phép")
    assert f"phát hiện, xử lý {_vi(cases)} vụ, {_vi(persons)} đối tượng" in text
    status = crossings["status"].fillna("")
    decided = [c for c in OUTCOMES["illegal_crossing"] if c != "verified"]
    parts = _counts(text.split("trái phép.", 1)[1])  # (cases, persons) of each part
    assert sum(parts[0::2]) == cases and sum(parts[1::2]) == persons
    if status.isin(decided).any():  # the records carry outcomes: seed 004's sentence
        assert "Qua đó, " in text
        for code, label in (("administrative_sanction", "xử lý hành chính"),
                            ("warning_education", "cảnh cáo, giáo dục"),
                            ("deportation", "trục xuất"), ("prosecuted", "khởi tố")):
            rows = crossings[status == code]
            if len(rows):
                figures = f"{_vi(len(rows))} vụ, {_vi(rows['persons'].fillna(0).sum())} đối tượng"
                assert f"{label} {figures}" in text
    else:  # no outcome recorded: the sentence says so, and invents none
        assert "Qua đó" not in text and "chưa ghi hình thức xử lý" in text


def test_trafficking_tips_and_victims_are_the_records(doc, records):
    for words, kind in (("vụ mua bán người", "trafficking_case"),
                        ("tin báo, tố giác", "tip"), ("nạn nhân bị mua bán trở về", "victim")):
        rows = records[records["type"] == kind]
        text = _paragraph(doc, words)
        assert _vi(len(rows)) in text
    trafficking = records[records["type"] == "trafficking_case"]
    text = _paragraph(doc, "vụ mua bán người")
    assert (f"{len(trafficking)} vụ mua bán người, {int(trafficking['persons'].sum())} đối "
            f"tượng, {int(trafficking['victims'].sum())} nạn nhân") in text
    stages = _counts(text.split("trong đó", 1)[1])
    assert sum(stages) == len(trafficking)
    victims = records[records["type"] == "victim"]
    text = _paragraph(doc, "nạn nhân bị mua bán trở về")
    assert f"{len(victims)} trường hợp với {int(victims['victims'].sum())} nạn nhân" in text


def test_outreach_per_agency_and_models_are_the_layers(doc, an):
    reach = an.planner_layer("reach", unit_set="2025", start=YEAR.start, end=YEAR.end).params
    for row in reach["by_agency"]:
        text = _paragraph(doc, row["agency"] + " ")
        assert text.endswith(".")
    province = reach["province"]
    assert f"{_vi(province['participants'])} lượt người tham dự" in _all_text(doc)
    coverage = an.planner_layer("coverage", unit_set="2025", start=YEAR.start,
                                end=YEAR.end).params
    text = _paragraph(doc, "toàn tỉnh có")
    assert text.startswith(f"Đến ngày 31/12/2024, toàn tỉnh có {coverage['total']} mô hình")
    assert f"tại {coverage['n_with_model']}/96 xã, phường" in text


def test_targets_maps_and_tables_of_the_committee_report(doc, an):
    now, _ = an.kpis(start=YEAR.start, end=YEAR.end)
    text = _all_text(doc)
    for label in now["label_vi"]:
        assert label in text
    assert len(doc.inline_shapes) == 2  # the hot-spot and the risk × coverage maps
    assert all(s.width > Mm(150) for s in doc.inline_shapes)
    assert "Cùng kỳ năm trước" in text and "Tổng cộng" in text  # the changes table


def test_numbers_and_dates_the_vietnamese_way(doc, records):
    text = _all_text(doc)
    persons = int(records.loc[records["type"] == "illegal_crossing", "persons"].sum())
    assert persons >= 1000 and _vi(persons) in text
    assert f"{persons:,}" not in text  # never 1,753
    dates = re.findall(r"\b\d{1,2}/\d{1,2}/\d{4}\b", text)
    assert dates and all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", d) for d in dates)


def test_priority_table_says_the_agency_of_the_latest_outreach(doc):
    """The column once headed "Đơn vị gần nhất" (read as the nearest agency) says what it
    holds: the agency that did the commune's most recent outreach."""
    (table,) = [t for t in doc.tables if t.rows[0].cells[0].text == "TT"]
    headers = [c.text for c in table.rows[0].cells]
    assert headers == ["TT", "Xã, phường", "Khoảng trống",
                       "Đơn vị thực hiện truyền thông gần đây nhất", "Lý do"]
    assert "Đơn vị gần nhất" not in _all_text(doc)


@pytest.fixture(scope="module")
def doc_en(ctx, an):
    return Document(io.BytesIO(report_docx(ctx, an, period=YEAR, document_date=DOCUMENT_DATE,
                                           maps=[], lang="en")))


def test_the_same_report_in_english_with_the_same_figures(doc, doc_en, records):
    """The catalogue holds the report's English: asked in English, the document says the
    same figures in English words and numbers (1,753), and no Vietnamese sentence is left."""
    text = _paragraphs(doc_en)
    assert text[text.index("REPORT") + 1] == (
        "Results of the prevention of and fight against human trafficking, the year 2024")
    header = doc_en.tables[0]
    assert header.cell(0, 1).text.startswith("SOCIALIST REPUBLIC OF VIETNAM")
    assert header.cell(1, 1).text == "Tây Ninh, 10/01/2025"
    crossings = records[records["type"] == "illegal_crossing"]
    cases, persons = len(crossings), int(crossings["persons"].fillna(0).sum())
    en = _all_text(doc_en)
    assert f"detected and handled {cases:,} cases, {persons:,} persons of illegal exit" in en
    assert _vi(persons) not in en
    from tests.test_i18n import _VIETNAMESE as vietnamese

    # the sentences of section I in English; only names from the data (agencies, communes,
    # model names) may carry Vietnamese letters
    i, j = text.index("I. RESULTS"), text.index("5. Results against the plan's targets")
    for paragraph in text[i:j]:
        if paragraph.startswith(("1.", "2.", "3.", "4.", "In ", "The authorities", "Received",
                                 "No ")):
            assert not vietnamese.search(paragraph.replace("Tây Ninh", "")), paragraph
    # the same counts, read each language's way, in section I
    vi_text = _paragraphs(doc)
    vi_i, vi_j = vi_text.index("I. KẾT QUẢ THỰC HIỆN"), vi_text.index(
        "5. Kết quả thực hiện các chỉ tiêu kế hoạch")
    vi_counts = [int(n.replace(".", "")) for p in vi_text[vi_i:vi_j]
                 for n in re.findall(_COUNT, p)]
    en_counts = [int(n.replace(",", "")) for p in text[i:j]
                 for n in re.findall(r"\d{1,3}(?:,\d{3})+|\d+", p)]
    assert sorted(vi_counts) == sorted(en_counts)


# LibreOffice converts the report once in this module (a cold start: 61 s on a loaded
# machine, measured 02/12/2026), through the overview's button
# (test_overview_downloads_the_word_report_as_pdf), which checks the commander's report with
# its two maps as a direct conversion of it did: A4 pages, at least four, the header's words;
# the command line's pdf-docx hands its document to the same conversion
# (test_cli_writes_the_word_report_as_pdf).


# --------------------------------------------------------------------------- below commander


def test_viewer_document_holds_no_count_below_five(ctx, an):
    view = analyses_for(an, "viewer", wait=600)
    period = report_period(quarter="2024Q3")
    doc = Document(io.BytesIO(report_docx(ctx, view, period=period, maps=[])))
    results = _results(doc)
    assert len(results) >= 4
    changes = next(t for t in doc.tables if t.cell(0, 0).text == "Loại vụ việc")
    cells = [c.text for row in changes.rows[1:] for c in row.cells[1:3]]
    _assert_no_small_count(results + cells)
    text = _all_text(doc)
    assert "đối tượng" not in " ".join(results[:3])  # persons and outcomes are not released
    assert "Tổng cộng" not in [row.cells[0].text for row in changes.rows]  # no all-types total
    assert "chỉ có trong báo cáo của chỉ huy" in text
    assert "Số từ 1 đến 4 được ẩn" in text


@pytest.fixture()
def drawn(monkeypatch) -> list[list]:
    """The figures of the maps the command line asks Chromium to draw, answered with a
    plain PNG each: the drawing itself (kaleido, Chromium) is tested by the commander's
    report above and by the overview's download below; here, what the command writes."""
    from PIL import Image

    from dashboard.exports import static

    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(picture, format="PNG")
    asked: list[list] = []

    def export_figures(figures, **options):
        asked.append(list(figures))
        assert options.get("fmt") == "png" and options.get("size") == "a4"
        return [picture.getvalue()] * len(asked[-1])

    monkeypatch.setattr(static, "export_figures", export_figures)
    return asked


def test_cli_writes_the_campaign_report(ctx, tmp_path, capsys, drawn):
    out = tmp_path / "bao_cao_cao_diem_2024.docx"
    code = main(["--data-dir", str(ctx.settings.data_dir), "report", "--format", "docx",
                 "--campaign", "2024", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert [len(figures) for figures in drawn] == [2]  # the hot spots, risk × coverage
    doc = Document(str(out))
    assert ("Kết quả công tác phòng, chống mua bán người đợt cao điểm tấn công, trấn áp tội "
            "phạm mua bán người (từ ngày 01/07/2024 đến ngày 30/09/2024)") in _paragraphs(doc)
    assert main(["--data-dir", str(ctx.settings.data_dir), "report", "--format", "docx",
                 "--year", "2024", "--half", "2024H1", "--out", str(out)]) == 2
    assert "choose one period" in capsys.readouterr().err


def test_cli_writes_the_word_report_as_pdf(ctx, tmp_path, capsys, drawn, monkeypatch):
    """``--format pdf-docx`` writes the campaign's Word report as LibreOffice prints it. The
    conversion is answered here with a marked PDF: LibreOffice itself prints the
    commander's report in test_overview_downloads_the_word_report_as_pdf (A4, the header);
    here, that the command hands it the campaign's document and writes what it returns."""
    from dashboard.exports import docx_pdf

    converted: list[bytes] = []

    def docx_to_pdf(raw: bytes) -> bytes:
        converted.append(raw)
        return b"%PDF-1.7 converted " + str(len(raw)).encode()

    monkeypatch.setattr(docx_pdf, "docx_to_pdf", docx_to_pdf)
    out = tmp_path / "bao_cao_cao_diem_2024.pdf"
    code = main(["--data-dir", str(ctx.settings.data_dir), "report", "--format", "pdf-docx",
                 "--campaign", "2024", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert [len(figures) for figures in drawn] == [2]
    (raw,) = converted
    assert out.read_bytes() == b"%PDF-1.7 converted " + str(len(raw)).encode()
    paragraphs = _paragraphs(Document(io.BytesIO(raw)))
    assert ("Kết quả công tác phòng, chống mua bán người đợt cao điểm tấn công, trấn áp tội "
            "phạm mua bán người (từ ngày 01/07/2024 đến ngày 30/09/2024)") in paragraphs


def test_without_libreoffice_the_pdf_is_refused_with_what_to_install(monkeypatch):
    from dashboard.exports import docx_pdf

    monkeypatch.setattr(docx_pdf.shutil, "which", lambda name: None)
    with pytest.raises(docx_pdf.LibreOfficeNotFound,
                       match=r"LibreOffice \(soffice\) is not installed on the server.*"
                             r"apt-get install libreoffice-writer-nogui.*Word \(DOCX\)"):
        docx_pdf.docx_to_pdf(b"PK\x03\x04")


def test_what_is_not_a_docx_is_refused_not_printed_as_an_empty_page():
    from dashboard.exports import docx_pdf

    for junk in (b"", b"%PDF-1.7", "Báo cáo".encode()):
        with pytest.raises(ValueError, match="not a DOCX document"):
            docx_pdf.docx_to_pdf(junk)


# --------------------------------------------------------------------------- the overview


@pytest.fixture(scope="module")
def server():
    from tests.browser import shared_demo_server

    url, data_dir = shared_demo_server()  # the downloads only read: one server per process
    yield url


@pytest.mark.browser
@pytest.mark.parametrize("role", ["viewer"])  # the commander's: as PDF below (one build each)
def test_overview_downloads_the_word_report(server, role):
    from tests.browser import ARTIFACTS, chromium_page

    with chromium_page(role=role) as page:
        page.goto(server + "/")
        page.wait_for_selector("#ov-report-docx", timeout=90_000)
        assert page.inner_text("#ov-report-docx") == "Báo cáo Word (DOCX)"
        with page.expect_download(timeout=240_000) as info:
            page.click("#ov-report-docx")
        download = info.value
        assert re.fullmatch(r"bao_cao_\d{4}Q[1-4]\.docx", download.suggested_filename)
        ARTIFACTS.mkdir(exist_ok=True)
        saved = ARTIFACTS / f"{role}_{download.suggested_filename}"
        download.save_as(saved)
    doc = Document(str(saved))
    paragraphs = _paragraphs(doc)
    title = paragraphs[paragraphs.index("BÁO CÁO") + 1]
    assert re.fullmatch(r"Kết quả công tác phòng, chống mua bán người quý [IV]+ năm \d{4}", title)
    results = _results(doc)
    crossings = next(p for p in results if "xuất, nhập cảnh trái phép" in p)
    if role == "viewer":
        assert "đối tượng" not in crossings
        _assert_no_small_count(results)
    else:
        assert "đối tượng có hành vi xuất, nhập cảnh trái phép" in crossings


@pytest.mark.browser
def test_overview_downloads_the_word_report_in_the_pages_language(server):
    """Read in English, the overview's Word button gives the English document (the catalogue's
    report.text.* and report.docx.*), the same figures in English numbers."""
    from tests.browser import ARTIFACTS, chromium_page

    with chromium_page(role="planner") as page:
        page.goto(server + "/?lang=en")
        page.wait_for_selector("#ov-report-docx", timeout=90_000)
        assert page.inner_text("#ov-report-docx") == "Word report (DOCX)"
        with page.expect_download(timeout=240_000) as info:
            page.click("#ov-report-docx")
        download = info.value
        ARTIFACTS.mkdir(exist_ok=True)
        saved = ARTIFACTS / f"planner_en_{download.suggested_filename}"
        download.save_as(saved)
    paragraphs = _paragraphs(Document(str(saved)))
    title = paragraphs[paragraphs.index("REPORT") + 1]
    assert re.fullmatch(r"Results of the prevention of and fight against human trafficking, "
                        r"Q[1-4] \d{4}", title)
    crossings = next(p for p in paragraphs if "of illegal exit or entry" in p)
    assert "persons" not in crossings  # the planner reads the release: cases only
    assert "BÁO CÁO" not in paragraphs


@pytest.mark.browser
@pytest.mark.parametrize("role", ["commander"])  # the viewer's DOCX is tested above: same file
def test_overview_downloads_the_word_report_as_pdf(server, role):
    """The commander's report through the overview's second Word button, as LibreOffice
    prints it: the same callback as the DOCX button (the viewer's, above) for the role that
    reads persons and the forecast; its document is read in full by the tests above."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    from pypdf import PdfReader

    from tests.browser import ARTIFACTS, chromium_page

    with chromium_page(role=role) as page:
        page.goto(server + "/")
        page.wait_for_selector("#ov-report-docx-pdf", timeout=90_000)
        assert page.inner_text("#ov-report-docx-pdf") == "Báo cáo Word (PDF)"
        with page.expect_download(timeout=300_000) as info:
            page.click("#ov-report-docx-pdf")
        download = info.value
        assert re.fullmatch(r"bao_cao_\d{4}Q[1-4]\.pdf", download.suggested_filename)
        ARTIFACTS.mkdir(exist_ok=True)
        saved = ARTIFACTS / f"{role}_{download.suggested_filename}"
        download.save_as(saved)
    pdf = PdfReader(saved)
    # the commander's report with its two maps, laid out by LibreOffice on A4 pages; pypdf
    # scatters Vietnamese stacked diacritics: the unaccented words of the header are compared
    first = pdf.pages[0].extract_text()
    assert len(pdf.pages) >= 4
    year = re.search(r"(\d{4})Q", download.suggested_filename).group(1)
    for word in ("138", "NINH", year, "BC-BC"):
        assert word in first, word
    assert round(float(pdf.pages[0].mediabox.width) / 72 * 25.4) == 210
    # the commander's figures: the crossings with their persons ("160 vụ, 415 đối tượng",
    # read back by pypdf without its stacked diacritics), which no release below shows
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert re.search(r"\d+ v\s*,\s*\d+ đ\s*i\s*t\s*ng", text), text[:2000]


def test_the_commanders_document_carries_the_forecasts_track_record(doc, an, ctx):
    """Part II ends with the forecast of the quarter after the period and its backtest table,
    as section 6 of the quarterly report (the same sentence, the same rows); a viewer's
    document has no forecast at all (it is not released below commander)."""
    from dashboard.forecast_text import track_header, track_record, track_rows

    layer = an.forecast(unit_set="2025", types=INCIDENT_TYPES, end=YEAR.end)
    text = _paragraphs(doc)
    assert "5. Dự báo quý tới và kết quả kiểm chứng" in text
    assert track_record(layer.params, "vi") in text
    assert layer.params["period"] == "2025Q1"
    (table,) = [t for t in doc.tables
                if [c.text for c in t.rows[0].cells] == track_header("vi")]
    assert [[c.text for c in row.cells] for row in table.rows[1:]] == \
        track_rows(layer.params, "vi")
    assert any(p.startswith("Các xã, phường thuộc 10 % diện tích được đánh dấu cho "
                            "01/01/2025 – 31/03/2025: ") for p in text)
    an.release_plan(wait=600)  # the viewer reads the released figures
    viewer = Document(io.BytesIO(report_docx(ctx, analyses_for(an, "viewer"), period=YEAR,
                                             document_date=DOCUMENT_DATE, maps=[])))
    assert "Dự báo" not in _all_text(viewer)
