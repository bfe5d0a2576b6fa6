"""The one configuration object: where data lives, which units, which language.

Read once from the environment (or given explicitly in tests) and passed
down; no module reads the environment on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from geo.units import NEW, OLD

__all__ = ["LANGUAGES", "RELEASE_PROCESSES_MAX", "Settings", "default_release_processes"]

#: The languages of the interface and of every message, the default first.
LANGUAGES = ("vi", "en")
#: At most this many provinces of a national release plan are suppressed at once by
#: default: beyond it the slowest provinces set the wall clock (Hải Phòng's 200–326 CPU-s
#: of the whole plan's 1,673–1,888 at 1,000,000 incidents, see the README), while each
#: process holds up to about 0.4 GB.
RELEASE_PROCESSES_MAX = 8


@dataclass(frozen=True)
class Settings:
    """Settings of one running product.

    Attributes
    ----------
    data_dir : Path
        The data folder: imported boundaries, the demo dataset, the store.
        ``BORDERWATCH_DATA_DIR``; default ``./var`` under the working directory.
    database_url : str or None
        A PostgreSQL/PostGIS URL; ``None`` uses the embedded store in
        ``data_dir``. ``BORDERWATCH_DATABASE_URL``.
    language : {"vi", "en"}
        Default UI language; Vietnamese unless told. ``BORDERWATCH_LANG``.
    unit_set : {"2025", "legacy"}
        Which units maps show by default. ``BORDERWATCH_UNITS``.
    secure_cookies : bool
        Mark the session cookies ``Secure`` (set it when served over HTTPS behind a
        reverse proxy). ``BORDERWATCH_SECURE_COOKIES=1``.
    small_count : int
        Counts from 1 to ``small_count - 1`` are suppressed for roles below commander
        (default 5: "< 5"). ``BORDERWATCH_SMALL_COUNT``.
    cache_dir : Path or None
        Where work that outlives a process is kept (the small-count release plan of each
        version of the records): ``data_dir / "cache"`` unless set. As confidential as
        the store. ``BORDERWATCH_CACHE_DIR``.
    basemap : Path or None
        The province's own offline basemap, an ``.mbtiles`` or ``.pmtiles`` file of roads,
        rivers and places, served by the app and drawn under the communes
        (:mod:`geo.basemap`); none by default (a plain background). ``BORDERWATCH_BASEMAP``.
    precompute_forecasts : bool
        Build the commander's default forecasts in a background process at the server's
        start and after each import (:mod:`dashboard.forecast_worker`), so that the page
        and the quarterly report find them ready; on by default.
        ``BORDERWATCH_FORECAST_PRECOMPUTE=0`` turns it off (a server that needs no forecast,
        a test server): a forecast is then built only when a page or a report asks for it.
        Unlike the other fields, its default is read from that variable even when the
        settings are made in code, so that one variable turns it off for a whole test run.
    precompute_statistics : bool
        Compute the statistics of the pages' common filter states (period presets and
        calendar periods × choices of types × unit sets) in a background process at the
        server's start and after each import, into the cache folder every worker reads
        (:mod:`dashboard.statistics_worker`); on by default.
        ``BORDERWATCH_STATISTICS_PRECOMPUTE=0`` turns it off (each state is then computed
        when first asked, and kept there all the same); read from that variable like
        ``precompute_forecasts``.
    release_processes : int
        How many provinces of a national registry the server's release-plan build
        suppresses at once, one spawned process each (:mod:`dashboard.release_worker`):
        the cores this process may use, at most :data:`RELEASE_PROCESSES_MAX`, unless
        ``BORDERWATCH_RELEASE_PROCESSES`` says otherwise. A registry of one province (the
        demo, a province's own server) is one table: built in the one process whatever
        the setting. The plan is the same for any value; only the wall clock changes.
    """

    data_dir: Path = field(default_factory=lambda: Path("var"))
    database_url: str | None = None
    language: str = "vi"
    unit_set: str = NEW
    secure_cookies: bool = False
    small_count: int = 5
    cache_dir: Path | None = None
    basemap: Path | None = None
    precompute_forecasts: bool = field(default_factory=lambda: _flag(
        os.environ.get("BORDERWATCH_FORECAST_PRECOMPUTE", "1")))
    precompute_statistics: bool = field(default_factory=lambda: _flag(
        os.environ.get("BORDERWATCH_STATISTICS_PRECOMPUTE", "1")))
    release_processes: int = field(default_factory=lambda: default_release_processes())

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        if self.unit_set not in (NEW, OLD):
            raise ValueError(f"unit set must be {NEW!r} or {OLD!r}, not {self.unit_set!r}")
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "cache_dir",
                           Path(self.cache_dir) if self.cache_dir else self.data_dir / "cache")
        if self.basemap is not None:
            object.__setattr__(self, "basemap", Path(self.basemap))
        if not 2 <= int(self.small_count) <= 100:
            raise ValueError(f"small-count threshold must be 2–100, not {self.small_count!r}")
        if int(self.release_processes) < 1:
            raise ValueError("release processes must be 1 or more, not "
                             f"{self.release_processes!r}")
        object.__setattr__(self, "release_processes", int(self.release_processes))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Settings from ``BORDERWATCH_*`` variables, with explicit overrides winning."""
        env = os.environ if environ is None else environ
        values = {
            "data_dir": Path(env.get("BORDERWATCH_DATA_DIR", "var")),
            "database_url": env.get("BORDERWATCH_DATABASE_URL") or None,
            "language": env.get("BORDERWATCH_LANG", "vi"),
            "unit_set": env.get("BORDERWATCH_UNITS", NEW),
            "secure_cookies": env.get("BORDERWATCH_SECURE_COOKIES", "0") in ("1", "true", "yes"),
            "small_count": int(env.get("BORDERWATCH_SMALL_COUNT", "5")),
            "cache_dir": env.get("BORDERWATCH_CACHE_DIR") or None,
            "basemap": env.get("BORDERWATCH_BASEMAP") or None,
            "precompute_forecasts": _flag(env.get("BORDERWATCH_FORECAST_PRECOMPUTE", "1")),
            "precompute_statistics": _flag(env.get("BORDERWATCH_STATISTICS_PRECOMPUTE", "1")),
            "release_processes": int(env.get("BORDERWATCH_RELEASE_PROCESSES")
                                     or default_release_processes()),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def boundaries_dir(self) -> Path:
        """Where imported official boundaries are kept (they replace the bundled ones)."""
        return self.data_dir / "boundaries"

    @property
    def demo_dir(self) -> Path:
        """Where the synthetic demo dataset is written."""
        return self.data_dir / "demo"


def default_release_processes() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count), at
    most :data:`RELEASE_PROCESSES_MAX`: the default of ``Settings.release_processes``.

    Examples
    --------
    >>> 1 <= default_release_processes() <= RELEASE_PROCESSES_MAX
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, RELEASE_PROCESSES_MAX))


def _flag(value: str) -> bool:
    """An on/off variable's value: off for 0, false, no, off (any case), else on."""
    return value.strip().lower() not in ("0", "false", "no", "off")
