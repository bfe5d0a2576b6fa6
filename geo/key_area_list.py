"""The official list of a plan's key areas (tuyến, địa bàn trọng điểm), read from a CSV file.

A plan's key areas are an official list: the province decides them (the
plans say "xác lập hồ sơ các tuyến địa bàn trọng điểm"), they are not the
product's risk score. A province writes the list once per plan as
``key_areas_<plan id>.csv`` in its data folder, beside its plan files
(``var/plans/``), one 2025 commune a line::

    code,name,note
    25681,Xã Bến Cầu,Cửa khẩu Mộc Bài
    ,Phường Trảng Bàng,
    25729,,

Columns (header on the first line; Vietnamese headers are accepted too):
``code`` (*Mã xã*, a 5-digit 2025 commune code), ``name`` (*Xã/Phường*, as
written: resolved through the registry, :func:`geo.names.match_units`) and
``note`` (*Ghi chú*, optional). Each line gives a code, a name or both (then
they must name the same commune). Every line is checked
(:class:`KeyAreaRow`, pydantic) and a file with any mistake is refused as a
whole: :class:`KeyAreaListError` says, for each, the file, the line, the field
and what was expected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from geo.names import fold, match_units
from geo.units import NEW, Registry

__all__ = [
    "KEY_AREA_FILE",
    "KeyAreaList",
    "KeyAreaListError",
    "KeyAreaRow",
    "key_area_lists",
    "read_key_area_list",
]

#: The file name of a plan's list: ``key_areas_<plan id>.csv``.
KEY_AREA_FILE = re.compile(r"^key_areas_(?P<plan>[a-z][a-z0-9_]*)\.csv$")
#: The header each column may be written with (folded: no case, no diacritics).
_HEADERS = {
    "code": ("code", "ma xa", "ma", "ma don vi"),
    "name": ("name", "xa phuong", "xa", "ten xa", "ten don vi", "commune"),
    "note": ("note", "ghi chu"),
}
_CODE = re.compile(r"^\d{5}$")
_MAX_BYTES = 1_000_000


class KeyAreaListError(ValueError):
    """A key-area file that cannot be used; ``problems`` lists (field, message, line) of each.

    ``str(error)`` is what a person reads, one line per problem, each as
    ``file:line: field: message`` (the format of :class:`geo.plans.PlanError`).
    """

    def __init__(self, file: str | Path, problems: Sequence[tuple[str, str, int | None]]):
        self.file = str(file)
        self.problems = tuple(problems)
        lines = [f"{self.file}: {len(self.problems)} problem(s):"]
        for field_, message, line in self.problems:
            loc = f"{self.file}:{line}" if line else self.file
            lines.append(f"  {loc}: {field_}: {message}" if field_ else f"  {loc}: {message}")
        super().__init__("\n".join(lines))


class KeyAreaRow(BaseModel):
    """One line of the file: a 2025 commune by code, by name or both.

    Validated with ``context={"registry": registry}``; :attr:`resolved` is the
    commune's code once valid.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str | None = None
    name: str | None = None
    note: str | None = None
    resolved: str | None = None

    @field_validator("code", "name", "note", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str | None, info: ValidationInfo) -> str | None:
        if code is None:
            return None
        if not _CODE.match(code):
            raise ValueError(f"expected a 5-digit 2025 commune code, got {code!r}")
        registry = _registry(info)
        if code not in registry.communes.index:
            raise ValueError(f"{code} is not a 2025 commune code of the registry")
        return code

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is None:
            return None
        match = match_units(_registry(info), name, unit_set=NEW)
        if not match.codes:
            raise ValueError(f"no 2025 commune of the registry is called {name!r}")
        if not match.unique:
            raise ValueError(f"{name!r} names several communes ({', '.join(match.labels)}): "
                             "give the code")
        return name

    @model_validator(mode="after")
    def _one_commune(self, info: ValidationInfo) -> KeyAreaRow:
        if self.code is None and self.name is None:
            raise ValueError("give the commune's code or its name")
        by_name = (match_units(_registry(info), self.name, unit_set=NEW).code
                   if self.name is not None else None)
        if self.code is not None and by_name is not None and by_name != self.code:
            raise ValueError(f"the code {self.code} and the name {self.name!r} ({by_name}) "
                             "are different communes")
        return self.model_copy(update={"resolved": self.code or by_name})


def _registry(info: ValidationInfo) -> Registry:
    registry = (info.context or {}).get("registry")
    if registry is None:
        raise RuntimeError("KeyAreaRow needs context={'registry': registry}")
    return registry


@dataclass(frozen=True)
class KeyAreaList:
    """A plan's official key areas.

    Attributes
    ----------
    plan : str
        The plan id the file is named after.
    codes : tuple of str
        The 2025 commune codes, in file order.
    source : str
        The file's name (shown with the figures: where the list comes from).
    """

    plan: str
    codes: tuple[str, ...]
    source: str


