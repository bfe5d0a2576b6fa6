"""Read a GeoJSON / GeoPackage / Shapefile of records in a child process, with one GDAL driver.

GDAL is a large C library with many parsers; an upload is hostile until
read. So the points of a file are read by a child process
(``python -m geo.ingest.sandbox DRIVER PATH``) that

- keeps only the one GDAL driver the file's suffix names (every other one,
  VRT included, deregistered before the file is opened; :mod:`geo.gdal_policy`);
- has no network (GDAL's options, and a proxy that is not there), no
  environment of the server (no database URL, no secrets), an empty working
  folder, and limits on memory, CPU time and open files (``resource``);
- answers with JSON only: the rows' cells as text (dates as dates), the
  points already in WGS84 (:func:`geo.ingest.cells.geo_cells`) — never a
  pickle, so a child that went wrong cannot run code in the server.

A child that fails, runs out of time or memory, or answers anything but
that JSON makes the file refused (``file.unreadable``), never the server.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from geo.gdal_policy import DRIVER_OF_SUFFIX
from geo.ingest.refusal import FileRefused, error_detail

__all__ = ["read_geo_cells"]

_ROOT = Path(__file__).resolve().parents[2]
_TOO_COSTLY = "file.too_costly"


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    """Limit this (child) process before it opens the file. Set by the child itself, not by
    a ``preexec_fn`` (unsafe in a threaded server: the child could deadlock before exec)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _decode(value):
    if isinstance(value, dict) and set(value) == {"date"}:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict) and set(value) == {"datetime"}:
        return dt.datetime.fromisoformat(value["datetime"])
    return value


def read_geo_cells(path: Path, limits) -> pd.DataFrame:
    """The cells of a checked vector file (``lat``/``lon`` in WGS84, ``__geometry``), read by
    a limited child process.

    Raises
    ------
    FileRefused
        ``file.unreadable`` with GDAL's or PROJ's complaint, or the limit that was hit.
    """
    path = Path(path)
    driver = DRIVER_OF_SUFFIX[path.suffix.lower()]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(_ROOT),
           "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
           "PROJ_NETWORK": "OFF", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="bw-read-") as cwd:
        env["HOME"] = env["TMPDIR"] = cwd
        try:
            done = subprocess.run(
                [sys.executable, "-m", "geo.ingest.sandbox", driver, str(path.resolve()),
                 str(limits.cpu_seconds), str(limits.memory_bytes)],
                cwd=cwd, env=env, capture_output=True, timeout=limits.cpu_seconds * 2 + 30,
                start_new_session=True, check=False,  # its own session: a timeout kills it all
            )
        except subprocess.TimeoutExpired:
            raise FileRefused(_TOO_COSTLY, file=path.name) from None
    try:
        answer = json.loads(done.stdout.decode("utf-8"), object_hook=None)
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict) or done.returncode != 0:
        killed = done.returncode < 0 or done.returncode in (137, 152)  # a limit's signal
        if killed or (isinstance(answer, dict) and answer.get("code") == _TOO_COSTLY):
            raise FileRefused(_TOO_COSTLY, file=path.name)
        reason = "damaged file"
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            reason = answer["error"]
        raise FileRefused("file.unreadable", file=path.name, error=reason[:400])
    columns, rows = answer.get("columns"), answer.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise FileRefused("file.unreadable", file=path.name, error="damaged file")
    if len(rows) > limits.max_rows:
        raise FileRefused("file.too_many_rows", file=path.name, limit=limits.max_rows)
    frame = pd.DataFrame([[_decode(v) for v in row] for row in rows],
                         columns=[str(c) for c in columns], dtype=object)
    return frame


# -- the child ---------------------------------------------------------------------------


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return str(value)


def _child(driver: str, path: str, cpu_seconds: str, memory_bytes: str) -> int:
    _limit(int(cpu_seconds), int(memory_bytes))
    import warnings

    from geo.gdal_policy import check_path, restrict
    from geo.ingest.file_checks import check_gpkg_schema
    from geo.ingest.cells import geo_cells

    out = sys.stdout
    try:
        kept = restrict({driver})
        if kept != {driver}:
            raise RuntimeError(f"GDAL drivers could not be narrowed to {driver}")
        checked = check_path(path)
        if driver == "GPKG":  # again, here: the schema is read by GDAL right after
            check_gpkg_schema(checked)
        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's notes on odd properties: not for the user
            frame = pyogrio.read_dataframe(checked)
        cells = geo_cells(frame)
    except FileRefused as err:
        json.dump({"error": str(err)}, out)
        return 3
    except (MemoryError, ImportError):  # a library that cannot even load within the limit
        json.dump({"code": _TOO_COSTLY}, out)
        return 3
    except Exception as err:  # noqa: BLE001 - GDAL and PROJ raise many kinds; all mean unreadable
        json.dump({"error": error_detail(err, Path(path))}, out)
        return 3
    json.dump({"columns": list(map(str, cells.columns)),
               "rows": [[_encode(v) for v in row] for row in cells.itertuples(index=False)]},
              out, ensure_ascii=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(*sys.argv[1:5]))
