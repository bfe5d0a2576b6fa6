"""``borderwatch import / rejects / template`` as a person runs them, on both back-ends.

Includes the hard case: an import killed with SIGKILL in the middle of a
large file leaves the store exactly as it was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.cli import main
from geo.store import open_store

ROOT = Path(__file__).resolve().parents[1]


def _cli_args(store_settings) -> list[str]:
    args = ["--data-dir", str(store_settings.data_dir), "--lang", "en"]
    if store_settings.database_url:
        args += ["--database-url", store_settings.database_url]
    return args


def _file(tmp_path: Path, text: str, name: str = "vu_viec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


GOOD_AND_BAD = (
    "Mã hồ sơ,Ngày,Loại,Mã xã\n"
    "C1,05/08/2024,tip,25699\n"
    "C2,31/02/2024,tip,25699\n"
    "C3,05/08/2025,Vụ mua bán người,25681\n"
)


def test_import_prints_summary_and_rejects(tmp_path, store_settings, capsys):
    path = _file(tmp_path, GOOD_AND_BAD)
    code = main([*_cli_args(store_settings), "import", "incidents", str(path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "rows read 3; accepted 2; duplicates skipped 0; rejected 1" in out
    assert "row 3 [date]: '31/02/2024' is not a real date" in out
    rejects_file = next((store_settings.data_dir / "rejects").glob("*.csv"))
    assert str(rejects_file) in out

    code = main([*_cli_args(store_settings), "import", "incidents", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["accepted"], report["duplicates"], report["rejected"]) == (0, 2, 1)
    assert report["rejects"][0] == {
        "row": 3, "record_id": "C2", "column": "date", "value": "31/02/2024",
        "reason": "date.impossible",
        "message": "'31/02/2024' is not a real date (no such day in that month)",
        "suggestion": None,
    }

    assert main([*_cli_args(store_settings), "rejects"]) == 0
    listing = capsys.readouterr().out.strip().splitlines()
    assert len(listing) == 2  # the rejected row, once per import
    assert all("row 3 [date]" in line for line in listing)


def test_strict_import_exits_non_zero_and_stores_nothing(tmp_path, store_settings, capsys):
    path = _file(tmp_path, GOOD_AND_BAD)
    code = main([*_cli_args(store_settings), "import", "incidents", str(path), "--strict",
                 "--quiet"])
    assert code == 1
    assert "NOT imported (strict mode)" in capsys.readouterr().out
    with open_store(store_settings) as store:
        assert store.count("incidents") == 0


def test_refused_file_gives_a_clear_error(tmp_path, store_settings, capsys):
    path = _file(tmp_path, "Mã hồ sơ,Ngày,Loại,Mã xã,Họ tên\nC1,05/08/2024,tip,25699,A\n")
    code = main([*_cli_args(store_settings), "import", "incidents", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: the file has columns with personal data (Họ tên)")
    assert "Traceback" not in err
    code = main(["--data-dir", str(store_settings.data_dir), "import", "incidents", str(path)])
    assert "lỗi: Tệp có cột chứa thông tin cá nhân (Họ tên)" in capsys.readouterr().err


def test_unknown_kind_and_unreachable_database(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "import", "weather", "x.csv"]) == 2
    assert "unknown record kind 'weather'" in capsys.readouterr().err
    path = _file(tmp_path, GOOD_AND_BAD)
    url = "postgresql://bw:secret@127.0.0.1:9/nowhere"
    assert main(["--data-dir", str(tmp_path), "--database-url", url, "import", "incidents",
                 str(path)]) == 3
    err = capsys.readouterr().err
    assert "cannot reach the database" in err and "secret" not in err


def _big_file(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(7)
    days = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1000, rows), "D")
    frame = pd.DataFrame({
        "record_id": [f"B{i:07d}" for i in range(rows)],
        "date": days.strftime("%d/%m/%Y"),
        "type": rng.choice(["tip", "illegal_crossing"], rows),
        "commune_code": "25699",
        "persons": rng.integers(0, 5, rows),
    })
    frame.to_csv(path, index=False)
    return path


def test_import_killed_midway_leaves_the_store_as_it_was(tmp_path, store_settings):
    small = _file(tmp_path, GOOD_AND_BAD)
    assert main([*_cli_args(store_settings), "import", "incidents", str(small), "--quiet"]) == 0
    with open_store(store_settings) as store:
        before = (store.read("incidents"), store.imports(), store.quarantine())
    big = _big_file(tmp_path / "big.csv", 150_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", *_cli_args(store_settings), "import",
         "incidents", str(big)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stderr.readline()  # the first progress line: one chunk is written, uncommitted
    assert "rows read" in line, line + proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # the process parsing ahead (geo/ingest/ahead.py) ends too, nobody left reading the file
    deadline = time.monotonic() + 60
    while _reading(big) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _reading(big), "a process of the killed import is still running"
    with open_store(store_settings) as store:
        after = (store.read("incidents"), store.imports(), store.quarantine())
        for b, a in zip(before, after, strict=True):
            pd.testing.assert_frame_equal(a, b)
        # and the store still takes imports
        report_code = main([*_cli_args(store_settings), "import", "incidents", str(small),
                            "--quiet"])
        assert report_code == 0
        assert store.count("incidents") == 2


def _reading(path) -> list[int]:
    """The processes whose command line names ``path``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if proc.name.isdigit() and str(path).encode() in cmdline:
            found.append(int(proc.name))
    return found


