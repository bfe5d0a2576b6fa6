"""What serving needs before the first request, for the development server (``borderwatch
serve``) and the production one (:mod:`dashboard.wsgi`) alike: the demo store when there is
no data, and the accounts that may sign in.

Its own module so that the command line and the WSGI entry point share it without
importing each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

from geo.config import Settings
from geo.units import NEW, OLD

__all__ = ["MALLOC_ARENAS", "add_admin_command", "ensure_demo", "limit_malloc_arenas",
           "serving_accounts"]

#: Memory pools glibc's allocator may keep for a server process's threads.
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (``mallopt(M_ARENA_MAX)``), as ``MALLOC_ARENA_MAX`` would.

    By default glibc gives busy threads pools of their own (up to 8 per core) and
    keeps what they freed: a server whose request threads and background threads
    (the statistics' preparation, the commander's shares) each allocated tens of
    MB held it all. Measured on the national server: 924 MB peak with the
    default, 763 MB with 2 arenas, the same timings. Called before the server
    starts its threads; a no-op (False) where the C library is not glibc.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if sys.platform != "linux" or not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(-8, int(arenas)))  # M_ARENA_MAX (malloc.h)


def ensure_demo(settings: Settings, *, seed: int | None = None, force: bool = False) -> Path:
    """Make sure the store holds the synthetic demo, written through the real importer.

    The demo is generated (deterministically) into ``settings.demo_dir`` as the
    interchange CSV files users import, then imported with source
    :data:`geo.ingest.DEMO_SOURCE`. Nothing happens when the store already holds
    records (demo or real) unless ``force``; ``force`` replaces the demo but
    refuses to touch a store that holds real records.

    The demo is drawn over the communes of the boundaries in use and written with the
    registry of their provinces (:func:`geo.units.registry_covering`), the one its
    import resolves with (:meth:`geo.ingest.Places.load`): Tây Ninh's on the bundled
    boundaries, so the demo there is the same as ever; on boundaries of several
    provinces, Tây Ninh's alone knew no name of the other communes drawn (KeyError).
    """
    from dashboard.records import keep_records
    from demo import DEFAULT_SEED, generate_demo, import_demo, write_demo
    from geo.boundaries import load_border, load_communes
    from geo.gates import load_gates
    from geo.store import open_store
    from geo.units import registry_covering

    out = settings.demo_dir
    with open_store(settings) as store:
        sources = store.sources()
        if sources and not force:
            return out
        if force or not (out / "manifest.json").exists():
            communes = load_communes(settings, NEW)
            dataset = generate_demo(
                registry_covering(communes.index),
                communes,
                load_communes(settings, OLD),
                load_gates(settings),
                load_border(settings),
                seed=DEFAULT_SEED if seed is None else seed,
            )
            write_demo(dataset, out)
        import_demo(out, store, settings)
    keep_records(settings)  # as after any import: the server's start loads them from a file
    return out


def add_admin_command(settings: Settings) -> str:
    """The one command that makes a first real account for the data folder of ``settings``
    (the accounts file lives there, whatever the store)."""
    import shlex

    script = Path(sys.executable).with_name("borderwatch")  # the one installed beside Python
    program = (shlex.quote(str(script)) if script.is_file()
               else f"{shlex.quote(sys.executable)} -m dashboard.cli")
    folder = shlex.quote(str(Path(settings.data_dir).resolve()))
    return f"{program} --data-dir {folder} users add NAME --role admin"


def serving_accounts(settings: Settings, demo: bool):
    """The accounts of the data folder, with the local demo accounts when the data is the
    synthetic demo and no real user exists; ``None`` (and the one command to run) when
    nobody could sign in."""
    from dashboard.auth.accounts import DEMO_PASSWORD, accounts_of

    accounts = accounts_of(settings)
    if not demo:  # real records: the announced demo password must open nothing
        for name in accounts.close_demo_accounts():
            print(f"Demo account {name} closed: the store holds real records.", flush=True)
    if demo:
        made = accounts.ensure_demo_users()
        if made or all(u["demo"] for u in accounts.users()):
            names = ", ".join(u["username"] for u in accounts.users() if u["demo"])
            print(f"Demo accounts (synthetic data only): {names} · password: {DEMO_PASSWORD}",
                  flush=True)
    if not any(not u["disabled"] and (demo or not u["demo"]) for u in accounts.users()):
        why = ("the data is not the synthetic demo, so the demo accounts are closed"
               if any(u["demo"] for u in accounts.users()) else "there is no account yet")
        print(f"No account can sign in: {why}. Create an administrator's account (the command "
              "asks for its password twice), then start again:\n"
              f"  {add_admin_command(settings)}", file=sys.stderr)
        return None
    return accounts
