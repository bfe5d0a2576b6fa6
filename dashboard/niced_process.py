"""A process of its own, at a lower priority, for a build that fills the shared disk cache.

The forecasts (:mod:`dashboard.forecast_worker`) and the release plan
(:mod:`dashboard.release_worker`) take seconds to many minutes of CPU and, at national
scale, gigabytes. Built in a thread of the serving process they would hold the
interpreter's lock and that memory while every request waits. So each runs in a
``spawn``-ed process (a fresh interpreter: nothing of the server's memory is copied),
lowered by ``nice`` from the server as soon as it exists, which talks to the server
through one pipe and writes what it builds into the cache folder
(:mod:`dashboard.plan_cache`), where every worker reads it.

Such a process may start a pool of processes of its own (the national release plan
suppresses several provinces at once), so it is not a daemon process of
:mod:`multiprocessing`, which may not have children; and a process that is not a daemon
is *joined* at the interpreter's exit, not ended. So:

- it never outlives its server: an exit handler of this module (run before
  :mod:`multiprocessing`'s own, which would wait for it) terminates every process
  started here that still runs, and refuses to start another; and it watches its
  parent and leaves within a second when the parent is gone (a server killed by a
  signal runs no exit handler), killing the processes it started first;
- its pool's processes go with it: they run :func:`watching`'s watch too (a pool's
  ``initializer``), so whether the build leaves, is terminated or is killed, they leave
  within a second of it;
- it runs niced, and so does its pool: a process's niceness is inherited by the
  processes it starts, and the pool is started by its main thread, after the renice;
- the cache's file locks are the kernel's: they go with the process that held them, so
  a killed build leaves no lock behind; its pool's processes are spawned (a fresh
  interpreter holding none of its parent's files), so they hold none.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import multiprocessing.util  # its exit handler joins every child: ours, registered after it, runs first
import os
import threading
import time
import weakref
from collections.abc import Callable

__all__ = ["PARENT_CHECK_SECONDS", "Exiting", "start", "stop", "watch_parent", "watching"]

#: How often the process looks whether its server is still there, in seconds.
PARENT_CHECK_SECONDS = 1.0
#: The processes started here (ended at the interpreter's exit if still running), the lock
#: that guards them, and whether that exit has begun (then no process is started).
_STARTED: weakref.WeakSet = weakref.WeakSet()
_STARTED_LOCK = threading.Lock()
_EXITING = threading.Event()


class Exiting(RuntimeError):
    """No process is started once the interpreter's exit has begun: it would outlive it.
    (The workers' threads take it as their end, not as a failure.)"""


def start(target: Callable, args: tuple, *, name: str, nice: int):
    """Start ``target(conn, *args)`` in a spawned process, ``nice`` steps below the
    caller; ``(process, conn)``, ``conn`` the caller's end of their pipe.

    ``target`` and ``args`` must pickle (a module-level function, plain data). The
    priority is lowered from here at once: in the process itself, :func:`os.nice` would
    come after its imports and the unpickling of its arguments (seconds of CPU at the
    server's priority).

    Raises
    ------
    Exiting
        The interpreter is exiting (a process started now would outlive it).
    """
    mp = multiprocessing.get_context("spawn")
    here, there = mp.Pipe()
    process = mp.Process(target=_main, name=name, args=(target, args, there, os.getpid()))
    with _STARTED_LOCK:
        if _EXITING.is_set():
            here.close()
            there.close()
            raise Exiting(f"{name}: not started, the interpreter is exiting")
        process.start()
        _STARTED.add(process)
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


def watching() -> Callable[[], None]:
    """What each process of a pool started in this process runs first (its
    ``initializer``): :func:`watch_parent` of this process, so that it leaves within a
    second when this process is gone, however it went.

    A callable that pickles (to a spawned process), for
    :func:`layers.suppression.release_plan`'s ``initializer``.
    """
    return functools.partial(watch_parent, os.getpid())


def watch_parent(parent: int) -> None:
    """Watch, in a thread, that this process's parent is still ``parent``; when it is not
    (gone, and this process handed to another), end the processes this one started and
    leave at once."""
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()


def _main(target: Callable, args: tuple, conn, parent: int) -> None:
    """The process: watch the parent, then run ``target``."""
    watch_parent(parent)
    target(conn, *args)


def _watch(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            for child in multiprocessing.active_children():  # a pool's, which watch us too
                child.kill()
            os._exit(0)


def _end_all() -> None:
    """At the interpreter's exit: terminate every process started here that still runs
    (and wait for it), and start no other."""
    with _STARTED_LOCK:
        _EXITING.set()
        running = [p for p in _STARTED if p.is_alive()]
    for process in running:
        process.terminate()
    for process in running:
        process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join()


def _forget_started() -> None:
    """In a process forked from this one (gunicorn's workers): its parent's processes are
    not its children."""
    global _STARTED_LOCK
    _STARTED_LOCK = threading.Lock()
    _STARTED.clear()


atexit.register(_end_all)
os.register_at_fork(after_in_child=_forget_started)
