"""What one role's filter changes cost the server, callback by callback, in CPU time.

The load test (``scripts/load_test.py``) times whole requests on a server that shares the
machine; this script answers where the server's CPU goes. It serves the app of a copy of a
prepared data folder in this process, on one thread (werkzeug), and drives it with one
user of ``scripts/load_test.py`` (:class:`~scripts.load_test.UserSession`: the same
requests, the same random filter changes for a given seed) for ``--changes`` filter
changes. Every request after the page's first load is timed in the serving thread's own
CPU time (``time.thread_time``: what the request cost, whatever else the machine runs),
grouped by kind (a callback by its outputs, a GeoJSON by its path), and with ``--profile``
run under :mod:`cProfile` (one ``.prof`` file per kind in ``--out``; cProfile slows
Python-heavy code two to three times: compare CPU figures without it).

    .venv/bin/python scripts/profile_changes.py commander --data /tmp/demo --changes 15
    .venv/bin/python scripts/profile_changes.py planner --data /tmp/demo --profile --out /tmp/p

``--data`` is a data folder prepared by ``python -m bench.measure.load``'s
:func:`~bench.measure.load._prepared` (the demo and its release plan; warm it with
:func:`~bench.measure.load.warm` to measure the precomputed states): it is copied, never
changed. The statistics' and forecasts' background processes are off.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = ["main", "profile_changes"]


def _kind(environ) -> str:
    """A request's kind: a callback by its outputs, anything else by its path (the body of
    a callback is read and put back for the app)."""
    path = environ.get("PATH_INFO", "")
    if path != "/_dash-update-component":
        return path
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return "cb " + json.loads(body)["output"][:70]


def profile_changes(data: Path, role: str, *, changes: int, port: int, seed: int = 1,
                    profile: Path | None = None) -> dict:
    """Serve a copy of ``data`` and make ``changes`` filter changes as one user of ``role``;
    the CPU seconds of each kind of request (a list per kind) and the changes made."""
    os.environ["BORDERWATCH_STATISTICS_PRECOMPUTE"] = "0"
    os.environ["BORDERWATCH_FORECAST_PRECOMPUTE"] = "0"
    from werkzeug.serving import make_server

    import scripts.load_test as load_test
    from dashboard.wsgi import build_application
    from geo.config import Settings

    work = Path(tempfile.mkdtemp(prefix="bw-profile-"))
    try:
        shutil.copytree(data, work, dirs_exist_ok=True)
        settings = Settings(data_dir=work, precompute_forecasts=False,
                            precompute_statistics=False)
        server = build_application(settings, environ={"BORDERWATCH_DEMO": "1"})
        cpu: dict[str, list[float]] = defaultdict(list)
        profiles: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
        acting = threading.Event()  # the page is open: its first load is not counted
        app = server.wsgi_app

        def timed(environ, start_response):
            kind = _kind(environ)
            prof = profiles[kind] if profile is not None and acting.is_set() else None
            began = time.thread_time()
            if prof is not None:
                prof.enable()
            try:
                body = list(app(environ, start_response))
            finally:
                if prof is not None:
                    prof.disable()
            if acting.is_set():
                cpu[kind].append(time.thread_time() - began)
            return body

        server.wsgi_app = timed
        httpd = make_server("127.0.0.1", port, server, threaded=False)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        act = load_test.UserSession.act

        def counted_act(self):
            acting.set()
            return act(self)

        load_test.UserSession.act = counted_act
        try:
            result = load_test.run_load(f"http://127.0.0.1:{port}", sessions=1, duration=0.0,
                                        think=(0.0, 0.0), ramp=0.0, roles=(role,), seed=seed,
                                        min_actions=changes, timeout=600.0)
        finally:
            load_test.UserSession.act = act
            httpd.shutdown()
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            for kind, prof in profiles.items():
                name = "".join(c if c.isalnum() else "_" for c in kind).strip("_")[:80]
                prof.dump_stats(str(profile / f"{role}-{name}.prof"))
        return {"changes": len(result.stats.actions), "cpu": dict(cpu),
                "errors": result.stats.errors}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _table(role: str, found: dict) -> str:
    n = max(found["changes"], 1)
    total = sum(sum(v) for v in found["cpu"].values())
    lines = [f"{role}: {found['changes']} filter changes, server CPU {total:.2f} s, "
             f"{1000 * total / n:.0f} ms per change"]
    for kind, seconds in sorted(found["cpu"].items(), key=lambda kv: -sum(kv[1])):
        mean = 1000 * sum(seconds) / len(seconds)
        lines.append(f"  {kind[:72]:72} {len(seconds):4d} × {mean:7.1f} ms = "
                     f"{1000 * sum(seconds) / n:6.1f} ms per change")
    lines += [f"  error: {e}" for e in found["errors"][:5]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=("commander", "planner", "viewer"))
    parser.add_argument("--data", type=Path, required=True, help="a prepared data folder")
    parser.add_argument("--changes", type=int, default=15)
    parser.add_argument("--port", type=int, default=8750)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile every request")
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    found = profile_changes(args.data, args.role, changes=args.changes, port=args.port,
                            seed=args.seed, profile=args.out if args.profile else None)
    print(_table(args.role, found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=1))
    return 0 if not found["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
