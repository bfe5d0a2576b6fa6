"""XLSX of a table behind a map: Vietnamese headers, number formats, title and caveats.

A spreadsheet a planner can forward: the title and period on top, the
caveats (synthetic demo data, approximate boundaries) written in the sheet
itself so they travel with the numbers, then the table with real numbers
(not text) in the locale's display format.

openpyxl is imported when a sheet is written: a server starts without it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

__all__ = ["Column", "LAYER_COLUMNS", "layer_xlsx", "table_xlsx"]

#: The header row's fill and the notes' font (openpyxl ``PatternFill`` and ``Font`` arguments).
_HEADER_FILL = {"fill_type": "solid", "fgColor": "DCE6F1"}
_NOTE_FONT = {"bold": True, "color": "9C5700"}


@dataclass(frozen=True)
class Column:
    """One column of the sheet: the frame's column, its header, its Excel number format."""

    key: str
    header: str
    number_format: str = "General"
    width: int = 14


def table_xlsx(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    title: str,
    notes: Sequence[str] = (),
    sheet: str | None = None,
    extracted: dt.date | None = None,
    extracted_label: str | None = None,
) -> bytes:
    """The workbook as bytes (for a download or a file).

    Rows: 1 title, then one row per note (caveats first), the extraction
    date, an empty row, the header row (bold, frozen below), the data. The sheet's name
    and the date's label default to the catalogue's Vietnamese.

    Examples
    --------
    >>> data = pd.DataFrame({"name": ["Xã Bến Cầu"], "n": [1835]})
    >>> raw = table_xlsx(data, [Column("name", "Xã"), Column("n", "Số", "#,##0")], title="T")
    >>> raw[:2]
    b'PK'
    """
    from openpyxl import Workbook

    book = Workbook()
    _fill_sheet(book.active, frame, columns, title=title, notes=notes, sheet=sheet,
                extracted=extracted, extracted_label=extracted_label)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill_sheet(ws, frame: pd.DataFrame, columns: Sequence[Column], *, title: str,
                notes: Sequence[str] = (), sheet: str | None = None,
                extracted: dt.date | None = None, extracted_label: str | None = None) -> None:
    """Write one sheet as :func:`table_xlsx` describes it."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from dashboard.i18n import translate

    ws.title = (sheet or translate("export.sheet", "vi"))[:31]
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    for note in notes:
        ws.append([note])
        ws.cell(ws.max_row, 1).font = Font(**_NOTE_FONT)
    ws.append([extracted_label or translate("export.extracted", "vi"),
               (extracted or dt.date.today())])
    ws.cell(ws.max_row, 2).number_format = "DD/MM/YYYY"
    ws.append([])
    ws.append([c.header for c in columns])
    header_row = ws.max_row
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(header_row, i)
        cell.font = Font(bold=True)
        cell.fill = PatternFill(**_HEADER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(i)].width = col.width
    for values in frame[[c.key for c in columns]].itertuples(index=False, name=None):
        ws.append([_plain(v) for v in values])
        _as_text(ws[ws.max_row])
        for i, col in enumerate(columns, start=1):
            cell = ws.cell(ws.max_row, i)
            cell.number_format = col.number_format
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(header_row + 1, 1)


def _as_text(row) -> None:
    """Text stays text: openpyxl would store a string starting with "=" as a formula, and an
    agency named "=cmd|…" in an imported file must not run when the sheet is opened."""
    for cell in row:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _missing(value) -> bool:
    """Whether a cell value is missing: None, NaN, ``pd.NA`` or ``NaT`` (never asks
    ``value != value``, which ``pd.NA`` answers with NA, whose truth is ambiguous).

    >>> [_missing(v) for v in (None, float("nan"), pd.NA, pd.NaT, 0, "x < 5")]
    [True, True, True, True, False, False]
    """
    return value is None or value is pd.NA or (pd.api.types.is_scalar(value)
                                               and not isinstance(value, str)
                                               and bool(pd.isna(value)))


def _plain(value):
    """Cells Excel understands: numbers stay numbers, missing is empty, dates are dates."""
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


#: The columns of each kind of layer worth a table, after code and name (those present are kept).
LAYER_COLUMNS = ("count", "population", "rate", "rate_eb", "Zs", "p_value", "fdr_threshold",
                 "p_threshold_90", "p_threshold_95", "p_threshold_99", "gi_class",
                 "category", "trend_z", "trend_p", "n_hot", "n_cold", "other", "change",
                 "trend", "score", "total", "intensive", "integrated", "events",
                 "participants", "materials", "reach", "days_since_last", "last_agency",
                 "risk", "coverage", "gap", "density", "forecast", "flagged", "rank")
_FORMATS = {"rate": "0.00", "rate_eb": "0.00", "Zs": "0.00", "p_value": "0.0000",
            "fdr_threshold": "0.0000", "p_threshold_90": "0.0000", "p_threshold_95": "0.0000",
            "p_threshold_99": "0.0000",
            "trend_z": "0.00", "trend_p": "0.0000", "reach": "#,##0.0", "density": "0.000",
            "population": "#,##0", "participants": "#,##0", "materials": "#,##0",
            "count": "#,##0", "events": "#,##0", "forecast": "0.00", "flagged": "0%",
            "rank": "0"}
#: A test's z and p are written only beside the threshold a class was read against (the change
#: map's FDR threshold, the Gi* map's per-level thresholds): never a small p beside "not
#: significant" with nothing that says why.
_EXPLAINED = {"p_value": ("fdr_threshold", "p_threshold_90"), "Zs": ("p_threshold_90",)}
_LABELLED = {"gi_class": "gi.{}", "category": "emerging.{}", "risk": "risk.{}",
             "coverage": "coverage.{}", "trend": "trend.{}"}


def layer_xlsx(layer, *, title: str, lang: str, notes: Sequence[str] = (),
               extracted: dt.date | None = None) -> bytes:
    """The table behind a map layer: code, name, and the layer's own columns, headers in ``lang``.

    Class columns (hot-spot class, emerging category, risk, coverage, change)
    are written as the words on the legend; numbers stay numbers. A p-value or z-score
    goes out only with the threshold its class was read against (:data:`_EXPLAINED`):
    the Gi* map's p thresholds per confidence level (FDR-adjusted, or marked uncorrected
    when the map is), the change map's FDR threshold.
    """
    from dashboard.i18n import translate

    frame = layer.frame.copy()
    frame.insert(0, "code", frame.index.astype(str))
    if "name" not in frame:
        frame["name"] = ""
    for col in [c for c in frame.columns if f"{c}_label" in frame.columns]:
        # a withheld count reads "< 5" or "x", as on the map, never an empty cell
        frame[col] = [label if isinstance(label, str) and _missing(v)
                      else v for v, label in zip(frame[col], frame[f"{col}_label"], strict=True)]
    for col, key in _LABELLED.items():
        if col in frame:
            frame[col] = [translate(key.format(int(v) if col == "trend" else v), lang)
                          if not _missing(v) else None for v in frame[col]]
    present = [c for c in LAYER_COLUMNS if c in frame]
    wanted = ["code", "name"] + [c for c in present
                                 if not set(_EXPLAINED.get(c, present)).isdisjoint(present)]
    uncorrected = layer.params.get("alpha_fdr") is False

    def header(c: str) -> str:
        if uncorrected and c.startswith("p_threshold_"):
            return translate(f"col.{c}.uncorrected", lang)
        return translate(f"col.{c}", lang)

    columns = [Column(c, header(c), _FORMATS.get(c, "General"),
                      24 if c in ("name", "last_agency", "category", "gi_class")
                      or c.startswith("p_threshold_") else 13)
               for c in wanted]
    if layer.value == "forecast":
        return _forecast_xlsx(layer, frame, columns, title=title, lang=lang, notes=notes,
                              extracted=extracted)
    return table_xlsx(frame, columns, title=title, notes=notes, extracted=extracted,
                      sheet=translate("export.sheet", lang),
                      extracted_label=translate("export.extracted", lang))


def _forecast_xlsx(layer, frame: pd.DataFrame, columns: Sequence[Column], *, title: str,
                   lang: str, notes: Sequence[str], extracted: dt.date | None) -> bytes:
    """The forecast's table, its track record beside it: the page's sentence in the first
    sheet's notes, the backtest table (hit rate, PAI at 5/10/20 % of the area, PEI at 10 %,
    for the model and each baseline) as numbers in a second sheet."""
    from openpyxl import Workbook
    from dashboard.forecast_text import track_header, track_record, track_values
    from dashboard.i18n import translate

    sentence = track_record(layer.params, lang)
    header = track_header(lang)
    table = pd.DataFrame(track_values(layer.params, lang), columns=range(len(header))) \
        if not layer.params.get("problem") else pd.DataFrame(columns=range(len(header)))
    formats = ["General"] + ["0.0%", "0.00"] * ((len(header) - 2) // 2) + ["0.00"]
    track_columns = [Column(i, name, fmt, 36 if i == 0 else 14)
                     for i, (name, fmt) in enumerate(zip(header, formats, strict=True))]
    label = translate("export.extracted", lang)
    book = Workbook()
    columns = [replace(c, header=translate(layer.legend_key, lang)) if c.key == "forecast"
               else c for c in columns]
    _fill_sheet(book.active, frame, columns, title=title, notes=[*notes, sentence],
                sheet=translate("export.sheet", lang), extracted=extracted,
                extracted_label=label)
    _fill_sheet(book.create_sheet(), table, track_columns,
                title=translate("export.forecast.track", lang), notes=[sentence],
                sheet=translate("export.forecast.sheet", lang), extracted=extracted,
                extracted_label=label)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
