"""Helpers for end-to-end tests: start the real server, drive Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("BORDERWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
#: The servers started by :func:`running_server` in this process, latest last.
_SERVERS: list[str] = []
#: The demo server shared by the read-only browser modules of this process.
_SHARED: dict = {}
DEMO_PASSWORD = "minhhoa-demo"


def sign_in(url: str, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """Sign in through the real form (its CSRF cookie and field); the session cookies."""
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    form = opener.open(url + "/login", timeout=30).read().decode("utf-8")
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrf": token, "username": username, "password": password,
                                   "next": "/"}).encode()
    try:
        opener.open(url + "/login", data=data, timeout=30)
    except urllib.error.HTTPError as err:
        if err.code != 302:
            raise
    return {c.name: c.value for c in jar if c.name in ("bw_session", "_csrf_token")}


def free_port() -> int:
    """A free loopback port: the first free one of ``$BORDERWATCH_TEST_PORTS`` ("8740-8749",
    for a shared machine where each user keeps to a range), else any the system gives."""
    first, _, last = os.environ.get("BORDERWATCH_TEST_PORTS", "").partition("-")
    candidates = range(int(first), int(last or first) + 1) if first else [0]
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError(f"no free port in BORDERWATCH_TEST_PORTS={os.environ['BORDERWATCH_TEST_PORTS']}")


@contextmanager
def running_server(data_dir: Path, *extra: str, timeout: float = 120.0):
    """Run ``borderwatch serve`` (the README's command) on a free loopback port.

    A new data folder starts with the run's copy of the demo store (``tests.cache``),
    which ``serve`` finds and keeps, as it keeps any store that holds records.
    """
    if "--no-demo" not in extra and not (Path(data_dir) / "borderwatch.sqlite").exists():
        from geo.config import Settings
        from tests.cache import demo_data

        demo_data(Settings(data_dir=data_dir))
    port = free_port()
    log = open(data_dir.parent / f"server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "--data-dir", str(data_dir), "serve",
         "--port", str(port), *extra],
        stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir.parent / log.name).read_text()}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        _SERVERS.append(url)
        yield url
    finally:
        if url in _SERVERS:
            _SERVERS.remove(url)
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def shared_demo_server() -> tuple[str, Path]:
    """(url, data folder) of one demo server per test process, for the browser modules that
    only read: started on first use, stopped when the process ends.

    Each server costs a Python start, the app's build and the release plan's load; the
    modules that change what the server holds (imports, reports, settings) start their own
    with :func:`running_server`. The shared one is made the latest server again on each
    call, so that :func:`chromium_page` signs in to it.
    """
    import atexit
    import tempfile

    if "url" not in _SHARED:
        folder = Path(tempfile.mkdtemp(prefix="borderwatch-shared-"))
        serving = running_server(folder / "var", timeout=300.0)
        _SHARED.update(url=serving.__enter__(), data_dir=folder / "var")
        atexit.register(serving.__exit__, None, None, None)
    url = _SHARED["url"]
    if url in _SERVERS:
        _SERVERS.remove(url)
    _SERVERS.append(url)
    return url, _SHARED["data_dir"]


@contextmanager
def chromium():
    """Debian's headless Chromium under Playwright (no browser download), closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


#: The process's browser and its Playwright driver, shared by the browser modules that run
#: one after the other (closed by ``tests/conftest.py`` before and after a module that is
#: not marked ``browser`` as a whole, and when the run ends).
_BROWSER: dict = {}


def shared_browser():
    """Debian's headless Chromium for this test process, launched on first use.

    Launching Playwright's driver and Chromium costs about 1 CPU-s and 2–3 s on idle
    cores, over 10 s on busy ones (measured 02/12/2026): the browser modules that run one
    after the other share it, and each test still gets a context of its own (its own
    cookies, storage and cache). A browser that went away (crashed) is launched again.
    """
    browser = _BROWSER.get("browser")
    if browser is not None and browser.is_connected():
        return browser
    close_shared_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except BaseException:
        pw.stop()
        raise
    _BROWSER.update(pw=pw, browser=browser)
    return browser


def close_shared_browser() -> None:
    """Close the process's browser, if one was launched, and Playwright's event loop with
    it: code that runs an event loop of its own (``asyncio.run``) may run again."""
    browser, pw = _BROWSER.pop("browser", None), _BROWSER.pop("pw", None)
    try:
        if browser is not None and browser.is_connected():
            browser.close()
    finally:
        if pw is not None:
            pw.stop()


@contextmanager
def chromium_page(width: int = 1400, height: int = 900, *, role: str | None = "commander"):
    """A Playwright page in a new context of the process's Chromium (:func:`shared_browser`),
    signed in to the latest :func:`running_server` as its demo account for ``role``
    (``None``: not signed in); the context is closed after."""
    context = shared_browser().new_context(viewport={"width": width, "height": height},
                                           accept_downloads=True)
    try:
        if role and _SERVERS:
            cookies = sign_in(_SERVERS[-1], f"demo-{role}")
            context.add_cookies([{"name": k, "value": v, "url": _SERVERS[-1]}
                                 for k, v in cookies.items()])
        yield context.new_page()
    finally:
        context.close()


def blank_fraction(png: bytes) -> float:
    """Share of pixels that are (nearly) the page background white."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    hist = image.histogram()
    return sum(hist[245:]) / (image.width * image.height)
