"""What GDAL may do in this process: open only the drivers we name, never the network.

GDAL picks a vector driver by a file's content, not by its name, and some of
its drivers read other files: an OGR VRT document saved as ``x.geojson`` is
opened as VRT, and its ``SrcDataSource`` can name the victim store, the
accounts file, ``/proc/self/environ`` or a URL (``/vsicurl/``). pyogrio
registers every driver at start and cannot be told which one to use for
reading (pyogrio issue #310), and GDAL reads ``GDAL_SKIP`` / ``OGR_SKIP`` only
at registration, which pyogrio has already done. So :func:`restrict`
deregisters, through GDAL's own C API, every driver but the ones this process
needs, and sets the configuration options that shut GDAL's network access and
external-file features for the whole process.

- The server and the command line keep :data:`PROCESS_DRIVERS` (GeoJSON,
  GeoPackage, Shapefile: the bundled boundaries, official boundary imports
  and their GeoPackage output).
- An upload is read in a child process that keeps only the one driver its
  suffix names (:mod:`geo.ingest.sandbox`).

Every path handed to GDAL is a plain local file (:func:`check_path`): no
``/vsi…`` prefix, no ``DRIVER:`` prefix, no URL.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from pathlib import Path

__all__ = ["DRIVER_OF_SUFFIX", "PROCESS_DRIVERS", "CONFIG", "UnsafePath", "check_path",
           "registered_drivers", "restrict", "restricted_pyogrio"]

#: The one GDAL driver each accepted suffix names.
DRIVER_OF_SUFFIX = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
                    ".shp": "ESRI Shapefile"}
#: The drivers the server and the command line keep.
PROCESS_DRIVERS = frozenset(DRIVER_OF_SUFFIX.values())

#: GDAL configuration for the whole process: no network, no virtual or external files.
CONFIG = {
    # /vsicurl/ and friends: only files of an extension nobody has, through a proxy that is
    # not there, with no retries; and no HTTP(S) at all from drivers.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".borderwatch-no-network",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    # GeoPackage / SQLite: no virtual tables over other files, no extensions.
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
    # Drivers that could run code or read memory, should they ever be registered again.
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_MEM_ENABLE_OPEN": "NO",
    # A .shp without its .shx: refused, never rebuilt by scanning the file.
    "SHAPE_RESTORE_SHX": "NO",
}

_LOCK = threading.Lock()
_DONE: dict[str, frozenset] = {}


class UnsafePath(ValueError):
    """A path GDAL would read as something other than a plain local file."""


def check_path(path: str | Path) -> Path:
    """``path`` as a plain local file GDAL can be given; :class:`UnsafePath` otherwise.

    Refuses GDAL's virtual file systems (``/vsicurl/``, ``/vsizip/``, ``/vsistdin/`` …),
    URLs, a ``DRIVER:`` prefix and names that are not a regular file.
    """
    text = str(path)
    lowered = text.lower()
    if lowered.startswith(("/vsi", "\\vsi")) or "://" in text or "\0" in text:
        raise UnsafePath(f"{Path(text).name}: not a plain local file")
    head = text.split("/", 1)[0]
    if ":" in head and not (len(head) == 2 and head[1] == ":"):  # "GPKG:x", not "C:"
        raise UnsafePath(f"{Path(text).name}: not a plain local file")
    resolved = Path(text)
    if not resolved.is_file():
        raise UnsafePath(f"{resolved.name}: not a regular file")
    return resolved


def _libgdal():
    """The libgdal pyogrio loaded (its wheel bundles one; else the system's)."""
    import pyogrio

    here = Path(pyogrio.__file__).resolve().parent
    found = sorted(glob.glob(str(here.parent / "pyogrio.libs" / "libgdal*")))
    lib = ctypes.CDLL(found[0] if found else "libgdal.so")
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriver.restype = ctypes.c_void_p
    lib.GDALGetDriver.argtypes = [ctypes.c_int]
    lib.GDALGetDriverShortName.restype = ctypes.c_char_p
    lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    return lib


def registered_drivers() -> list[str]:
    """The short names of every driver GDAL has registered now (raster ones included)."""
    lib = _libgdal()
    return [lib.GDALGetDriverShortName(lib.GDALGetDriver(i)).decode()
            for i in range(lib.GDALGetDriverCount())]


def restrict(keep: frozenset[str] | set[str] = PROCESS_DRIVERS) -> frozenset[str]:
    """Deregister every GDAL driver not in ``keep`` and apply :data:`CONFIG`, once.

    Idempotent; a later call may only narrow the set further. Returns the drivers
    still registered.
    """
    import pyogrio

    keep = frozenset(keep)
    with _LOCK:
        if _DONE.get("keep") is not None and _DONE["keep"] <= keep:
            return _DONE["kept"]
        for key, value in CONFIG.items():
            os.environ[key] = value  # read by GDAL through CPLGetConfigOption's getenv
        pyogrio.set_gdal_config_options(CONFIG)
        lib = _libgdal()
        for i in reversed(range(lib.GDALGetDriverCount())):
            driver = lib.GDALGetDriver(i)
            if lib.GDALGetDriverShortName(driver).decode() not in keep:
                lib.GDALDeregisterDriver(driver)
        kept = frozenset(registered_drivers())
        _DONE["keep"], _DONE["kept"] = keep, kept
        return kept


def restricted_pyogrio():
    """pyogrio, after :func:`restrict` has narrowed this process's GDAL."""
    import pyogrio

    restrict()
    return pyogrio
