"""Turn raw cells into typed values, vectorised, with a reason for every cell that fails.

Dates are read the Vietnamese way first: dd/mm/yyyy and d/m/yyyy (also with
``-`` or ``.``), then ISO yyyy-mm-dd, Excel's date cells, and Excel serial
numbers; an impossible date (31/02), a date in the future or before 2000 is
refused with its reason. Coded values (incident type, outreach format, model
type …) accept the code, the Vietnamese label and common spellings; an
unknown value gets the closest allowed one as a suggestion. An incident's
status (its outcome, kết quả xử lý) must be one its type allows
(:data:`geo.kinds.OUTCOMES`): :func:`check_outcomes`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.kinds import INCIDENT_TYPES, OUTCOMES, STATUSES, Field
from geo.names import fold

__all__ = ["EARLIEST", "MAX_COUNT", "CellErrors", "check_outcomes", "parse_choice", "parse_codes",
           "parse_dates", "parse_floats", "parse_ints", "read_numbers"]

#: Records before this day are refused (the programmes this product serves start later).
EARLIEST = dt.date(2000, 1, 1)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: The years a datetime64[ns] can hold (whole years only).
_FIRST_YEAR, _LAST_YEAR = 1678, 2261
#: Counts beyond this are not counts (and beyond 2**53 not even exact as float64).
MAX_COUNT = 10**15


@dataclass
class CellErrors:
    """Rejections found in one column: positions (into the chunk) with code and params."""

    positions: list[int]
    codes: list[str]
    params: list[dict]
    suggestions: list[str]

    @classmethod
    def empty(cls) -> CellErrors:
        return cls([], [], [], [])

    def add(self, mask: np.ndarray, code: str, params, suggestion: str = "") -> None:
        idx = np.flatnonzero(mask)
        self.positions.extend(idx.tolist())
        self.codes.extend([code] * len(idx))
        if callable(params):
            self.params.extend(params(i) for i in idx)
        else:
            self.params.extend(dict(params) for _ in idx)
        self.suggestions.extend([suggestion] * len(idx))


def _all_text(values: pd.Series) -> bool:
    """Every cell is a ``str`` (a CSV column: no empty cell is None or NaN)."""
    return pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty")


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (CSV cells already are; XLSX cells may be numbers or dates).

    Stripped in one list comprehension, not pandas' string accessor, which calls a
    Python function per cell (a third of a national import's parsing, issue 18)."""
    if not _all_text(values):
        values = values.map(lambda v: v if isinstance(v, str) else ("" if v is None else str(v)))
    return pd.Series(list(map(str.strip, values.to_numpy(dtype=object))), index=values.index,
                     dtype=object, name=values.name)


def read_numbers(values: pd.Series) -> np.ndarray:
    """The cells as float64 numbers, NaN where empty or unreadable; white space around a
    number is ignored and a decimal comma accepted ("10,987").

    A text cell that parses as written is read so, in C (nearly every coordinate of a
    file); only the others are stripped and have their comma replaced (no text with a
    comma parses as written, and white space around a number does not change it), so the
    numbers are those of the slow path for every cell.
    """
    if not _all_text(values):
        text = _text(values).str.replace(",", ".", regex=False)
        return pd.to_numeric(text, errors="coerce").to_numpy(float)
    cells = values.to_numpy(dtype=object)
    numbers = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce") \
        .to_numpy(float, copy=True)
    again = np.flatnonzero(np.isnan(numbers) & (cells != ""))  # an empty cell is no number
    if len(again):
        text = [v.strip().replace(",", ".") for v in cells[again]]
        numbers[again] = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce") \
            .to_numpy(float)
    return numbers


