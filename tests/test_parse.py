"""Cells to values (geo.ingest.parse): numbers read in C where they parse as written, the
same values and the same refusals as the cell-by-cell path for every other cell."""

import math

import numpy as np
import pandas as pd

from geo.ingest.parse import CellErrors, parse_codes, parse_floats, read_numbers
from geo.kinds import KINDS

_LAT = KINDS["incidents"].field("lat")


def test_numbers_of_text_cells_with_spaces_commas_and_blanks():
    cells = pd.Series(["10.5", " 10.5 ", "10,5", "", "abc", "1e-05", "  ", "-0", "11,2 "],
                      dtype=object)
    got = read_numbers(cells)
    want = [10.5, 10.5, 10.5, np.nan, np.nan, 1e-05, np.nan, -0.0, 11.2]
    assert len(got) == len(want)
    assert all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, want))


def test_numbers_of_spreadsheet_cells_that_are_not_all_text():
    cells = pd.Series([10.5, "10,5", None, "", 7], dtype=object)
    got = read_numbers(cells)
    assert got[[0, 1, 4]].tolist() == [10.5, 10.5, 7.0]
    assert np.isnan(got[[2, 3]]).all()


def test_coordinates_refused_with_the_cell_as_written_stripped():
    cells = pd.Series([" abc ", " 95 ", "", "   ", "11,25", "x1"], dtype=object)
    errors = CellErrors.empty()
    values = parse_floats(cells, _LAT, errors)
    assert values.iloc[4] == 11.25
    assert values.iloc[[0, 1, 2, 3, 5]].isna().all()
    found = sorted(zip(errors.positions, errors.codes, [p["value"] for p in errors.params]))
    assert found == [(0, "coords.unreadable", "abc"), (1, "number.out_of_range", "95"),
                     (5, "coords.unreadable", "x1")]


def test_codes_padded_and_without_a_decimal_tail():
    cells = pd.Series(["681", " 25681.0 ", "25681.00", "Xã Long Thuận", "", "123456"],
                      dtype=object)
    assert parse_codes(cells).tolist() == ["00681", "25681", "25681", "Xã Long Thuận", "",
                                           "123456"]
