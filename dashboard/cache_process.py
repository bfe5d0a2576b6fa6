"""A background process that fills the shared cache folder: started, lowered, elected, watched.

Work that takes seconds to minutes of CPU (the forecasts, the statistics of the
commander's common filter states) is done in a separate process rather than in a
thread of a serving worker, which would hold the interpreter's lock all that time.
Every such process is made the same way, here:

- :func:`spawn`: a ``spawn`` (not ``fork``) daemon process of :mod:`multiprocessing`,
  ended with the server, whose scheduling priority the server lowers by :data:`NICE`
  as soon as it exists (in the process, ``os.nice`` would come after the imports and
  the unpickling of its arguments: seconds of CPU at the workers' priority);
- :func:`watch_parent`: the process leaves at once when the server that started it is
  gone (a server killed by a signal runs no exit handler);
- :func:`lead`: of the workers that would start the same work, one only does it — the
  one that holds a lock file in the cache folder (closing the file lets it go).

What the process builds goes to the cache folder (:mod:`dashboard.plan_cache`), where
every worker, and the next start, reads it.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

__all__ = ["NICE", "lead", "spawn", "watch_parent"]

#: The processes' niceness increment: the serving workers come first.
NICE = 10


def spawn(target, args: tuple, *, name: str, nice: int = NICE):
    """Start ``target(*args)`` in a new ``spawn`` daemon process at ``nice`` below this
    process's priority; the started :class:`multiprocessing.Process`.

    ``target`` and ``args`` are pickled (module-level functions, settings, pipes).
    """
    mp = multiprocessing.get_context("spawn")
    process = mp.Process(target=target, name=name, daemon=True, args=args)
    process.start()
    try:
        os.setpriority(os.PRIO_PROCESS, process.pid,
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
    except OSError:  # gone already: its exit code says why
        pass
    return process


def watch_parent(parent: int, *, every: float = 1.0) -> threading.Thread:
    """In the process: a daemon thread that ends the process at once when ``parent`` (the
    server's pid) is no longer its parent."""
    def watch():
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(0)

    thread = threading.Thread(target=watch, daemon=True, name="parent-watch")
    thread.start()
    return thread


def lead(folder: Path, name: str):
    """The open lock file ``<folder>/<name>.lock``, locked by this process, or None when
    another process (or another open of it in this one) holds it. Closing the returned
    file releases the lock; so does the end of the process."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / f"{name}.lock", "a+")  # noqa: SIM115 — held open while leading
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock
