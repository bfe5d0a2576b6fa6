"""The second process of a large import: items in order, its errors raised here, its end."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
import pytest

from geo.ingest.ahead import in_second_process, packed_text, unpacked_text
from geo.ingest.refusal import FileRefused


def _squares(n):
    for i in range(n):
        yield {"i": i, "square": i * i, "pid": os.getpid()}


def test_items_come_in_order_from_another_process():
    items = list(in_second_process(lambda: _squares(50)))
    assert [item["square"] for item in items] == [i * i for i in range(50)]
    assert {item["pid"] for item in items} != {os.getpid()}


def _refuse_after(n):
    yield from range(n)
    raise FileRefused("file.personal_data", columns="Số điện thoại")


def test_a_refusal_in_the_child_is_raised_here_with_its_code():
    seen = []
    with pytest.raises(FileRefused) as err:
        for item in in_second_process(lambda: _refuse_after(3)):
            seen.append(item)
    assert seen == [0, 1, 2]
    assert err.value.code == "file.personal_data"
    assert "Số điện thoại" in err.value.describe("vi")


def _fail():
    yield 1
    raise KeyError("no such column")


def _die():
    yield 1
    os._exit(3)


def test_an_error_or_a_death_in_the_child_is_an_error_here():
    with pytest.raises(KeyError, match="no such column"):
        list(in_second_process(_fail))
    with pytest.raises(RuntimeError, match="exit code 3"):
        list(in_second_process(_die))


def test_stopping_early_ends_the_child():
    items = in_second_process(lambda: _squares(10_000))
    assert next(items)["i"] == 0
    items.close()  # the consumer stops (an error in the import): the child is ended, joined
    assert not [p for p in __import__("multiprocessing").active_children()
                if p.name == "borderwatch-import-ahead"]


def test_text_columns_cross_the_pipe_joined_and_come_back_the_same():
    """Cells holding the joining characters, Vietnamese, empty cells, a column of NaN and
    numbers, a StringDtype column and an empty frame: the same cells, dtypes and index."""
    frame = pd.DataFrame({
        "record_id": pd.array(["BP-1", "", "Xã Long Thuận"], dtype="str"),
        "sep": ["a\x1fb", "c\x1ed", "\x1d"],  # the first three joiners are in it: \x00 joins
        "every": ["\x1f\x1e\x1d\x00", "x", "y"],  # each joiner in it: travels as it is
        "mixed": ["1", None, np.nan],
        "lat": [10.5, np.nan, 11.25],
    }, index=pd.RangeIndex(7, 10))
    packed = pickle.loads(pickle.dumps(packed_text(frame)))
    kinds = {name: dtype is not None for name, dtype, _ in packed[1]}
    assert kinds == {"record_id": True, "sep": True, "every": False, "mixed": False,
                     "lat": False}
    back = unpacked_text(packed)
    pd.testing.assert_frame_equal(back, frame)
    assert back["sep"].tolist() == ["a\x1fb", "c\x1ed", "\x1d"]
    empty = frame.iloc[0:0]
    pd.testing.assert_frame_equal(unpacked_text(packed_text(empty)), empty)
