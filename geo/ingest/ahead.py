"""Work a sequence out in a second process, a step ahead of the one that uses it.

An import has two halves that need each other only in order: reading,
checking and placing a chunk of rows (pure work on the file), and writing
it into the store (one connection, one transaction). On two cores the first
half of chunk *k + 1* runs while the second half of chunk *k* writes
(issue 18). :func:`in_second_process` runs a generator in a forked child and
hands its items over a pipe, in order:

- the child is at most one item ahead (a pipe's send blocks until the parent
  reads), so memory stays flat however large the file;
- an error in the child is raised in the parent, where the import's
  transaction rolls back (a :class:`~geo.ingest.refusal.FileRefused` keeps its
  code and parameters); a child that dies without a word is an error too;
- the parent ending early (an error, a refused file) ends the child; a
  parent killed outright leaves the child a broken pipe, and it ends.

The child is forked, so it sees the parent's objects (the boundaries, the
open file) without copying them, and it never touches the store's connection
it inherits: it ends with ``os._exit``, running no finalizer. Fork only from a
process with one thread (:func:`can_fork`): a thread of the parent may hold a
lock the child would wait on for ever.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np
import pandas as pd

from geo.ingest.refusal import FileRefused

__all__ = ["can_fork", "in_second_process", "packed_text", "unpacked_text"]

T = TypeVar("T")

#: Characters a text column may be joined by to cross the pipe: the first one no cell of
#: the column holds (a column holding all of them travels as it is).
_SEPARATORS = ("\x1f", "\x1e", "\x1d", "\x00")


def can_fork() -> bool:
    """A second process can be forked safely and can run beside this one: two cores or more,
    ``fork`` available (POSIX), and no other thread in this process (a web server's
    workers import in threads: they stay in one process)."""
    return ((os.cpu_count() or 1) >= 2
            and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def in_second_process(items: Callable[[], Iterable[T]]) -> Iterator[T]:
    """The items of ``items()``, computed in a forked child one step ahead of the caller.

    Raises in the caller what ``items()`` raised in the child (a ``FileRefused`` as
    such; an exception that cannot be pickled as a ``RuntimeError`` with its traceback).
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(items, send, receive), daemon=True,
                            name="borderwatch-import-ahead")
    child.start()
    send.close()  # the child's end: EOF here once the child has gone
    try:
        while True:
            try:
                what, payload = receive.recv()
            except EOFError:
                child.join()
                raise RuntimeError("the import's second process ended without an answer "
                                   f"(exit code {child.exitcode})") from None
            if what == "item":
                yield payload
            elif what == "done":
                return
            elif what == "refused":
                code, params = payload
                raise FileRefused(code, **params)
            else:
                raise payload
    finally:
        receive.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(items: Callable[[], Iterable[T]], send, receive) -> None:
    """The child: send each item, then "done", or the error that stopped it.

    It first closes its inherited copy of the parent's end: else the pipe keeps a reader
    (the child itself) after the parent is killed, and a full pipe blocks the child's
    send for ever instead of breaking it.
    """
    receive.close()
    try:
        for item in items():
            send.send(("item", item))
        send.send(("done", None))
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone (killed, or it stopped early): nobody to tell
    except FileRefused as err:
        send.send(("refused", (err.code, err.params)))
    except BaseException as err:  # noqa: BLE001 - raised again in the parent
        try:
            send.send(("error", err))
        except Exception:  # noqa: BLE001 - not picklable: its text
            send.send(("error", RuntimeError(traceback.format_exc())))
    finally:
        send.close()


def packed_text(frame: pd.DataFrame) -> tuple:
    """``frame`` ready for the pipe: each column whose every cell is a ``str`` as one string,
    its cells joined by a character none of them holds; the other columns as they are.

    Pickle writes (and reads back) a text column cell by cell, with a memo entry for
    each; one string is written and read whole: a fifth of the CPU time of sending
    a chunk's cells as written, and none of reading them back until they are split
    (:func:`unpacked_text`; issue 18).
    """
    columns = []
    for name in frame.columns:
        column = frame[name]
        cells = column.to_numpy(dtype=object)
        if len(cells) and pd.api.types.infer_dtype(cells, skipna=False) == "string":
            text = None
            for separator in _SEPARATORS:
                joined = separator.join(cells.tolist())
                if joined.count(separator) == len(cells) - 1:
                    text = (separator, joined)
                    break
            if text is not None:
                columns.append((name, column.dtype, text))
                continue
        columns.append((name, None, column))
    return frame.index, columns


def unpacked_text(packed: tuple) -> pd.DataFrame:
    """The frame :func:`packed_text` packed: the same cells, dtypes and index."""
    index, columns = packed
    out = {}
    for name, dtype, payload in columns:
        if dtype is None:
            out[name] = payload
        else:
            separator, joined = payload
            cells = np.array(joined.split(separator), dtype=object)
            out[name] = pd.Series(cells, index=index, dtype=dtype, name=name)
    return pd.DataFrame(out, index=index, columns=[name for name, _, _ in columns])
