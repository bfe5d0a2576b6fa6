"""A process of its own, at a lower priority, for a build that fills the shared disk cache.

The forecasts (:mod:`dashboard.forecast_worker`) and the release plan
(:mod:`dashboard.release_worker`) take seconds to many minutes of CPU and, at national
scale, gigabytes. Built in a thread of the serving process they would hold the
interpreter's lock and that memory while every request waits. So each runs in a
``spawn``-ed process (a fresh interpreter: nothing of the server's memory is copied),
lowered by ``nice`` from the server as soon as it exists, which talks to the server
through one pipe and writes what it builds into the cache folder
(:mod:`dashboard.plan_cache`), where every worker reads it.

Such a process never outlives its server: it is a daemon process of
:mod:`multiprocessing` (ended at the server's exit), and it watches its parent and leaves
within a second when the parent is gone (a server killed by a signal runs no exit
handler). The cache's file locks are the kernel's: they go with the process that held
them, so a killed build leaves no lock behind.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable

__all__ = ["PARENT_CHECK_SECONDS", "start", "stop"]

#: How often the process looks whether its server is still there, in seconds.
PARENT_CHECK_SECONDS = 1.0


def start(target: Callable, args: tuple, *, name: str, nice: int):
    """Start ``target(conn, *args)`` in a spawned daemon process, ``nice`` steps below the
    caller; ``(process, conn)``, ``conn`` the caller's end of their pipe.

    ``target`` and ``args`` must pickle (a module-level function, plain data). The
    priority is lowered from here at once: in the process itself, :func:`os.nice` would
    come after its imports and the unpickling of its arguments (seconds of CPU at the
    server's priority).
    """
    mp = multiprocessing.get_context("spawn")
    here, there = mp.Pipe()
    process = mp.Process(target=_main, name=name, daemon=True,
                         args=(target, args, there, os.getpid()))
    process.start()
    try:
        os.setpriority(os.PRIO_PROCESS, process.pid,
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
    except OSError:  # gone already: its pipe says so
        pass
    there.close()  # the process's end lives in the process only: its death is our EOF
    return process, here


def stop(process, conn, *, grace: float = 5.0) -> None:
    """Tell the process there is nothing more (``None`` on the pipe), close the pipe, and
    wait ``grace`` seconds for it to end; then terminate it, then kill it."""
    if conn is not None:
        try:
            conn.send(None)
        except OSError:
            pass
        conn.close()
    if process is None:
        return
    process.join(grace)
    if process.is_alive():
        process.terminate()
        process.join(grace)
    if process.is_alive():
        process.kill()
        process.join()


def _main(target: Callable, args: tuple, conn, parent: int) -> None:
    """The process: watch the parent, then run ``target``."""
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()
    target(conn, *args)


def _watch(parent: int) -> None:
    """Leave at once when the server that started this process is gone."""
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(0)
