"""Which file column is which field, which are unknown, and which hold personal data.

Headers match a field by its English name, its Vietnamese header or a known
alias, after folding (``"Mã hồ sơ"``, ``"MA HO SO"``, ``"record_id"`` are one
column). Columns that match no field are reported and not stored. Columns
that look like personal data (a name, an ID or phone number, a birth date,
an address), by their header or by their values, refuse the whole file: the
product never stores who a victim or suspect is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from geo.kinds import Kind
from geo.ingest.readers import FileRefused
from geo.names import fold

__all__ = ["ColumnMap", "map_columns", "personal_columns"]

#: Folded header words that name personal data (họ tên, CCCD/CMND, số điện thoại, ngày sinh …).
_PERSONAL_HEADERS = (
    "ho ten", "ho va ten", "ten nan nhan", "ten doi tuong", "ten nguoi", "ten bi can",
    "full name", "first name", "last name", "surname", "person name", "victim name",
    "suspect name", "cmnd", "cccd", "can cuoc", "chung minh", "dinh danh", "so giay to",
    "id number", "id card", "national id", "passport", "ho chieu", "so dien thoai",
    "dien thoai", "sdt", "phone", "mobile", "telephone", "ngay sinh", "nam sinh",
    "date of birth", "dob", "birth", "dia chi", "address", "noi o", "thuong tru",
    "tam tru", "que quan", "email", "facebook ca nhan", "zalo ca nhan",
)
#: Headers that are personal data only when they are the whole header ("name", "tên").
_PERSONAL_EXACT = ("name", "ten", "ho", "id card no")
_PHONE = re.compile(r"^(\+?84|0)[35789]\d{8}$")
_ID_NUMBER = re.compile(r"^\d{9}$|^\d{12}$|^[A-Z]\d{7,8}$")


@dataclass(frozen=True)
class ColumnMap:
    """How a file's headers map to a kind's fields."""

    fields: dict[str, str]  # field name -> header as written in the file
    unknown: tuple[str, ...]  # headers matched to no field (reported, not stored)


def map_columns(headers: list[str], kind: Kind) -> ColumnMap:
    """Match the file's headers to ``kind``'s fields; refuse duplicates and missing ones."""
    by_key: dict[str, str] = {}
    for f in kind.fields:
        for key in f.header_keys():
            by_key.setdefault(key, f.name)
    found: dict[str, list[str]] = {}
    unknown: list[str] = []
    for header in headers:
        if header.startswith("__"):
            continue
        name = _field_of(header, by_key)
        if name is None:
            if str(header).strip() and not str(header).lower().startswith("unnamed"):
                unknown.append(header)
            continue
        found.setdefault(name, []).append(header)
    for name, written in found.items():
        if len(written) > 1:
            raise FileRefused("file.duplicate_columns", column=name, headers=", ".join(written))
    fields = {name: written[0] for name, written in found.items()}
    missing = [f.name for f in kind.fields if f.required and f.name not in fields]
    if kind.name == "population" and "commune_code" not in fields and "commune" not in fields:
        missing.append("commune_code")
    if missing:
        labels = ", ".join(f"{kind.field(m).header_vi} ({m})" for m in missing)
        raise FileRefused("file.missing_columns", columns=labels)
    if kind.date_field and not ({"commune_code", "commune"} & set(fields)
                                or {"lat", "lon"} <= set(fields)):
        raise FileRefused("file.no_commune_column")
    return ColumnMap(fields=fields, unknown=tuple(unknown))


def _field_of(header: str, by_key: dict[str, str]) -> str | None:
    """The field a header names: whole, or either part of "Mã hồ sơ (record_id)".

    Our own rejects files and templates write both names; a corrected rejects
    file must import as it is.
    """
    name = by_key.get(fold(header))
    if name is None and "(" in str(header):
        before, _, inside = str(header).partition("(")
        name = by_key.get(fold(inside.rstrip(") "))) or by_key.get(fold(before))
    return name


def personal_columns(cells: pd.DataFrame, columns: ColumnMap) -> list[str]:
    """Headers of the columns that look like personal data, by header or by values.

    Only columns that match no field are looked at by value: a known field
    (a commune code, a count) cannot hold a phone number by its type.
    """
    flagged: list[str] = []
    for header in cells.columns:
        if header.startswith("__") or header in columns.fields.values():
            continue
        key = fold(header)
        padded = f" {key} "
        if key in _PERSONAL_EXACT or any(f" {w} " in padded for w in _PERSONAL_HEADERS):
            flagged.append(header)
            continue
        values = cells[header].astype(str).str.replace(r"[\s.\-]", "", regex=True)
        values = values[values != ""]
        if len(values) and (values.str.match(_PHONE) | values.str.match(_ID_NUMBER)).mean() > 0.5:
            flagged.append(header)
    return flagged
