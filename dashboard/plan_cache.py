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

The cache folder lives beside the record store and holds counts of the same
records: it is as confidential as the store, and only the server reads it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

__all__ = ["KEEP", "being_built", "cached", "code_digest", "elect", "failure", "plan_key",
           "record_failure", "stored"]

#: Plans kept on disk (the newest ones): older versions of the records are pruned.
KEEP = 4
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
    if not path.exists():
        return False
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


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


def _prune(folder: Path, kind: str, *, keep: Path, count: int = KEEP) -> None:
    files = sorted(folder.glob(f"{kind}-*.pickle"), key=lambda p: p.stat().st_mtime,
                   reverse=True)
    for old in [p for p in files if p != keep][count - 1:]:
        for suffix in (".pickle", ".lock", ".build.lock", ".failed"):
            old.with_suffix(suffix).unlink(missing_ok=True)