def test_template_writes_a_workbook(tmp_path, capsys):
    out = tmp_path / "mau.xlsx"
    assert main(["--data-dir", str(tmp_path), "template", "incidents", str(out)]) == 0
    from openpyxl import load_workbook

    book = load_workbook(out)
    assert book.worksheets[0].max_column >= 12


def test_import_refuses_the_demo_source(tmp_path, store_settings, capsys):
    """Only the demo generator writes under "demo": a real file there would pass as synthetic
    (and could plant records among the demo's)."""
    path = _file(tmp_path, GOOD_AND_BAD)
    for source in ("demo", " Demo"):
        code = main([*_cli_args(store_settings), "import", "incidents", str(path), "--quiet",
                     "--source", source])
        assert code == 2
        assert "the source 'demo' is reserved for the synthetic demo" in capsys.readouterr().err
    with open_store(store_settings) as store:
        assert store.sources() == {}


def test_a_real_import_closes_the_demo_accounts(tmp_path, store_settings):
    from dashboard.auth.accounts import accounts_of

    accounts = accounts_of(store_settings)  # with a database URL: the accounts live there too
    accounts.ensure_demo_users()
    token, _ = accounts.start_session("demo-viewer")
    path = _file(tmp_path, GOOD_AND_BAD)
    strict = main([*_cli_args(store_settings), "import", "incidents", str(path), "--quiet",
                   "--strict"])
    assert strict == 1 and accounts.session(token) is not None  # nothing imported: still open
    assert main([*_cli_args(store_settings), "import", "incidents", str(path), "--quiet"]) == 0
    assert accounts.session(token) is None
    assert all(u["disabled"] for u in accounts.users() if u["demo"])


