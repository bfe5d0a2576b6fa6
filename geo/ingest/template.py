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

from geo.catalogue import text
from geo.kinds import INCIDENT_TYPES, OUTCOMES, Field, Kind, kind_named, outcomes_of
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
    return _t("instructions", lang)


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
    lists = _write_lists(book.create_sheet(LISTS_SHEET), spec, registry, lang)
    _write_headers(data, spec, registry, lang)
    for validation in _validations(spec, lists, registry, lang):
        data.add_data_validation(validation)
    _write_instructions(instructions, spec, registry, lang)
    book.active = 0
    book.properties.title = _t("book_title", lang, kind=spec.label_vi, code=spec.name)
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


def _write_lists(sheet: Worksheet, spec: Kind, registry: Registry, lang: str) -> _Lists:
    """Fill the hidden lists sheet, one list per column under its title."""
    communes = _communes(registry)
    choice_fields = [f for f in spec.fields if f.type == "choice"]
    columns: list[tuple[str, list]] = [
        (_t("lists.communes", lang), list(communes["name"])),
        (_t("lists.codes", lang), [int(code) for code in communes.index]),
        (_t("lists.districts", lang, merger=_MERGER), sorted(registry.legacy["district"].unique(), key=fold)),
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
    for col, f in enumerate(spec.fields, start=1):
        cell = sheet.cell(1, col, f.header_vi)
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL if f.required else _OPTIONAL_FILL
        cell.alignment = Alignment(vertical="center")
        head = _t("required_mark" if f.required else "optional_mark", lang)
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
    def m(name: str) -> tuple[str, str, str]:
        return _message(name, lang)

    dated = spec.date_field is not None
    if f.type == "choice":
        return _check("list", lists.choices[f.name], m("choice"), allow_other=False)
    if f.name == "commune":
        # Records dated before the merger may name a former commune: warn, do not stop.
        return _check("list", lists.communes, m("commune_old" if dated else "commune"),
                      allow_other=dated)
    if f.name == "district" and dated:
        return _check("list", lists.districts, m("district"), allow_other=True)
    if f.type == "date":
        # A warning: a dd/mm/yyyy typed on a month-first computer stays text, which imports.
        return _check("date", "DATE(2000,1,1)", m("date"), allow_other=True,
                      operator="between", formula2="TODAY()")
    if f.type == "year":
        return _check("whole", str(int(f.minimum or EARLIEST.year)), m("year"),
                      allow_other=False, operator="between", formula2="YEAR(TODAY())")
    if f.type == "int":
        return _check("whole", "0", m("int"), allow_other=False,
                      operator="greaterThanOrEqual")
    if f.type == "code" and not dated:
        return _check("list", lists.codes, m("code_2025"), allow_other=False)
    if f.type == "code":
        codes = [int(c) for c in (*registry.communes.index, *registry.legacy.index)]
        return _check("whole", str(min(codes)), m("code"), allow_other=False,
                      operator="between", formula2=str(max(codes)))
    if f.type == "float":
        return _check("decimal", str(f.minimum), m(f.name), allow_other=False,
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
    label = spec.label_vi if lang == "vi" else f"{spec.name} ({spec.label_vi})"
    sheet.cell(row, 1, _t("title", lang, kind=label)).font = Font(bold=True, size=14)
    row += 2
    for rule in _rules(spec, lang):
        sheet.cell(row, 1, "•")
        sheet.cell(row, 2, rule).alignment = Alignment(wrap_text=False)
        row += 1
    row += 1
    sheet.cell(row, 1, _t("columns", lang)).font = Font(bold=True, size=12)
    row += 1
    for col, name in enumerate(_TABLE, start=1):
        cell = sheet.cell(row, col, _t(f"table.{name}", lang))
        cell.font = _BOLD
        cell.fill = _OPTIONAL_FILL
    row += 1
    for col, f in enumerate(spec.fields, start=1):
        values = (get_column_letter(col), f.header_vi, f.name,
                  _t("yes", lang) if f.required else "", _t(f"type.{f.type}", lang),
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
    rules = [_t("one_row", lang), _t("required", lang)]
    if spec.date_field:
        where = "place_dated" if "lat" in spec.names else "place_dated_no_point"
        rules += [_t(where, lang), _t("old_units", lang, merger=_MERGER)]
    else:
        rules += [_t("place_population", lang)]
    if any(f.type == "date" for f in spec.fields):
        rules += [_t("dates", lang, earliest=_EARLIEST), _t("dates_tip", lang)]
    notes = [_t(f"note.{spec.name}.{n}", lang, outcomes=_outcomes_text(lang))
             for n in _NOTES.get(spec.name, ())]
    rules += [_t("lists", lang), *notes, _t("personal", lang), _t("sheets", lang)]
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
    sheet.cell(row, 1, _t("communes", lang, merger=_MERGER)).font = Font(bold=True, size=12)
    row += 1
    for col, name in enumerate(("commune", "code"), start=2):
        cell = sheet.cell(row, col, _t(f"commune_table.{name}", lang))
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
    try:
        return _t(f"help.{spec.name}.{f.name}", lang)
    except KeyError:
        return _t(f"help.all.{f.name}", lang)


# -- words -----------------------------------------------------------------------------------

#: The notes of each kind's instructions: names of the catalogue's ``template.note.<kind>.*``
#: messages, in the order they are written.
_NOTES = {"incidents": ("victim_points", "status", "persons"), "outreach": ("figures",),
          "models": ("end_date",), "population": ("one_row",)}
#: The columns of the instructions' table (``template.table.*``).
_TABLE = ("column", "header", "field", "required", "type", "meaning", "allowed")


def _t(name: str, lang: str, **params) -> str:
    """The template's message ``name`` (``template.<name>`` of the catalogue)."""
    return text(f"template.{name}", lang, **params)


def _message(name: str, lang: str) -> tuple[str, str, str]:
    """A validation's (title ≤ 32, input prompt ≤ 255, error ≤ 225 characters)."""
    return tuple(_t(f"check.{name}.{part}", lang) for part in ("title", "prompt", "error"))