def _columns(header: Sequence[str]) -> tuple[dict[int, str], list[tuple[str, str, int]]]:
    """Which field each column holds, and the problems of the header (line 1)."""
    known = {alias: name for name, aliases in _HEADERS.items() for alias in aliases}
    columns, problems = {}, []
    for i, text in enumerate(header):
        name = known.get(fold(text))
        if name is None:
            problems.append((str(text) or f"column {i + 1}",
                             "unknown column; expected code (Mã xã), name (Xã/Phường), "
                             "note (Ghi chú)", 1))
        elif name in columns.values():
            problems.append((name, "this column is written twice", 1))
        else:
            columns[i] = name
    if not problems and not {"code", "name"} & set(columns.values()):
        problems.append(("", "the header has neither a code (Mã xã) nor a name (Xã/Phường) "
                             "column", 1))
    return columns, problems


def read_key_area_list(path: str | Path, registry: Registry, *, plan: str | None = None
                       ) -> KeyAreaList:
    """Read and check one key-area file.

    Parameters
    ----------
    path : str or Path
        A CSV file (UTF-8, with or without BOM) in the format of the module docstring.
    registry : Registry
        Resolves codes and names (2025 communes).
    plan : str, optional
        The plan id; by default read from the file name ``key_areas_<plan>.csv``.

    Returns
    -------
    KeyAreaList

    Raises
    ------
    KeyAreaListError
        Every problem as ``file:line: field: message``: an unknown column, a
        code that is not a 2025 commune, a name that matches none or several,
        a code and a name that disagree, a line with neither, a commune
        listed twice, an empty list.

    Examples
    --------
    >>> import tempfile
    >>> from geo.units import load_registry
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "key_areas_x.csv").write_text("code,name\\n,Xã Bến Cầu\\n12345,\\n",
    ...                                            encoding="utf-8")
    >>> try:
    ...     read_key_area_list(folder / "key_areas_x.csv", load_registry())
    ... except KeyAreaListError as err:
    ...     print(str(err).replace(str(folder), "var/plans"))
    var/plans/key_areas_x.csv: 1 problem(s):
      var/plans/key_areas_x.csv:3: code: 12345 is not a 2025 commune code of the registry
    >>> _ = (folder / "key_areas_x.csv").write_text("Mã xã,Xã/Phường\\n25681,Xã Bến Cầu\\n"
    ...                                            ",Phường Trảng Bàng\\n", encoding="utf-8")
    >>> read_key_area_list(folder / "key_areas_x.csv", load_registry()).codes
    ('25681', '25708')
    """
    path = Path(path)
    if plan is None:
        found = KEY_AREA_FILE.match(path.name)
        if not found:
            raise KeyAreaListError(path, [("", "the file name must be key_areas_<plan id>.csv",
                                           None)])
        plan = found["plan"]
    raw = path.read_bytes()
    if len(raw) > _MAX_BYTES:
        raise KeyAreaListError(path, [("", f"the file is larger than {_MAX_BYTES:,} bytes", None)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise KeyAreaListError(path, [("", f"not UTF-8 text ({err.reason} at byte {err.start})",
                                       None)]) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise KeyAreaListError(path, [("", "the file is empty", None)])
    columns, problems = _columns(header)
    if problems:
        raise KeyAreaListError(path, problems)
    codes: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            problems.append(("", f"{len(values)} values on a line of {len(header)} columns",
                             line))
            continue
        row = {columns[i]: v for i, v in enumerate(values) if i in columns}
        try:
            checked = KeyAreaRow.model_validate(row, context={"registry": registry})
        except ValidationError as err:
            problems += [(_field(e), str(e["msg"]).removeprefix("Value error, "), line)
                         for e in err.errors()]
            continue
        if checked.resolved in codes:
            problems.append((_which(row), f"commune {checked.resolved} is already listed on "
                                          f"line {codes[checked.resolved]}", line))
            continue
        codes[checked.resolved] = line
    if not problems and not codes:
        problems.append(("", "the list names no commune", None))
    if problems:
        raise KeyAreaListError(path, problems)
    return KeyAreaList(plan=plan, codes=tuple(codes), source=path.name)


def _field(error: Mapping) -> str:
    return ".".join(str(p) for p in error["loc"]) or ""


def _which(row: Mapping[str, str]) -> str:
    return "code" if (row.get("code") or "").strip() else "name"


def key_area_lists(folder: str | Path, registry: Registry) -> dict[str, KeyAreaList]:
    """Every ``key_areas_<plan id>.csv`` of a folder, by plan id (none: an empty dict).

    Raises
    ------
    KeyAreaListError
        For the first file that cannot be used.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    lists = {}
    for path in sorted(folder.glob("key_areas_*.csv")):
        if KEY_AREA_FILE.match(path.name):
            found = read_key_area_list(path, registry)
            lists[found.plan] = found
    return lists