def parse_dates(values: pd.Series, today: dt.date, errors: CellErrors, *,
                allow_future: bool = False) -> pd.Series:
    """datetime64 dates (NaT where empty or refused); refusals are added to ``errors``.

    ``allow_future`` admits dates after ``today`` (a model's planned end date).
    Only ASCII digits are read (a date in Arabic-Indic or full-width digits is
    unreadable, not a crash), and a year that datetime64 cannot hold (0000, 9999)
    is refused as too old, in the future or implausible instead of overflowing.
    """
    n = len(values)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_date = values.map(lambda v: isinstance(v, (dt.date, dt.datetime)) and not pd.isna(v)
                         ).to_numpy(bool)
    text = _text(values.where(~is_date, ""))
    shown = text.copy()
    if is_date.any():
        shown[is_date] = values[is_date].map(lambda v: f"{v.day:02d}/{v.month:02d}/{v.year:04d}")
    dmy = text.str.extract(r"^([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})(?:\s.*)?$")
    ymd = text.str.extract(r"^([0-9]{4})[\-/.]([0-9]{1,2})[\-/.]([0-9]{1,2})(?:[T\s].*)?$")
    serial = pd.to_numeric(text.where(text.str.fullmatch(r"[0-9]{5}(\.[0-9]+)?"), None),
                           errors="coerce")
    day = pd.to_numeric(dmy[0].fillna(ymd[2]), errors="coerce")
    month = pd.to_numeric(dmy[1].fillna(ymd[1]), errors="coerce")
    year = pd.to_numeric(dmy[2].fillna(ymd[0]), errors="coerce")
    has_parts = day.notna().to_numpy()
    if is_date.any():
        cells = values[is_date]
        day[is_date] = cells.map(lambda v: v.day)
        month[is_date] = cells.map(lambda v: v.month)
        year[is_date] = cells.map(lambda v: v.year)
    parts = has_parts | is_date
    no_day = parts & ~(month.between(1, 12) & day.between(1, 31)).to_numpy()  # 00/00/2024
    # datetime64[ns] holds the years 1678-2261; outside them no date is built, the year says why
    early = parts & ~no_day & (year < _FIRST_YEAR).to_numpy()
    late = parts & ~no_day & (year > _LAST_YEAR).to_numpy()
    buildable = parts & ~no_day & ~early & ~late
    built = pd.to_datetime(
        pd.DataFrame({"year": year.where(buildable), "month": month.where(buildable),
                      "day": day.where(buildable)}),
        errors="coerce",
    )
    out[buildable] = built[buildable]
    from_serial = serial.notna().to_numpy() & ~has_parts
    if from_serial.any():
        out[from_serial] = _EXCEL_EPOCH + pd.to_timedelta(serial[from_serial].astype(int), "D")
    filled = text.ne("").to_numpy() | is_date
    unreadable = filled & ~parts & ~from_serial
    impossible = no_day | (buildable & out.isna().to_numpy())
    errors.add(unreadable, "date.unreadable", lambda i: {"value": shown.iat[i]})
    errors.add(impossible, "date.impossible", lambda i: {"value": shown.iat[i]})
    errors.add(early, "date.too_old", lambda i: {"value": shown.iat[i]})
    if allow_future:
        errors.add(late, "date.implausible", lambda i: {"value": shown.iat[i]})
    else:
        errors.add(late, "date.future",
                   lambda i: {"value": shown.iat[i], "today": today.strftime("%d/%m/%Y")})
    ok = out.notna().to_numpy()
    future = ok & (out > pd.Timestamp(today)).to_numpy() & (not allow_future)
    too_old = ok & (out < pd.Timestamp(EARLIEST)).to_numpy()
    fmt = out.dt.strftime("%d/%m/%Y")
    errors.add(future, "date.future",
               lambda i: {"value": fmt.iat[i], "today": today.strftime("%d/%m/%Y")})
    errors.add(too_old, "date.too_old", lambda i: {"value": fmt.iat[i]})
    out[future | too_old] = pd.NaT
    assert len(out) == n
    return out


