"""tests/portable_reports.py: a failure whose message holds a lone surrogate is reported
as one failed test under xdist, not as a worker that died (INTERNALERROR)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.portable_reports import portable

ROOT = Path(__file__).resolve().parents[1]


def test_portable_keeps_what_utf8_holds_and_escapes_lone_surrogates():
    data = {"nodeid": "t.py::x", "sections": [("Captured stdout", "Hà Nội \udc80\ud800")],
            "lineno": 3, "skipped": None}
    got = portable(data)
    assert got["nodeid"] == "t.py::x" and got["lineno"] == 3 and got["skipped"] is None
    assert got["sections"] == [("Captured stdout", "Hà Nội \\udc80\\ud800")]
    got["sections"][0][1].encode("utf-8")  # what execnet sends
    assert data["sections"][0][1].endswith("\udc80\ud800")  # the report itself is left alone


def test_a_surrogate_in_a_failure_fails_one_test_under_xdist(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "def test_surrogate_in_message():\n"
        "    print('out \\udc80')\n"
        "    assert 'a\\udc80b' == 'ab'\n\n"
        "def test_passes():\n"
        "    assert 1 + 1 == 2\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "1", "-p", "no:cacheprovider",
         "-p", "no:dash", "-p", "tests.portable_reports", "-q", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, errors="backslashreplace", timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "INTERNALERROR" not in run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "FAILED test_inner.py::test_surrogate_in_message" in run.stdout
    assert "\\udc80" in run.stdout  # the escaped surrogate is shown
    assert run.returncode == 1
