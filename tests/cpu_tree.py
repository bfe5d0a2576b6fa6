"""The CPU time of a command and of every process under it, Chromium's included.

``time`` (and ``getrusage(RUSAGE_CHILDREN)``) count only descendants that their parent
waited for. Playwright's and kaleido's Chromium processes are left to whoever adopts them
when their parent goes (init), so a browser test file's ``time`` missed about 80 % of its
CPU (measured 02/12/2026: 5.5 of 31 CPU-s for three overview pages). Run as a child
subreaper, this process adopts them, waits for each, and counts them all::

    python -m tests.cpu_tree python -m pytest -q tests/test_browser_overview.py

prints ``CPU <user+sys> s (user …, sys …) wall … s`` on stderr, and exits with the
command's code. Linux only (``prctl(PR_SET_CHILD_SUBREAPER)``).
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import time

__all__ = ["main"]

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    """Run ``argv``, wait for it and for every orphan it leaves, print the CPU of them all."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) refused")
    start = time.monotonic()
    code = subprocess.Popen(argv).wait()
    while True:  # the adopted orphans (a browser closing, a server's children)
        try:
            os.wait()
        except ChildProcessError:
            break
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"CPU {used.ru_utime + used.ru_stime:.1f} s (user {used.ru_utime:.1f}, sys "
          f"{used.ru_stime:.1f}) wall {time.monotonic() - start:.0f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
