"""An XLSX template per record kind that a planner fills in by hand and imports as is.

The workbook has three sheets, in this order: the data sheet (named after
the kind, headers in row 1 exactly as the importer reads them), the
instructions ("Hướng dẫn", or "Instructions" in English) and a hidden
"Danh mục" sheet holding the drop-down lists (2025 communes, former
districts, the allowed values of every coded field), which the validations
reference as ranges because inline lists stop at 255 characters. The
importer reads the first visible sheet that is neither instructions nor
lists, so a filled template imports without any change.

Headers are written exactly as ``Field.header_vi``: ``map_columns`` folds a
header and looks the whole of it up among field names, Vietnamese headers
and aliases, so a combined header such as "Mã hồ sơ (record_id)" matches
nothing. The field's English name is in each header's comment and in the
instructions instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from geo.ingest.kinds import INCIDENT_TYPES, OUTCOMES, Field, Kind, kind_named, outcomes_of
from geo.ingest.parse import EARLIEST
from geo.names import fold
from geo.units import MERGER_DATE, Registry

__all__ = ["LISTS_SHEET", "instructions_title", "template_workbook", "write_template"]

#: Title of the hidden sheet that holds the drop-down lists (the importer skips it).
LISTS_SHEET = "Danh mục"
_LANGS = ("vi", "en")
#: Validations cover the data sheet down to Excel's last row.
_LAST_ROW = 1_048_576
_REQUIRED_FILL = PatternFill("solid", fgColor="FFE699")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_BOLD = Font(bold=True)
_MERGER = MERGER_DATE.strftime("%d/%m/%Y")
_EARLIEST = EARLIEST.strftime("%d/%m/%Y")


def instructions_title(lang: str) -> str:
    """Title of the instructions sheet: "Hướng dẫn" (vi) or "Instructions" (en)."""
    return "Hướng dẫn" if lang == "vi" else "Instructions"


def write_template(kind: str, path: Path, registry: Registry, *, lang: str = "vi") -> Path:
    """Write the XLSX template of ``kind`` to ``path`` and return the path.

    Parameters
    ----------
    kind : str
        A record kind, by English or Vietnamese name ("incidents", "Vụ việc" …).
    path : Path
        Where to write; must end in ``.xlsx``. Its folder is created.
    registry : Registry
        The unit registry (:func:`geo.units.load_registry`): the 2025 communes
        and the former districts fill the drop-down lists.
    lang : {"vi", "en"}
        Language of the instructions, header comments and validation
        messages; "vi" adds the English instructions below the Vietnamese
        ones. Headers are the same in both, so either imports.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> from geo.units import load_registry
    >>> out = write_template("incidents", Path(tempfile.mkdtemp()) / "vu_viec.xlsx",
    ...                      load_registry())
    >>> out.name
    'vu_viec.xlsx'
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"a template is an .xlsx file, not {path.name!r}")
    book = template_workbook(kind, registry, lang=lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def template_workbook(kind: str | Kind, registry: Registry, *, lang: str = "vi") -> Workbook:
    """The template of ``kind`` as an openpyxl Workbook (see :func:`write_template`).

    A web page can save it to a buffer for a download; nothing is written here.
    """
    if lang not in _LANGS:
        raise ValueError(f"lang must be one of {_LANGS}, not {lang!r}")
    spec = kind if isinstance(kind, Kind) else kind_named(kind)
    book = Workbook()
    data = book.active
    data.title = _sheet_title(spec.label_vi)
    instructions = book.create_sheet(instructions_title(lang))
    lists = _write_lists(book.create_sheet(LISTS_SHEET), spec, registry)
    _write_headers(data, spec, registry, lang)
    for validation in _validations(spec, lists, registry, lang):
        data.add_data_validation(validation)
    _write_instructions(instructions, spec, registry, lang)
    book.active = 0
    book.properties.title = f"Mẫu nhập liệu: {spec.label_vi} ({spec.name})"
    book.properties.creator = "borderwatch"
    return book


# -- the lists sheet ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Lists:
    """Ranges on the lists sheet, written as a validation's formula references them."""

    communes: str
    codes: str
    districts: str
    choices: dict[str, str]  # field name -> range of its Vietnamese labels


def _sheet_title(text: str) -> str:
    """A legal sheet title: no ``[]:*?/\\``, no edge apostrophes, at most 31 characters."""
    title = " ".join(re.sub(r"[\[\]:*?/\\]", " ", text).split()).strip("'")
    return title[:31].strip() or "Data"


def _communes(registry: Registry) -> pd.DataFrame:
    """The 2025 communes in the order a person looks them up (folded name)."""
    return registry.communes.sort_values("name", key=lambda s: s.map(fold))


def _write_lists(sheet: Worksheet, spec: Kind, registry: Registry) -> _Lists:
    """Fill the hidden lists sheet, one list per column under its title."""
    communes = _communes(registry)
    choice_fields = [f for f in spec.fields if f.type == "choice"]
    columns: list[tuple[str, list]] = [
        ("Xã/Phường (2025)", list(communes["name"])),
        ("Mã xã (2025)", [int(code) for code in communes.index]),
        (f"Huyện (trước {_MERGER})", sorted(registry.legacy["district"].unique(), key=fold)),
        *((f.header_vi, [c.label_vi for c in f.choices]) for f in choice_fields),
    ]
    refs = []
    for col, (title, values) in enumerate(columns, start=1):
        sheet.cell(1, col, title).font = _BOLD
        for row, value in enumerate(values, start=2):
            sheet.cell(row, col, value)
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = max(len(str(v)) for v in (title, *values)) + 2
        refs.append(f"{quote_sheetname(sheet.title)}!${letter}$2:${letter}${len(values) + 1}")
    sheet.sheet_state = "hidden"
    return _Lists(communes=refs[0], codes=refs[1], districts=refs[2],
                  choices={f.name: ref for f, ref in zip(choice_fields, refs[3:], strict=True)})


# -- the data sheet ------------------------------------------------------------------------


def _width(f: Field, registry: Registry) -> int:
    if f.type == "choice":
        content = max(len(c.label_vi) for c in f.choices) + 3
    elif f.name == "commune":
        content = int(registry.communes["name"].str.len().max()) + 4
    elif f.name == "district":
        content = int(registry.legacy["district"].str.len().max()) + 2
    else:
        content = {"date": 13, "int": 12, "year": 8, "float": 12, "code": 10}.get(f.type, 18)
    return min(max(content, len(f.header_vi) + 4), 48)


def _number_format(f: Field) -> str:
    """Column format: dates dd/mm/yyyy; text columns as text, so "007" keeps its zeros."""
    return {"date": "DD/MM/YYYY", "int": "0", "year": "0", "float": "0.000000", "code": "0",
            "choice": "General"}.get(f.type, "@")


def _write_headers(sheet: Worksheet, spec: Kind, registry: Registry, lang: str) -> None:
    """Row 1: bold headers, required ones filled and commented; frozen; column formats."""
    mark = _TEXT[lang]
    for col, f in enumerate(spec.fields, start=1):
        cell = sheet.cell(1, col, f.header_vi)
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL if f.required else _OPTIONAL_FILL
        cell.alignment = Alignment(vertical="center")
        head = mark["required_mark"] if f.required else mark["optional_mark"]
        cell.comment = Comment(f"{head} ({f.name})\n{_describe(spec, f, lang)}", "borderwatch",
                               width=320, height=150)
        dim = sheet.column_dimensions[get_column_letter(col)]
        dim.width = _width(f, registry)
        dim.number_format = _number_format(f)
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 24


def _validations(spec: Kind, lists: _Lists, registry: Registry,
                 lang: str) -> list[DataValidation]:
    """One validation per checked column, from row 2 to the end of the sheet."""
    out = []
    for col, f in enumerate(spec.fields, start=1):
        rule = _rule(spec, f, lists, registry, lang)
        if rule is None:
            continue
        letter = get_column_letter(col)
        rule.sqref = f"{letter}2:{letter}{_LAST_ROW}"
        out.append(rule)
    return out


def _rule(spec: Kind, f: Field, lists: _Lists, registry: Registry,
          lang: str) -> DataValidation | None:
    """The check of one column, or None (free text)."""
    m = _MESSAGES[lang]
    dated = spec.date_field is not None
    if f.type == "choice":
        return _check("list", lists.choices[f.name], m["choice"], allow_other=False)
    if f.name == "commune":
        # Records dated before the merger may name a former commune: warn, do not stop.
        return _check("list", lists.communes, m["commune_old" if dated else "commune"],
                      allow_other=dated)
    if f.name == "district" and dated:
        return _check("list", lists.districts, m["district"], allow_other=True)
    if f.type == "date":
        # A warning: a dd/mm/yyyy typed on a month-first computer stays text, which imports.
        return _check("date", "DATE(2000,1,1)", m["date"], allow_other=True,
                      operator="between", formula2="TODAY()")
    if f.type == "year":
        return _check("whole", str(int(f.minimum or EARLIEST.year)), m["year"],
                      allow_other=False, operator="between", formula2="YEAR(TODAY())")
    if f.type == "int":
        return _check("whole", "0", m["int"], allow_other=False,
                      operator="greaterThanOrEqual")
    if f.type == "code" and not dated:
        return _check("list", lists.codes, m["code_2025"], allow_other=False)
    if f.type == "code":
        codes = [int(c) for c in (*registry.communes.index, *registry.legacy.index)]
        return _check("whole", str(min(codes)), m["code"], allow_other=False,
                      operator="between", formula2=str(max(codes)))
    if f.type == "float":
        return _check("decimal", str(f.minimum), m[f.name], allow_other=False,
                      operator="between", formula2=str(f.maximum))
    return None


def _check(kind: str, formula1: str, message: tuple[str, str, str], *, allow_other: bool,
           operator: str | None = None, formula2: str | None = None) -> DataValidation:
    title, prompt, error = message
    return DataValidation(
        type=kind, formula1=formula1, formula2=formula2, operator=operator, allow_blank=True,
        showInputMessage=True, showErrorMessage=True, promptTitle=title, prompt=prompt,
        errorTitle=title, error=error, errorStyle="warning" if allow_other else "stop",
    )


# -- the instructions sheet ---------------------------------------------------------------


def _write_instructions(sheet: Worksheet, spec: Kind, registry: Registry, lang: str) -> None:
    """Rules, one row per column, then the 2025 communes; Vietnamese then English for "vi"."""
    row = 1
    for block_lang in (("vi", "en") if lang == "vi" else ("en",)):
        row = _instruction_block(sheet, spec, block_lang, row) + 1
    _commune_table(sheet, registry, lang, row)
    for letter, width in zip("ABCDEFG", (8, 22, 18, 12, 24, 60, 60), strict=True):
        sheet.column_dimensions[letter].width = width


def _instruction_block(sheet: Worksheet, spec: Kind, lang: str, row: int) -> int:
    """One language's instructions from ``row``; returns the next free row."""
    t = _TEXT[lang]
    label = spec.label_vi if lang == "vi" else f"{spec.name} ({spec.label_vi})"
    sheet.cell(row, 1, t["title"].format(kind=label)).font = Font(bold=True, size=14)
    row += 2
    for rule in _rules(spec, lang):
        sheet.cell(row, 1, "•")
        sheet.cell(row, 2, rule).alignment = Alignment(wrap_text=False)
        row += 1
    row += 1
    sheet.cell(row, 1, t["columns"]).font = Font(bold=True, size=12)
    row += 1
    for col, head in enumerate(t["table"], start=1):
        cell = sheet.cell(row, col, head)
        cell.font = _BOLD
        cell.fill = _OPTIONAL_FILL
    row += 1
    for col, f in enumerate(spec.fields, start=1):
        values = (get_column_letter(col), f.header_vi, f.name,
                  t["yes"] if f.required else "", t["types"][f.type],
                  _describe(spec, f, lang), _allowed(f, lang))
        for i, value in enumerate(values, start=1):
            cell = sheet.cell(row, i, value)
            cell.alignment = Alignment(wrap_text=i >= 6, vertical="top")
            if i == 2 and f.required:
                cell.fill = _REQUIRED_FILL
        row += 1
    return row + 1


def _rules(spec: Kind, lang: str) -> list[str]:
    """The general rules of the template, in ``lang``."""
    t = _TEXT[lang]
    rules = [t["one_row"], t["required"]]
    if spec.date_field:
        where = "place_dated" if "lat" in spec.names else "place_dated_no_point"
        rules += [t[where], t["old_units"].format(merger=_MERGER)]
    else:
        rules += [t["place_population"]]
    if any(f.type == "date" for f in spec.fields):
        rules += [t["dates"].format(earliest=_EARLIEST), t["dates_tip"]]
    notes = [n.format(outcomes=_outcomes_text(lang)) for n in t["notes"].get(spec.name, ())]
    rules += [t["lists"], *notes, t["personal"], t["sheets"]]
    return rules


def _outcomes_text(lang: str) -> str:
    """Which status (outcome) each incident type takes, in ``lang``."""
    types = {c.code: c.label_vi for c in INCIDENT_TYPES}
    parts = []
    for kind, allowed in OUTCOMES.items():
        labels = [c.label_vi if lang == "vi" else f"{c.label_vi} ({c.code})"
                  for c in outcomes_of(kind)]
        name = types[kind] if lang == "vi" else f"{kind} ({types[kind]})"
        parts.append(f"{name}: {', '.join(labels)}")
    return "; ".join(parts)


def _commune_table(sheet: Worksheet, registry: Registry, lang: str, row: int) -> int:
    """The 2025 communes with their codes (the codes are hard to guess)."""
    t = _TEXT[lang]
    sheet.cell(row, 1, t["communes"].format(merger=_MERGER)).font = Font(bold=True, size=12)
    row += 1
    for col, head in enumerate(t["commune_table"], start=2):
        cell = sheet.cell(row, col, head)
        cell.font = _BOLD
        cell.fill = _OPTIONAL_FILL
    row += 1
    for code, name in _communes(registry)["name"].items():
        sheet.cell(row, 2, name)
        sheet.cell(row, 3, int(code))
        row += 1
    return row


def _allowed(f: Field, lang: str) -> str:
    if f.type != "choice":
        return ""
    if lang == "vi":
        return "; ".join(c.label_vi for c in f.choices)
    return "; ".join(f"{c.label_vi} ({c.code})" for c in f.choices)


def _describe(spec: Kind, f: Field, lang: str) -> str:
    """What the column means, for this kind."""
    vi, en = _FIELD_HELP.get((spec.name, f.name)) or _FIELD_HELP[(None, f.name)]
    return vi if lang == "vi" else en


# -- words -----------------------------------------------------------------------------------

#: What each column means: (kind or None for every kind, field) -> (Vietnamese, English).
_FIELD_HELP: dict[tuple[str | None, str], tuple[str, str]] = {
    (None, "record_id"): (
        "Mã hồ sơ do đơn vị cấp, không trùng nhau. Không ghi họ tên hay số giấy tờ.",
        "The record's id, as the issuing agency numbers it; unique. Never a name or an "
        "ID number."),
    ("incidents", "date"): (
        "Ngày xảy ra, phát hiện hoặc tiếp nhận vụ việc.",
        "Day the case happened, was found or was received."),
    ("outreach", "date"): ("Ngày tổ chức hoạt động.", "Day of the activity."),
    (None, "type"): ("Loại vụ việc: chọn trong danh sách.", "Kind of case: pick from the list."),
    (None, "commune_code"): (
        "Mã đơn vị hành chính cấp xã (5 chữ số): mã 2025 cho hồ sơ từ 01/07/2025, mã cũ cho "
        "hồ sơ trước đó.",
        "Official 5-digit commune code: a 2025 code from 01/07/2025, a former code before."),
    ("population", "commune_code"): (
        "Mã xã/phường từ 01/07/2025 (5 chữ số, xem bảng cuối trang này).",
        "5-digit code of a commune of 01/07/2025 (see the table at the end of this sheet)."),
    (None, "commune"): (
        "Tên xã/phường: chọn trong danh sách (đơn vị từ 01/07/2025).",
        "Commune or ward name: pick from the list (units from 01/07/2025)."),
    (None, "district"): (
        "Huyện/thị xã/thành phố cũ: chỉ ghi cùng tên xã cũ, cho hồ sơ trước 01/07/2025.",
        "Former district: only with a former commune name, for records before 01/07/2025."),
    ("population", "district"): (
        "Để trống: từ 01/07/2025 không còn cấp huyện.",
        "Leave empty: districts were abolished on 01/07/2025."),
    (None, "lat"): (
        "Vĩ độ, độ thập phân WGS84 (ví dụ 11.310). Chỉ dùng để xác định xã.",
        "Latitude in decimal degrees, WGS84 (e.g. 11.310). Used to find the commune."),
    (None, "lon"): (
        "Kinh độ, độ thập phân WGS84 (ví dụ 106.098).",
        "Longitude in decimal degrees, WGS84 (e.g. 106.098)."),
    (None, "persons"): ("Số đối tượng (người vi phạm) liên quan.",
                        "Number of offenders or suspects involved."),
    (None, "victims"): ("Số nạn nhân.", "Number of victims."),
    (None, "agency"): ("Đơn vị thực hiện hoặc thụ lý (ví dụ Công an xã).",
                       "Agency that acted or handles the case (e.g. commune police)."),
    (None, "status"): (
        "Tình trạng, kết quả xử lý: chọn trong danh sách, theo loại vụ việc (xem trang Hướng "
        "dẫn). Xuất, nhập cảnh trái phép: xử lý hành chính, cảnh cáo, giáo dục, trục xuất, "
        "khởi tố, hoặc xác minh (đang xác minh). Vụ mua bán người, tin báo: tiếp nhận, xác "
        "minh, khởi tố, xét xử. Nạn nhân: tiếp nhận, xác minh, hỗ trợ, hồi hương, trở về.",
        "Where the case stands, how it was handled: pick from the list, by the kind of case "
        "(see the instructions). Illegal crossing: administrative sanction, warning and "
        "education, deportation, prosecuted, or verified (still being verified). Trafficking "
        "case, tip: received, verified, prosecuted, tried. Victim: received, verified, "
        "supported, returned home."),
    (None, "format"): ("Hình thức tuyên truyền: chọn trong danh sách.",
                       "Form of the activity: pick from the list."),
    (None, "sessions"): (
        "Số cuộc, buổi, lớp, hội thi, hoặc số tin, bài (phát thanh, truyền hình) mà dòng này "
        "ghi; để trống nếu là một cuộc.",
        "Number of meetings, sessions, classes, contests, or news items (broadcasts) the row "
        "stands for; empty for one."),
    (None, "participants"): (
        "Số người tham dự, học viên, đại biểu, hoặc số lượt người được tư vấn, giới thiệu "
        "việc làm, lượt người tiếp cận.",
        "Number of participants, trainees, delegates, or job-counselling contacts, people "
        "reached (attendances)."),
    (None, "sites"): ("Số điểm cầu (hội nghị trực tuyến) hoặc số tủ sách pháp luật.",
                      "Number of sites (online conference) or of law bookcases."),
    (None, "materials"): ("Số tài liệu phát ra: tờ rơi, tờ gấp (tờ), sách pháp luật (quyển).",
                          "Copies handed out: leaflets, folders (sheets), law books (copies)."),
    (None, "groups"): ("Số nhóm Zalo, Facebook dùng để tuyên truyền.",
                       "Number of Zalo or Facebook groups used."),
    (None, "members"): ("Số thành viên, tuyên truyền viên nòng cốt.",
                        "Number of core members, communicators."),
    (None, "model_type"): ("Loại mô hình phòng ngừa: chọn trong danh sách.",
                           "Kind of prevention model: pick from the list."),
    (None, "class"): ("Mô hình chuyên sâu hay lồng ghép.", "Intensive or integrated model."),
    (None, "start_date"): ("Ngày mô hình bắt đầu hoạt động (thành lập, ra mắt).",
                           "Day the model started (founded, launched)."),
    (None, "end_date"): ("Ngày mô hình ngừng hoạt động; để trống nếu còn hoạt động.",
                         "Day the model stopped; empty while it runs."),
    (None, "year"): ("Năm của số liệu (từ 2000).", "Year of the figures (from 2000)."),
    (None, "population"): ("Tổng dân số của xã/phường.", "Total population of the commune."),
    (None, "population_14_60"): ("Dân số từ 14 đến 60 tuổi (không lớn hơn tổng dân số).",
                                 "Population aged 14 to 60 (not more than the total)."),
}

_TEXT: dict[str, dict] = {
    "vi": {
        "title": "Hướng dẫn nhập mẫu: {kind}",
        "one_row": "Mỗi dòng của trang dữ liệu (trang đầu tiên) là một hồ sơ. Không sửa, xóa "
                   "hay đổi thứ tự dòng tiêu đề (dòng 1).",
        "required": "Cột có tiêu đề tô vàng là bắt buộc; các cột khác để trống nếu không có "
                    "số liệu. Di chuột lên tiêu đề để xem ý nghĩa của cột.",
        "place_dated": "Mỗi dòng cần xác định được xã: ghi Mã xã, hoặc Xã/Phường (kèm Huyện "
                       "với tên xã cũ), hoặc Vĩ độ + Kinh độ.",
        "place_dated_no_point": "Mỗi dòng cần xác định được xã: ghi Mã xã, hoặc Xã/Phường "
                                "(kèm Huyện với tên xã cũ).",
        "place_population": "Mỗi dòng cần Mã xã hoặc Xã/Phường của đơn vị từ 01/07/2025.",
        "old_units": "Hồ sơ từ {merger} ghi đơn vị mới (danh sách thả xuống). Hồ sơ trước "
                     "{merger} có thể ghi tên xã cũ kèm tên huyện cũ (hoặc mã xã cũ); Excel "
                     "sẽ cảnh báo vì tên cũ không có trong danh sách, chọn \"Có\" để giữ.",
        "dates": "Ngày ghi theo dạng dd/mm/yyyy (ví dụ 15/03/2024), từ {earliest} đến hôm "
                 "nay; ngày ở tương lai bị loại.",
        "dates_tip": "Nếu Excel hiện ngày khác với ngày đã gõ (máy tính dùng thứ tự "
                     "tháng/ngày), gõ dạng yyyy-mm-dd (ví dụ 2024-03-15).",
        "lists": "Cột có danh sách thả xuống: chọn một giá trị trong danh sách, không gõ "
                 "giá trị khác.",
        "notes": {
            "incidents": ("Với nạn nhân, tọa độ chỉ dùng để xác định xã và không được lưu.",
                          "Tình trạng (kết quả xử lý) phải hợp với loại vụ việc: {outcomes}. "
                          "Giá trị không hợp bị loại, kèm lý do.",
                          "Số đối tượng: số người vi phạm của vụ việc (báo cáo đếm \"vụ, "
                          "đối tượng\" theo kết quả xử lý)."),
            "outreach": ("Mỗi dòng ghi các con số của hình thức đó: tin, bài (số tin bài); "
                         "hội nghị (số cuộc, số điểm cầu, số đại biểu); trường học, tập huấn, "
                         "hội thi (số buổi, lớp, số người); tờ rơi, sách pháp luật (số tài "
                         "liệu, số tủ sách); tư vấn việc làm (số lượt người, ghi ở cột số "
                         "người tham dự); mạng xã hội (số nhóm, số thành viên nòng cốt).",),
            "models": ("Ngày kết thúc không được trước ngày bắt đầu.",),
            "population": ("Mỗi xã một dòng cho mỗi năm; dân số 14–60 tuổi không lớn hơn "
                           "tổng dân số.",),
        },
        "personal": "KHÔNG nhập thông tin cá nhân: họ tên, số CMND/CCCD/hộ chiếu, số điện "
                    "thoại, ngày sinh, địa chỉ. Tệp có cột như vậy bị từ chối toàn bộ.",
        "sheets": "Trang \"Hướng dẫn\" và trang ẩn \"Danh mục\" không được nhập; không thêm "
                  "trang dữ liệu khác trước trang đầu tiên.",
        "columns": "Các cột",
        "table": ("Cột", "Tiêu đề", "Tên trường", "Bắt buộc", "Kiểu", "Ý nghĩa",
                  "Giá trị cho phép"),
        "yes": "Bắt buộc",
        "required_mark": "Bắt buộc",
        "optional_mark": "Không bắt buộc",
        "types": {"text": "Văn bản", "code": "Số 5 chữ số", "date": "Ngày dd/mm/yyyy",
                  "int": "Số nguyên ≥ 0", "float": "Số thập phân (độ)",
                  "choice": "Chọn trong danh sách", "year": "Năm (yyyy)"},
        "communes": "Xã/phường từ {merger}: tên và mã",
        "commune_table": ("Xã/Phường", "Mã xã"),
    },
    "en": {
        "title": "How to fill in this template: {kind}",
        "one_row": "Each row of the data sheet (the first sheet) is one record. Do not edit, "
                   "delete or reorder the header row (row 1).",
        "required": "Columns with a yellow header are required; leave the others empty when "
                    "there is no figure. Hover over a header to read what it means.",
        "place_dated": "Each row must name its commune: a commune code, or a commune name "
                       "(with the district for a former commune), or lat + lon.",
        "place_dated_no_point": "Each row must name its commune: a commune code, or a "
                                "commune name (with the district for a former commune).",
        "place_population": "Each row needs the code or the name of a commune of 01/07/2025.",
        "old_units": "Records from {merger} name the new units (the drop-down list). Records "
                     "before {merger} may name the former commune with its former district "
                     "(or the former code); Excel warns because the old name is not in the "
                     "list: answer \"Yes\" to keep it.",
        "dates": "Dates are dd/mm/yyyy (e.g. 15/03/2024), from {earliest} to today; dates in "
                 "the future are rejected.",
        "dates_tip": "If Excel shows another date than the one typed (the computer puts the "
                     "month first), type it as yyyy-mm-dd (e.g. 2024-03-15).",
        "lists": "Columns with a drop-down list: pick one of its values, type nothing else.",
        "notes": {
            "incidents": ("For victims, coordinates only find the commune and are not "
                          "stored.",
                          "The status (outcome) must fit the kind of case: {outcomes}. A "
                          "value that does not fit is rejected with its reason.",
                          "Persons: the offenders of the case (reports count \"cases, "
                          "persons\" per outcome)."),
            "outreach": ("Each row gives the figures of its format: broadcasts (news items); "
                         "meetings (sessions, sites, participants); school sessions, "
                         "trainings, contests (sessions, participants); leaflets, law books "
                         "(copies, bookcases); job counselling (contacts, in the participants "
                         "column); social media (groups, core members).",),
            "models": ("The end date cannot be before the start date.",),
            "population": ("One row per commune and year; the population aged 14–60 cannot "
                           "exceed the total.",),
        },
        "personal": "NO personal data: no names, ID card or passport numbers, phone numbers, "
                    "birth dates or addresses. A file with such a column is refused whole.",
        "sheets": "The instructions sheet and the hidden \"Danh mục\" lists are not imported; "
                  "add no other sheet before the first one.",
        "columns": "Columns",
        "table": ("Column", "Header", "Field", "Required", "Type", "Meaning", "Allowed values"),
        "yes": "Required",
        "required_mark": "Required (bắt buộc)",
        "optional_mark": "Optional",
        "types": {"text": "Text", "code": "5-digit number", "date": "Date dd/mm/yyyy",
                  "int": "Whole number ≥ 0", "float": "Decimal degrees",
                  "choice": "Pick from the list", "year": "Year (yyyy)"},
        "communes": "Communes and wards from {merger}: names and codes",
        "commune_table": ("Commune", "Code"),
    },
}

#: Validation messages: (title ≤ 32, input prompt ≤ 255, error ≤ 225 characters).
_MESSAGES: dict[str, dict[str, tuple[str, str, str]]] = {
    "vi": {
        "choice": ("Chọn trong danh sách", "Chọn một giá trị trong danh sách thả xuống.",
                   "Giá trị không có trong danh sách. Chọn một giá trị trong danh sách."),
        "commune": ("Xã/Phường (2025)", "Chọn xã/phường trong danh sách (đơn vị từ 01/07/2025).",
                    "Tên xã/phường không có trong danh sách đơn vị 2025."),
        "commune_old": ("Xã/Phường", "Chọn xã/phường trong danh sách. Hồ sơ trước 01/07/2025 "
                        "có thể ghi tên xã cũ kèm cột Huyện.",
                        "Tên không có trong danh sách đơn vị 2025. Nếu là xã cũ (hồ sơ trước "
                        "01/07/2025), chọn Có và ghi cột Huyện."),
        "district": ("Huyện (trước 01/07/2025)", "Chỉ ghi với tên xã cũ, cho hồ sơ trước "
                     "01/07/2025.", "Huyện không có trong danh sách huyện cũ. Chọn Có để giữ."),
        "date": ("Ngày dd/mm/yyyy", "Ghi ngày dạng dd/mm/yyyy, từ 01/01/2000 đến hôm nay.",
                 "Ngày phải từ 01/01/2000 đến hôm nay, dạng dd/mm/yyyy."),
        "year": ("Năm", "Ghi năm (yyyy), từ 2000 đến năm nay.",
                 "Năm phải là số nguyên từ 2000 đến năm nay."),
        "int": ("Số nguyên", "Ghi số nguyên ≥ 0.", "Chỉ ghi số nguyên không âm."),
        "code": ("Mã xã", "Ghi mã xã 5 chữ số (xem trang Hướng dẫn).",
                 "Mã xã là số 5 chữ số của một xã/phường trong tỉnh."),
        "code_2025": ("Mã xã (2025)", "Chọn mã xã/phường từ 01/07/2025 (xem trang Hướng dẫn).",
                      "Mã không thuộc các xã/phường từ 01/07/2025."),
        "lat": ("Vĩ độ", "Vĩ độ, độ thập phân (ví dụ 11.310).", "Vĩ độ phải từ -90 đến 90."),
        "lon": ("Kinh độ", "Kinh độ, độ thập phân (ví dụ 106.098).",
                "Kinh độ phải từ -180 đến 180."),
    },
    "en": {
        "choice": ("Pick from the list", "Pick one value of the drop-down list.",
                   "This value is not in the list. Pick one value of the list."),
        "commune": ("Commune (2025)", "Pick the commune from the list (units of 01/07/2025).",
                    "This name is not one of the 2025 communes."),
        "commune_old": ("Commune", "Pick the commune from the list. Records before 01/07/2025 "
                        "may name a former commune with its district.",
                        "Not one of the 2025 communes. For a former commune (a record before "
                        "01/07/2025) answer Yes and fill in the district."),
        "district": ("District (before 01/07/2025)", "Only with a former commune name, for "
                     "records before 01/07/2025.",
                     "Not one of the former districts. Answer Yes to keep it."),
        "date": ("Date dd/mm/yyyy", "Type the date as dd/mm/yyyy, from 01/01/2000 to today.",
                 "The date must be from 01/01/2000 to today, as dd/mm/yyyy."),
        "year": ("Year", "Type the year (yyyy), from 2000 to this year.",
                 "The year must be a whole number from 2000 to this year."),
        "int": ("Whole number", "Type a whole number ≥ 0.", "Only whole numbers ≥ 0."),
        "code": ("Commune code", "Type the 5-digit commune code (see the instructions).",
                 "A commune code is the 5-digit code of a commune of the province."),
        "code_2025": ("Commune code (2025)", "Pick the code of a commune of 01/07/2025 (see "
                      "the instructions).", "Not the code of a commune of 01/07/2025."),
        "lat": ("Latitude", "Latitude in decimal degrees (e.g. 11.310).",
                "Latitude must be between -90 and 90."),
        "lon": ("Longitude", "Longitude in decimal degrees (e.g. 106.098).",
                "Longitude must be between -180 and 180."),
    },
}
