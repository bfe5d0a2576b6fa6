"""Run the real app (``borderwatch serve``) for the benchmark, and talk to its callbacks.

The server is the README's command in a child process, so that its start-up,
its memory and its answers are the product's own; :class:`DashClient` sends
the requests the browser sends on a filter change (``/_dash-update-component``)
and measures each round trip on the loopback interface, which is the server's
time plus well under a millisecond.

When the app asks for a signed-in account, the benchmark adds one to the data
folder (``borderwatch users add``, role commander) and signs in through the
real form; requests then carry the session cookie and the CSRF token, as the
browser's do.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser import free_port

__all__ = ["DashClient", "Server", "add_account", "cpu_seconds", "peak_rss_mb", "running_app",
           "sign_in"]

ROOT = Path(__file__).resolve().parents[1]
#: The account the benchmark signs in with (when the app has accounts).
BENCH_USER = "bench-commander"
SESSION_COOKIE, CSRF_COOKIE = "bw_session", "_csrf_token"  # dashboard.auth.web's names


@dataclass
class Server:
    """A running app: its URL, process id and how long it took to serve its first page."""

    url: str
    pid: int
    start_seconds: float
    log: Path
    cookies: dict = field(default_factory=dict)  # a signed-in session ({} without accounts)
    #: CPU seconds (user + system) the server process had used when it first answered: the
    #: start's own work, whatever else the machine was doing (the wall time is not).
    start_cpu_seconds: float | None = None


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of a process in MB (``VmHWM``, ``VmRSS``)."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmHWM"], values["VmRSS"]


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (``/proc/PID/stat``)."""
    import os

    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        fields = handle.read().rpartition(")")[2].split()  # after the command's name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def add_account(data_dir: Path) -> str | None:
    """Add the benchmark's commander account to the data folder; its password, or None when
    the app has no accounts (``borderwatch users`` does not exist)."""
    password = secrets.token_urlsafe(18)
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "--data-dir", str(data_dir), "users", "add",
         BENCH_USER, "--role", "commander", "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=300)
    if done.returncode == 0:
        return password
    if "invalid choice" in done.stderr:
        return None
    if "exists" in done.stderr:  # a kept scratch folder: set the password anew
        done = subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "--data-dir", str(data_dir), "users",
             "password", BENCH_USER, "--password-stdin"],
            input=password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=300)
        if done.returncode == 0:
            return password
    raise RuntimeError(f"cannot add the benchmark account: {done.stderr.strip()}")


def sign_in(url: str, username: str, password: str) -> dict[str, str]:
    """Sign in through the app's form (its CSRF field); the session cookies ({} when the app
    has no sign-in page)."""
    jar = http.cookiejar.CookieJar()

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    try:
        form = opener.open(url + "/login", timeout=60).read().decode("utf-8")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return {}
        raise
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    if token is None:
        return {}
    data = urllib.parse.urlencode({"csrf": token.group(1), "username": username,
                                   "password": password, "next": "/"}).encode()
    try:
        opener.open(url + "/login", data=data, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code != 302:
            raise
    cookies = {c.name: c.value for c in jar if c.name in (SESSION_COOKIE, CSRF_COOKIE)}
    if SESSION_COOKIE not in cookies:
        raise RuntimeError("signing in failed (no session cookie)")
    return cookies


@contextmanager
def running_app(data_dir: Path, *, log_dir: Path, timeout: float = 900.0):
    """``python -m dashboard.cli --data-dir DATA serve --no-demo`` on a free loopback port.

    Yields a :class:`Server` once ``/`` answers; ``start_seconds`` runs from the
    process launch to that first answer (imports, boundaries, records, the
    prepared geometry of the layers), ``start_cpu_seconds`` is the CPU the server
    process had used by then; ``cookies`` a signed-in session when the app has
    accounts.
    """
    password = add_account(data_dir)
    port = free_port()
    log = Path(log_dir) / f"server-{port}.log"
    handle = open(log, "w")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "--data-dir", str(data_dir), "serve",
         "--port", str(port), "--no-demo"],
        stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # it answers (a redirect to the sign-in page counts)
            except OSError:
                if time.perf_counter() - started > timeout:
                    raise
                time.sleep(0.2)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        cookies = sign_in(url, BENCH_USER, password) if password else {}
        yield Server(url, proc.pid, seconds, log, cookies, start_cpu_seconds=cpu)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        handle.close()


class DashClient:
    """Calls a Dash app's callbacks as its browser page does."""

    def __init__(self, url: str, cookies: dict | None = None) -> None:
        self.url = url
        self.headers = {}
        if cookies:
            self.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            if CSRF_COOKIE in cookies:
                self.headers["X-CSRFToken"] = cookies[CSRF_COOKIE]
        _, body, _ = self.get("/_dash-dependencies")
        self.dependencies = json.loads(body)

    def callback(self, output_part: str) -> dict:
        """The callback whose output names ``output_part`` ("commune-map.figure")."""
        for dep in self.dependencies:
            if output_part in dep["output"] and "@" not in dep["output"]:
                return dep
        raise KeyError(f"no callback writes {output_part}")

    def call(self, dep: dict, inputs: dict, state: dict, changed: list[str]) -> tuple[float, int, dict]:
        """Run one callback: (seconds for the round trip, bytes of the answer, the answer).

        ``inputs`` and ``state`` map "component.property" to its value;
        ``changed`` names the inputs that changed (what decides a Patch or a redraw).
        """
        def props(specs, values):
            return [{"id": s["id"], "property": s["property"],
                     "value": values.get(f"{s['id']}.{s['property']}")} for s in specs]

        outputs = [_output_spec(part) for part in _outputs(dep["output"])]
        body = {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": props(dep["inputs"], inputs),
            "state": props(dep["state"], state),
            "changedPropIds": changed,
        }
        data = json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + "/_dash-update-component", data=data, method="POST",
            headers={"Content-Type": "application/json", "Accept-Encoding": "gzip",
                     **self.headers})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=900) as answer:
            payload = answer.read()
        seconds = time.perf_counter() - start
        return seconds, len(payload), json.loads(payload)

    def get(self, path: str) -> tuple[float, bytes, dict]:
        """GET ``path`` as a browser would (asking for gzip): seconds, body, headers."""
        request = urllib.request.Request(self.url + path,
                                         headers={"Accept-Encoding": "gzip", **self.headers})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as answer:
            body = answer.read()
            headers = dict(answer.headers)
        return time.perf_counter() - start, body, headers


def _outputs(output: str) -> list[str]:
    """The parts of a callback's output string ("..a.figure...b.children.." → two)."""
    if output.startswith("..") and output.endswith(".."):
        return output[2:-2].split("...")
    return [output]


def _output_spec(part: str) -> dict:
    component, _, prop = part.rpartition(".")
    return {"id": component, "property": prop}
