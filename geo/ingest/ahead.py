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

from geo.ingest.refusal import FileRefused

__all__ = ["can_fork", "in_second_process"]

T = TypeVar("T")


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
