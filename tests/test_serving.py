"""dashboard/serving.py: the allocator's arenas of a server process."""

import json
import subprocess
import sys
import textwrap

import pytest

from dashboard.serving import limit_malloc_arenas

_THREADS = textwrap.dedent("""
    import ctypes, ctypes.util, sys, threading
    from dashboard.serving import limit_malloc_arenas
    if sys.argv[1] == "limit":
        assert limit_malloc_arenas(2)
    barrier = threading.Barrier(8)
    def work():
        barrier.wait()  # all eight allocate at once: glibc gives each a pool if it may
        kept = [bytearray(200_000) for _ in range(50)]
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()  # one "Arena n:" per pool
""")


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _THREADS, mode], capture_output=True,
                          text=True, check=True, timeout=60)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_a_server_keeps_two_arenas_however_many_threads_allocate():
    assert limit_malloc_arenas() is True
    assert _arenas("default") > 2  # eight threads at once: pools of their own
    assert _arenas("limit") <= 2


def test_the_demo_is_drawn_and_written_with_the_registry_of_the_boundaries(tmp_path):
    """On boundaries of two provinces (Tây Ninh and a commune of Hà Nội) the demo is
    generated with the registry its import resolves with, the two provinces' (Tây Ninh's
    alone raised KeyError: '00004', the name of a Hà Nội unit drawn), and every record is
    imported, strictly, each in a commune of that registry and one of its pieces."""
    from dashboard.serving import ensure_demo
    from geo.boundaries import load_communes
    from geo.config import Settings
    from geo.store import open_store
    from geo.units import registry_covering
    from tests.two_provinces import HA_NOI_CODE, write_two_provinces

    settings = Settings(data_dir=tmp_path / "var")
    write_two_provinces(settings)
    ensure_demo(settings)
    registry = registry_covering(load_communes(settings).index)
    with open_store(settings) as store:
        incidents = store.read("incidents")
        population = store.read("population")
    manifest = json.loads((settings.demo_dir / "manifest.json").read_text(encoding="utf-8"))
    assert len(incidents) == manifest["rows"]["incidents"]
    assert incidents["new_code"].isin(registry.communes.index).all()
    pieces = set(zip(registry.composition["old_code"], registry.composition["new_code"]))
    assert set(zip(incidents["old_code"], incidents["new_code"])) <= pieces
    assert (incidents["new_code"] == HA_NOI_CODE).sum() > 0
    assert set(population["new_code"]) == set(registry.communes.index)
