"""The machine a run measured: CPU, cores, memory, load, Python and the key packages."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata

__all__ = ["PACKAGES", "describe_machine", "load_average"]

#: Packages whose versions decide the figures.
PACKAGES = ("numpy", "pandas", "geopandas", "shapely", "pyproj", "scipy", "esda", "libpysal",
            "scikit-learn", "h3", "dash", "plotly", "flask", "psycopg", "playwright")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (other users of a shared machine show here)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _chromium() -> str | None:
    from tests.browser import CHROMIUM

    try:
        done = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                              timeout=30)
        return done.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def describe_machine() -> dict:
    """CPU model, cores, RAM, OS, Python, SQLite, Chromium and package versions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "chromium": _chromium(),
        "packages": versions,
        "load_average_at_start": load_average(),
    }
