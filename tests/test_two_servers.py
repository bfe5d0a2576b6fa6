"""Many servers, one database (issue 18): two app servers on one throw-away PostGIS.

Two ``borderwatch serve`` processes, each with its own port and data folder, share only
the database named by ``BORDERWATCH_DATABASE_URL``: a user made once signs in on one and
works on the other, signing out on one ends the session on both, an import through one
is counted by the other on its next request, failed sign-ins are counted across both,
and both write one audit log.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dashboard.auth.accounts import accounts_of
from geo.config import Settings
from tests.browser import running_server, sign_in

pytestmark = pytest.mark.postgis

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "mat-khau-dai-du-1"
INCIDENTS = ("Mã hồ sơ,Ngày,Loại,Mã xã\n"
             + "".join(f"T{i},{5 + i:02d}/02/2025,tip,25699\n" for i in range(7)))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _open(url: str, cookies: dict, data: bytes | None = None, headers: dict | None = None):
    """(status, body) of one request with ``cookies``, redirects not followed."""
    request = urllib.request.Request(url, data=data, headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), **(headers or {})})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=120) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def _overview_total(url: str, cookies: dict) -> str:
    """The overview's province total for Q1 2025, all types, as the server's callback
    answers it (the request Dash's renderer sends when a filter changes)."""
    status, text = _open(url + "/_dash-dependencies", cookies)
    assert status == 200, text
    spec = next(d for d in json.loads(text) if "kpi-total.children" in d["output"]
                and "commune-map.figure" in d["output"])
    values = {"filter-types.value": ["illegal_crossing", "tip", "trafficking_case", "victim"],
              "filter-period.start_date": "2025-01-01", "filter-period.end_date": "2025-03-31",
              "filter-units.value": "2025", "page-lang.data": "vi"}

    def items(deps):
        return [{"id": d["id"], "property": d["property"],
                 "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
               for o in spec["output"].strip(".").split("...")]
    body = {"output": spec["output"], "outputs": outputs, "inputs": items(spec["inputs"]),
            "state": items(spec["state"]), "changedPropIds": ["filter-types.value"]}
    status, text = _open(url + "/_dash-update-component", cookies, json.dumps(body).encode(),
                         {"Content-Type": "application/json",
                          "X-CSRFToken": cookies["_csrf_token"]})
    assert status == 200, text
    return json.loads(text)["response"]["kpi-total"]["children"]


def _sign_in_status(url: str, password: str) -> int:
    """The status of a sign-in as "tuan" (302 when it opens a session)."""
    try:
        return 302 if sign_in(url, "tuan", password).get("bw_session") else 200
    except urllib.error.HTTPError as err:
        return err.code


def test_two_servers_on_one_database_share_users_sessions_records_and_the_audit_log(
        postgis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", postgis_url)
    first, second = tmp_path / "a" / "var", tmp_path / "b" / "var"
    for folder in (first, second):
        folder.mkdir(parents=True)
    accounts = accounts_of(Settings(data_dir=first, database_url=postgis_url))
    accounts.create_user("tuan", PASSWORD, "commander")  # made once, through server a's folder

    with running_server(first, "--no-demo") as a, running_server(second, "--no-demo") as b:
        cookies = sign_in(a, "tuan", PASSWORD)
        assert cookies.get("bw_session"), "signing in on server a failed"
        assert _open(b + "/", cookies)[0] == 200  # server b knows server a's session
        assert _open(b + "/", {})[0] == 302  # … and nobody else's
        assert _overview_total(b, cookies) == "0"

        # an import through server a's folder (the command line) is counted by server b
        path = tmp_path / "vu_viec.csv"
        path.write_text(INCIDENTS, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "--data-dir", str(first), "import",
             "incidents", str(path), "--source", "Công an tỉnh", "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert _overview_total(b, cookies) == "7"
        assert _overview_total(a, cookies) == "7"

        # signing out on server b ends the session on server a
        _open(b + "/logout", cookies, b"",
              {"Content-Type": "application/x-www-form-urlencoded",
               "X-CSRFToken": cookies["_csrf_token"]})
        assert _open(a + "/", cookies)[0] == 302

        # failed sign-ins are counted across both servers: 5 for one name from one address
        for server in (a, b, a, b, a):
            assert _sign_in_status(server, "sai-mat-khau-1") == 401
        assert _sign_in_status(b, PASSWORD) == 429  # the right password, throttled on b too

    # one audit log: both servers' requests and the import are in it
    log = accounts.audit_log(limit=200, username="tuan")
    assert {"sign_in", "query", "sign_out", "sign_in_failed"} <= {row["action"] for row in log}
    assert not (first / "accounts.sqlite").exists() and not (second / "accounts.sqlite").exists()
