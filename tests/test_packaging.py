"""The product as a wheel: built from the source tree, installed in a clean virtual
environment, it runs ``borderwatch --help`` and serves its sign-in page.

The clean environment sees the locked dependencies (the test run's own site-packages,
added as a plain path so that its editable install of this project is *not* loaded)
but not the source tree: every module and data file must come from the wheel.
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.browser import free_port, sign_in

ROOT = Path(__file__).resolve().parents[1]


def _wheel(out: Path) -> Path:
    """The wheel, built from a copy of the tree (a build writes ``build/`` beside the source)."""
    import shutil

    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "*.egg-info", "test-artifacts", "__pycache__",
        ".pytest_cache", "bench"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-q", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    return next(out.glob("borderwatch-*.whl"))


def _clean_venv(where: Path, wheel: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site_dir = next((where / "lib").glob("python3*/site-packages"))
    # The dependencies, without processing the .pth files (the editable install) beside them.
    (site_dir / "locked_dependencies.pth").write_text(
        "\n".join(p for p in site.getsitepackages()) + "\n")
    subprocess.run([where / "bin" / "python", "-m", "pip", "install", "--no-deps", "-q",
                    "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return where / "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _wheel(tmp_path_factory.mktemp("dist"))


def test_wheel_holds_every_package_and_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("geo", "geo/store", "geo/ingest", "layers", "dashboard", "dashboard/auth",
                    "dashboard/pages", "dashboard/figures", "dashboard/exports", "data", "demo"):
        assert f"{package}/__init__.py" in names, package
    sources = {str(p.relative_to(ROOT)) for d in ("geo", "layers", "dashboard", "data", "demo")
               for p in (ROOT / d).rglob("*.py")}
    assert sources <= names, sorted(sources - names)
    assert any(n == "data/locales/vi.json" for n in names)
    assert "dashboard/exports/report.css" in names   # the report's style sheet
    assert any(n.startswith("data/boundaries/") and n.endswith(".geojson") for n in names)


def test_installed_wheel_runs_and_serves(wheel, tmp_path):
    bindir = _clean_venv(tmp_path / "venv", wheel)
    work = tmp_path / "elsewhere"   # not the source tree: nothing can be imported from it
    work.mkdir()
    where = subprocess.run([bindir / "python", "-c", "import dashboard; print(dashboard.__file__)"],
                           cwd=work, capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "venv") in where and str(ROOT) not in where

    shown = subprocess.run([bindir / "borderwatch", "--help"], cwd=work, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0 and "serve" in shown.stdout

    # the package's files are read from the installed package (the report's style sheet)
    css = subprocess.run([bindir / "python", "-c", "from dashboard.exports.report import "
                          "report_css; print(report_css())"],
                         cwd=work, capture_output=True, text=True, check=True).stdout
    assert css == (ROOT / "dashboard" / "exports" / "report.css").read_text() + "\n"

    port = free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([bindir / "borderwatch", "--data-dir", str(tmp_path / "var"),
                               "serve", "--port", str(port)],
                              cwd=work, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as page:
                    body = page.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        assert page.status == 200 and "Đăng nhập" in body   # the sign-in page, in Vietnamese

        # Signed in, the dashboard's layout comes from the installed package (pages, locales).
        cookies = sign_in(f"http://127.0.0.1:{port}", "demo-commander")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_dash-layout",
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        with urllib.request.urlopen(request, timeout=60) as layout:
            assert layout.status == 200
            assert json.loads(layout.read())["props"]["children"]
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
