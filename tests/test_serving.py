"""dashboard/serving.py: the allocator's arenas of a server process."""

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