def parse_ints(values: pd.Series, field: Field, errors: CellErrors) -> pd.Series:
    """Nullable integers; "1.835" and "1,835" read as thousands, "12.0" as 12.

    Only ASCII digits; a number beyond :data:`MAX_COUNT` is refused as too large.
    """
    text = _text(values)
    cleaned = text.str.replace(r"(?<=[0-9])[.,\s](?=[0-9]{3}([^0-9]|$))", "", regex=True)
    cleaned = cleaned.str.replace(r"\.0+$", "", regex=True)
    number = pd.to_numeric(cleaned.where(cleaned.str.fullmatch(r"[+-]?[0-9]+"), None),
                           errors="coerce")
    filled = text.ne("").to_numpy()
    bad = filled & number.isna().to_numpy()
    errors.add(bad, "number.unreadable", lambda i: {"value": text.iat[i], "column": field.name})
    huge = (number.notna() & (number.abs() > MAX_COUNT)).to_numpy()
    errors.add(huge, "number.too_large", lambda i: {"value": text.iat[i], "column": field.name})
    number = number.where(~huge).astype("float64")
    _range(number, field, errors, text.to_numpy())
    return pd.array(number.where(~_out_of_range(number, field)), dtype="Int64")


def parse_floats(values: pd.Series, field: Field, errors: CellErrors,
                 numbers: np.ndarray | None = None) -> pd.Series:
    """Floats (coordinates); a decimal comma is accepted ("10,987").

    ``numbers``, when given, is :func:`read_numbers` of ``values``, read already (the
    importer reads the coordinates once, for its check of swapped ones and here)."""
    if numbers is None:
        numbers = read_numbers(values)
    number = pd.Series(numbers, index=values.index, dtype="float64")
    missing = np.isnan(number.to_numpy())
    filled = ~missing
    if missing.any():  # an empty cell is no error; another one that is no number is
        cells = values[missing]
        written = (cells.to_numpy(dtype=object) != "") if _all_text(cells) else \
            np.ones(len(cells), bool)
        if written.any():
            written[written] = _text(cells[written]).ne("").to_numpy()
        filled[missing] = written
    bad = filled & missing
    shown = _Shown(values)
    errors.add(bad, "coords.unreadable", lambda i: {"value": shown[i]})
    _range(number, field, errors, shown)
    return number.where(~_out_of_range(number, field)).astype("float64")


class _Shown:
    """The stripped text of a cell, worked out only for the cells a message quotes."""

    def __init__(self, values: pd.Series) -> None:
        self._values = values

    def __getitem__(self, i: int) -> str:
        return _text(self._values.iloc[i : i + 1]).iat[0]


def _out_of_range(number: pd.Series, field: Field) -> np.ndarray:
    low = field.minimum if field.minimum is not None else -np.inf
    high = field.maximum if field.maximum is not None else np.inf
    return (number.notna() & ((number < low) | (number > high))).to_numpy()


def _range(number: pd.Series, field: Field, errors: CellErrors, text) -> None:
    """Refuse the numbers outside the field's range; ``text[i]`` is the i-th cell as shown."""
    out = _out_of_range(number, field)
    if field.minimum == 0 and field.maximum is None:
        errors.add(out, "number.negative", lambda i: {"value": text[i], "column": field.name})
    else:
        errors.add(out, "number.out_of_range",
                   lambda i: {"value": text[i], "column": field.name,
                              "minimum": field.minimum, "maximum": field.maximum})


def parse_choice(values: pd.Series, field: Field, errors: CellErrors) -> pd.Series:
    """The code of each value (matched by code, Vietnamese label or alias), else empty."""
    lookup = {key: c.code for c in field.choices for key in c.keys()}
    text = _text(values)
    folded = {v: fold(v) for v in text.unique()}  # few distinct values, many rows
    keys = text.map(folded)
    codes = keys.map(lookup)
    bad = text.ne("").to_numpy() & codes.isna().to_numpy()
    allowed = ", ".join(f"{c.code} ({c.label_vi})" for c in field.choices)
    for i in np.flatnonzero(bad):
        close = difflib.get_close_matches(keys.iat[i], list(lookup), n=1, cutoff=0.6)
        suggestion = ""
        if close:
            choice = next(c for c in field.choices if c.code == lookup[close[0]])
            suggestion = f"{choice.code} ({choice.label_vi})"
        errors.positions.append(int(i))
        errors.codes.append("choice.unknown")
        errors.params.append({"value": text.iat[i], "column": field.name, "allowed": allowed})
        errors.suggestions.append(suggestion)
    return codes.astype(object).where(codes.notna(), None)