def test_a_server_with_no_account_names_the_one_command_to_run(tmp_path, capsys, monkeypatch):
    """Real records, demo accounts closed, nobody else: the server says the exact command, and
    that command (with the password from stdin) is what makes it start."""
    import io
    import shlex

    from dashboard.serving import serving_accounts
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path / "var")
    assert serving_accounts(settings, demo=True) is not None
    capsys.readouterr()
    assert serving_accounts(settings, demo=False) is None
    err = capsys.readouterr().err
    assert "No account can sign in: the data is not the synthetic demo" in err
    command = err.strip().splitlines()[-1].strip()
    argv = shlex.split(command)
    assert argv[0] == str(Path(sys.executable).with_name("borderwatch"))
    assert argv[1:] == ["--data-dir", str(settings.data_dir.resolve()), "users", "add", "NAME",
                        "--role", "admin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("mat-khau-dai-du\n"))
    assert main([*argv[1:], "--password-stdin"]) == 0
    assert serving_accounts(settings, demo=False) is not None


def test_import_names_the_reporting_agency_and_the_day_the_report_came(tmp_path, store_settings,
                                                                         capsys):
    """The Standing Office imports a department's report that came by the document system."""
    path = _file(tmp_path, GOOD_AND_BAD)
    base = [*_cli_args(store_settings), "import", "incidents", str(path), "--quiet",
            "--source", "Công an tỉnh"]
    for bad in ("2024-08-02", "31/02/2024", "01/01/2999"):
        assert main([*base, "--received", bad]) == 2
        assert f"--received must be a past day written DD/MM/YYYY (05/08/2024), not {bad!r}" \
            in capsys.readouterr().err
    assert main([*base, "--agency", "Sở Tư pháp", "--received", "02/08/2024"]) == 0
    with open_store(store_settings) as store:
        imports = store.imports()
    assert len(imports) == 1  # the refused days wrote nothing
    assert imports.loc[0, ["source", "agency", "received_on"]].tolist() == \
        ["Công an tỉnh", "Sở Tư pháp", pd.Timestamp(2024, 8, 2)]


def test_an_edit_of_the_store_by_hand_is_read_at_the_next_start(tmp_path, store_settings,
                                                               monkeypatch):
    """A record changed, removed or added by hand in sqlite3 or psql after the import kept
    its snapshot: the next start reads the store again (the kept file is of other records),
    and keeps what it read; a start with no edit since reads the file."""
    from dashboard.records import RecordCache
    from geo.config import Settings
    from geo.store.base import Store
    from tests.by_hand import by_hand

    cli = Settings.from_env(data_dir=store_settings.data_dir,
                            database_url=store_settings.database_url)
    path = _file(tmp_path, GOOD_AND_BAD)
    assert main([*_cli_args(store_settings), "import", "incidents", str(path), "--quiet"]) == 0

    def start():
        cache = RecordCache(cli)
        try:
            return cache.current().incidents.set_index("record_id")
        finally:
            cache.close()

    assert start().at["C1", "type"] == "tip"
    for sql, seen in (
            ("UPDATE incidents SET type = 'victim' WHERE record_id = 'C1'",
             lambda rec: rec.at["C1", "type"] == "victim"),
            ("DELETE FROM incidents WHERE record_id = 'C3'",
             lambda rec: "C3" not in rec.index),
            ("INSERT INTO incidents (source, record_id, date, type, new_code, resolved_by, "
             "content_hash, import_id) SELECT source, 'C3', date, type, new_code, resolved_by, "
             "'by-hand', import_id FROM incidents WHERE record_id = 'C1'",
             lambda rec: rec.at["C3", "type"] == "victim")):
        by_hand(store_settings, sql)
        assert seen(start()), sql
    with monkeypatch.context() as patched:  # no edit since: the kept records, no store read
        patched.setattr(Store, "read", lambda *a, **k: pytest.fail("read from the store"))
        assert start().at["C3", "type"] == "victim"


def test_a_committed_import_keeps_the_records_for_the_next_server_start(
        tmp_path, store_settings, capsys, monkeypatch):
    """Once an import has committed, ``borderwatch import`` reads the new records and keeps
    them in the cache folder (a server started then reads none from the store); a refused
    import keeps nothing; a cache folder that cannot be written is told, the import stays."""
    from dashboard.records import RecordCache, snapshot_key
    from geo.config import Settings
    from geo.store.base import Store

    # the command's settings: the cache folder of the environment (the test run's)
    cli = Settings.from_env(data_dir=store_settings.data_dir,
                            database_url=store_settings.database_url)

    def kept_now() -> bool:
        with open_store(cli) as store:
            key = snapshot_key(cli, store, store.revision())
        return (cli.cache_dir / f"records-{key}.pickle").exists()

    path = _file(tmp_path, GOOD_AND_BAD)
    assert main([*_cli_args(store_settings), "import", "incidents", str(path), "--strict",
                 "--quiet"]) == 1
    assert not kept_now()

    assert main([*_cli_args(store_settings), "import", "incidents", str(path)]) == 0
    assert "... records kept for the dashboard (" in capsys.readouterr().err
    assert kept_now()
    with monkeypatch.context() as patched:
        patched.setattr(Store, "read", lambda *a, **k: pytest.fail("read from the store"))
        started = RecordCache(cli).current()
    assert sorted(started.incidents["record_id"]) == ["C1", "C3"]

    blocked = tmp_path / "not_a_folder"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("BORDERWATCH_CACHE_DIR", str(blocked))
    more = _file(tmp_path, "Mã hồ sơ,Ngày,Loại,Mã xã\nC4,06/08/2025,tip,25681\n", "them.csv")
    assert main([*_cli_args(store_settings), "import", "incidents", str(more), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: the records were not kept for the dashboard" in err
    assert "Traceback" not in err
    with open_store(store_settings) as store:
        assert store.count("incidents") == 3
