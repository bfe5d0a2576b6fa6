"""The release plan (and the forecasts) of each version of the records, kept on disk across
restarts and workers.

Building the small-count suppression (:func:`layers.suppression.release_plan`)
solves the whole incident table: seconds to a minute. Roles below commander
see no count until it is ready (fail closed), so it must not be rebuilt by
every gunicorn worker, nor after every restart. This module keys a built plan
by what it depends on — the incident columns it reads, the unit registry, the
threshold and the source of the suppression code itself — and keeps it in
``<data_dir>/cache/``. A file lock makes a second worker wait for the first
one's plan instead of solving the same table again; another lock (:func:`elect`) lets one
worker of several start the process that builds it, and a build that failed leaves its
reason beside the key (:func:`failure`) for the other workers. The forecasts
(:mod:`dashboard.forecast_worker`) are kept the same way, as another ``kind`` of file.

Several stores (servers, test runs) may share one cache folder, and the newest files of
one kind are then those of all of them. So a file is pruned only when it is not in use
(:func:`prunable`): never while younger than :data:`FRESH_SECONDS` (another worker may not
have read it yet), nor while a live worker wants it (:func:`want`: the release worker
holds its current plan's), nor while it is being built. A worker that still finds its
file gone after its build said it was done builds it again, :data:`REBUILDS` times at
most, then says why it failed (:func:`vanished`).

The cache folder lives beside the record store and holds counts of the same
records: it is as confidential as the store, and only the server reads it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

__all__ = ["FRESH_SECONDS", "KEEP", "REBUILDS", "being_built", "cached", "code_digest", "elect",
           "failure", "plan_key", "prunable", "record_failure", "stored", "vanished", "want"]

#: Plans kept on disk (the newest ones): older versions of the records are pruned.
KEEP = 4
#: A file younger than this (seconds) is never pruned, whatever the count: the server that
#: asked for it, or another worker, may not have read it yet.
FRESH_SECONDS = 600.0
#: How many times a worker builds again a file that was gone when its build said it was
#: done, before it says the build failed.
REBUILDS = 2
_LOG = logging.getLogger("borderwatch")
_COLUMNS = ("date", "type", "status", "new_code", "old_code")
T = TypeVar("T")


def code_digest(modules: tuple[str, ...]) -> bytes:
    """The sha256 digest of the source of ``modules`` (a package: of every module in it)."""
    import importlib

    out = hashlib.sha256()
    for name in modules:
        module = importlib.import_module(name)
        # a package: the source of every module in it (a rule may live in any of them)
        files = (sorted(Path(module.__file__).parent.rglob("*.py")) if hasattr(module, "__path__")
                 else [Path(module.__file__)])
        for path in files:
            out.update(path.read_bytes())
    return out.digest()


def plan_key(incidents: pd.DataFrame, registry_composition: pd.DataFrame, threshold: int,
             *, modules: tuple[str, ...] = ("layers.suppression",)) -> str:
    """A short hex key of everything a release plan depends on.

    Two record sets with the same dates, types, statuses and communes get the
    same key whatever their ids or import history; a changed suppression
    module (``modules``' source) changes every key, so a plan made by older
    code is never reused.
    """
    digest = hashlib.sha256()
    digest.update(str(int(threshold)).encode())
    digest.update(code_digest(modules))
    present = [c for c in _COLUMNS if c in incidents.columns]
    digest.update(",".join(present).encode())
    if len(incidents):
        rows = pd.util.hash_pandas_object(incidents[present].astype("string"), index=False)
        digest.update(rows.sort_values().to_numpy().tobytes())  # order of rows does not matter
    digest.update(pd.util.hash_pandas_object(registry_composition.astype("string"),
                                             index=False).to_numpy().tobytes())
    return digest.hexdigest()[:24]


def cached(folder: Path, key: str, build: Callable[[], T], *, kind: str = "release-plan",
           keep: int = KEEP) -> T:
    """The object stored under ``key`` in ``folder``, built (once, across processes) if missing.

    A damaged or unreadable file is rebuilt and replaced, never trusted; the
    new file is written beside and renamed into place, so a reader never sees
    half a file. The oldest files of the same ``kind`` beyond ``keep`` are removed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{key}.pickle"
    with open(folder / f"{kind}-{key}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second worker waits here for the first one's plan
        try:
            if path.exists():
                try:
                    with open(path, "rb") as fh:
                        return pickle.load(fh)
                except Exception:  # noqa: BLE001 — a damaged cache file is rebuilt
                    _LOG.warning("%s cache %s unreadable: rebuilding", kind, path.name)
            value = build()
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            _prune(folder, kind, keep=path, count=keep)
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stored(folder: Path, key: str, *, kind: str = "release-plan"):
    """The object stored under ``key``, or None when there is none (or it cannot be read):
    a look that never waits and never builds."""
    path = Path(folder) / f"{kind}-{key}.pickle"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 — a damaged file is rebuilt by the next cached()
        _LOG.warning("%s cache %s unreadable", kind, path.name)
        return None


def being_built(folder: Path, key: str, *, kind: str = "release-plan") -> bool:
    """Whether a process (this one included) is building ``key`` now (holds its lock)."""
    path = Path(folder) / f"{kind}-{key}.lock"
    return path.exists() and _held(path)


def elect(folder: Path, name: str):
    """The lock named ``name`` in ``folder``, taken without waiting: its open file (closing
    it, or the end of the process, lets it go), or None when another process holds it.

    What elects one worker of several to start a build (its process, then, holds the
    key's own lock while it builds: :func:`cached`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / f"{name}.lock", "a+")  # noqa: SIM115 — the caller closes it
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def record_failure(folder: Path, key: str, reason: str | None, *,
                   kind: str = "release-plan") -> None:
    """Keep why the build of ``key`` failed (one line), for the other workers; ``None``
    removes it (a new attempt begins)."""
    path = Path(folder) / f"{kind}-{key}.failed"
    if reason is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(reason.replace("\n", " ")[:300], encoding="utf-8")
    os.replace(tmp, path)


def failure(folder: Path, key: str, *, kind: str = "release-plan") -> str | None:
    """Why the last build of ``key`` failed (:func:`record_failure`), or None."""
    try:
        return (Path(folder) / f"{kind}-{key}.failed").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def want(folder: Path, name: str):
    """Say that a live worker still wants the file(s) named ``name`` (``"<kind>-<key>"``, or
    a folder's name): an open file holding a shared lock, which :func:`prunable` respects
    until it is closed (or the process ends). Several workers may want the same name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.want"
    while True:
        handle = open(path, "a+")  # noqa: SIM115 — the caller closes it
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:  # the file pruned between our open and our lock: want the new one
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()


def prunable(folder: Path, name: str, path: Path):
    """Whether ``path`` (the file or folder of ``name``) may be removed now: an open file
    holding the exclusive lock of ``name``'s wants (close it once ``path`` is removed: no
    worker can want it meanwhile), or None when it is in use — younger than
    :data:`FRESH_SECONDS`, wanted by a live worker (:func:`want`), or being built (its
    ``.lock`` held: :func:`cached`)."""
    folder = Path(folder)
    try:
        if time.time() - path.stat().st_mtime < FRESH_SECONDS:
            return None
    except FileNotFoundError:
        return None
    lock = folder / f"{name}.lock"
    if lock.exists() and _held(lock):
        return None
    handle = open(folder / f"{name}.want", "a+")  # noqa: SIM115 — the caller closes it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def vanished(kind: str, times: int) -> str:
    """The failure said when a built file of ``kind`` was gone ``times`` times before it
    could be read (:data:`REBUILDS`)."""
    return (f"the {kind} was built {times} times but gone from the cache folder before it "
            "was read")


def _held(path: Path) -> bool:
    """Whether another open file of ``path`` (this process's included) holds its lock."""
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def _prune(folder: Path, kind: str, *, keep: Path, count: int = KEEP) -> None:
    """Remove the files of ``kind`` beyond the ``count`` newest (``keep`` one of them) that
    are not in use (:func:`prunable`)."""
    files = sorted(folder.glob(f"{kind}-*.pickle"), key=_mtime, reverse=True)
    for old in [p for p in files if p != keep][count - 1:]:
        claim = prunable(folder, old.stem, old)
        if claim is None:
            continue
        try:
            for suffix in (".pickle", ".lock", ".build.lock", ".failed", ".want"):
                old.with_suffix(suffix).unlink(missing_ok=True)
        finally:
            claim.close()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned meanwhile by another process
        return 0.0