#: For a status another type uses, the one of this type that says the most alike, if any:
#: (type, status) -> status.
_NEAREST_OUTCOME = {
    ("illegal_crossing", "received"): "verified",
    ("illegal_crossing", "tried"): "prosecuted",
    ("victim", "prosecuted"): "verified",
    ("victim", "tried"): "verified",
    ("trafficking_case", "administrative_sanction"): "verified",
    ("trafficking_case", "warning_education"): "verified",
    ("trafficking_case", "deportation"): "verified",
    ("trafficking_case", "supported"): "verified",
    ("trafficking_case", "returned_home"): "verified",
    ("tip", "administrative_sanction"): "verified",
    ("tip", "warning_education"): "verified",
    ("tip", "deportation"): "verified",
    ("tip", "supported"): "verified",
    ("tip", "returned_home"): "verified",
    ("victim", "administrative_sanction"): "verified",
}


def check_outcomes(types: pd.Series, statuses: pd.Series, errors: CellErrors,
                   written: pd.Series | None = None) -> np.ndarray:
    """Refuse each status (outcome) its record's type does not allow; returns the mask.

    ``types`` and ``statuses`` are parsed codes (None where empty or refused:
    those are not looked at again); ``written`` the status cells as written,
    shown in the message. The refusal (``status.not_for_type``) names the
    type and lists what it allows; the suggestion is the allowed status
    closest in meaning, when there is one.

    >>> errs = CellErrors.empty()
    >>> check_outcomes(pd.Series(["victim", "illegal_crossing", "tip"]),
    ...                pd.Series(["supported", "tried", None]), errs).tolist()
    [False, True, False]
    >>> errs.codes, errs.suggestions
    (['status.not_for_type'], ['prosecuted (Khởi tố)'])
    """
    labels = {c.code: c.label_vi for c in STATUSES}
    type_labels = {c.code: c.label_vi for c in INCIDENT_TYPES}
    type_arr = types.astype(object).to_numpy()
    status_arr = statuses.astype(object).to_numpy()
    given = np.fromiter(map(isinstance, status_arr, itertools.repeat(str)), bool,
                        len(status_arr)) & (status_arr != "")
    bad = np.zeros(len(type_arr), bool)
    if given.any():  # most files give no outcome: nothing to compare
        status_text = status_arr.astype(str)
        for kind, allowed in OUTCOMES.items():
            bad |= (type_arr == kind) & given & ~np.isin(status_text, allowed)
    shown = statuses if written is None else written
    for i in np.flatnonzero(bad):
        kind, code = type_arr[i], status_arr[i]
        nearest = _NEAREST_OUTCOME.get((kind, code))
        errors.positions.append(int(i))
        errors.codes.append("status.not_for_type")
        errors.params.append({
            "value": str(shown.iat[i]), "status": code, "type": kind,
            "type_label": type_labels.get(kind, kind),
            "allowed": ", ".join(f"{c} ({labels[c]})" for c in OUTCOMES[kind]),
        })
        errors.suggestions.append(f"{nearest} ({labels[nearest]})" if nearest else "")
    return bad


def parse_codes(values: pd.Series) -> pd.Series:
    """Commune codes as 5-digit text ("25681", 25681, "25681.0" → "25681"); empty stays empty."""
    text = _text(values)
    return pd.Series([_code(v) for v in text.to_numpy()], index=text.index, dtype=object,
                     name=text.name)


_POINT_ZEROS = re.compile(r"\.0+$")
_CODE = re.compile(r"[0-9]{1,5}")


def _code(text: str) -> str:
    """One stripped cell as :func:`parse_codes` reads it."""
    text = _POINT_ZEROS.sub("", text)
    return text.zfill(5) if _CODE.fullmatch(text) else text
