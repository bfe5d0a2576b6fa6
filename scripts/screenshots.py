"""The README's screenshots, and a user's wait per action, on the demo in headless Chromium.

Starts ``borderwatch serve`` on a fresh copy of the demo (or uses ``--url``), signs in as
each role's demo account, and at 1440×900:

- saves ``docs/screenshot-*.png`` (overview as commander and as the committee's viewer,
  the commander's page, its trend chart, the planner's page, presentation mode);
- times what a user waits after each action: from the click to the moment the last
  callback answer has arrived and the page has no loading marker left (Dash's
  ``data-dash-is-loading``), each action repeated, median and worst printed.

Run from the repository root (Debian's Chromium, as the tests use it)::

    .venv/bin/python -m scripts.screenshots            # screenshots + waits
    .venv/bin/python -m scripts.screenshots --no-shots # waits only

The waits are the machine's: compare them only with figures measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from tests.browser import chromium, running_server, sign_in

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
VIEWPORT = {"width": 1440, "height": 900}

_MAP_READY = (
    "sel => { const gd = document.querySelector(sel + ' .js-plotly-plot');"
    " return gd && gd._fullLayout && gd._fullLayout.map &&"
    " gd._fullLayout.map._subplot.map.loaded(); }")


class Waits:
    """Counts the page's requests in flight, to time an action until the page is still."""

    def __init__(self, page) -> None:
        self.page, self.inflight, self.last = page, 0, time.perf_counter()
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, _request) -> None:
        self.inflight += 1
        self.last = time.perf_counter()

    def _end(self, _request) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last = time.perf_counter()

    def action(self, do, *, quiet_ms: int = 400, timeout_s: float = 60.0) -> float:
        """Seconds from ``do()`` to the last answer, once nothing is in flight or loading."""
        start = time.perf_counter()
        do()
        deadline = start + timeout_s
        while time.perf_counter() < deadline:
            self.page.wait_for_timeout(50)
            loading = self.page.evaluate(
                "() => !!document.querySelector('[data-dash-is-loading=\"true\"]')")
            still = (time.perf_counter() - self.last) * 1000 >= quiet_ms
            if self.inflight == 0 and not loading and still:
                return max(self.last - start, 0.0)
        raise TimeoutError("the page did not settle")


def _context(browser, url: str, role: str):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    cookies = sign_in(url, f"demo-{role}")
    context.add_cookies([{"name": k, "value": v, "url": url} for k, v in cookies.items()])
    return context


def _open(page, url: str, map_selector: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{map_selector} canvas.maplibregl-canvas", timeout=120_000)
    page.wait_for_function(_MAP_READY, arg=map_selector, timeout=120_000)
    page.wait_for_timeout(1500)


def _shot(page, name: str, shots: bool, **kwargs) -> None:
    if shots:
        page.screenshot(path=str(DOCS / f"screenshot-{name}.png"), **kwargs)
        print(f"  docs/screenshot-{name}.png")


def _timed(label: str, waits: Waits, actions, repeat: int) -> dict:
    """Each action of ``actions`` (a cycle, so the state changes every time) ``repeat`` times."""
    seconds = []
    for _ in range(repeat):
        for do in actions:
            seconds.append(waits.action(do))
    row = {"action": label, "n": len(seconds), "median_s": statistics.median(seconds),
           "max_s": max(seconds)}
    print(f"  {label:<52} n={row['n']:>2}  median {row['median_s']:.2f} s  "
          f"worst {row['max_s']:.2f} s", flush=True)
    return row


def run(url: str, *, shots: bool = True, repeat: int = 3) -> list[dict]:
    rows = []
    with chromium() as browser:
        # -- the commander: the overview, the commander's page, presentation mode
        page = _context(browser, url, "commander").new_page()
        waits = Waits(page)
        _open(page, url + "/", "#commune-map")
        _shot(page, "overview", shots)
        first_type = page.locator("#filter-types input[type=checkbox]").first
        rows.append(_timed("overview, commander: tick / untick a type", waits,
                           [first_type.click, first_type.click], repeat))

        _open(page, url + "/commander", "#cmd-map")
        layers = [page.locator(f"#cmd-layer >> text={text}").first for text in (
            "Điểm nóng thống kê (Gi*)", "Mật độ (bản đồ nhiệt)",
            "Đề xuất địa bàn trọng điểm", "Tỷ lệ trên 10.000 dân (đã làm trơn)")]
        rows.append(_timed("commander: switch layer (Gi*, density, key areas, rates)", waits,
                           [item.click for item in layers], repeat))
        presets = [page.locator(f"#cmd-preset >> text={text}").first
                   for text in ("Năm", "6 tháng", "Toàn bộ", "Quý")]
        rows.append(_timed("commander: choose a period preset (year, 6 months, all, quarter)",
                           waits, [item.click for item in presets], repeat))
        page.locator("#cmd-layer >> text=Đề xuất địa bàn trọng điểm").first.click()
        page.wait_for_timeout(3000)
        _shot(page, "commander", shots)
        trend = page.locator("#cmd-trend")
        if shots and trend.count():
            trend.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            trend.screenshot(path=str(DOCS / "screenshot-trend.png"))
            print("  docs/screenshot-trend.png")
        page.goto(url + "/commander")
        page.wait_for_selector("#cmd-map canvas.maplibregl-canvas", timeout=120_000)
        page.wait_for_timeout(1500)
        if page.locator("#cmd-present").count():
            rows.append(_timed("commander: open presentation mode", waits,
                               [page.locator("#cmd-present").click], 1))
            page.wait_for_timeout(2500)
            _shot(page, "presentation", shots)

        # -- the committee's viewer: the overview, released figures only
        page = _context(browser, url, "viewer").new_page()
        waits = Waits(page)
        _open(page, url + "/", "#commune-map")
        # the release plan of a fresh demo is built by a process of its own: the page says
        # "being prepared" and asks again every 5 s until it has the released figures
        page.wait_for_function("() => { const k = document.querySelector('#kpi-total');"
                               " return k && !['…', '...', ''].includes(k.innerText.trim()); }",
                               timeout=600_000)
        page.wait_for_timeout(3000)
        _shot(page, "overview-viewer", shots)
        first_type = page.locator("#filter-type-one input[type=radio]").nth(1)
        back = page.locator("#filter-type-one input[type=radio]").first
        if first_type.count():
            rows.append(_timed("overview, viewer: choose another type", waits,
                               [first_type.click, back.click], repeat))

        # -- the planner: coverage and targets
        page = _context(browser, url, "planner").new_page()
        waits = Waits(page)
        _open(page, url + "/planner", "#plan-map")
        _shot(page, "planner", shots)
        presets = [page.locator(f"#plan-preset >> text={text}").first
                   for text in ("Năm", "Quý")]
        rows.append(_timed("planner: choose a period preset (year, quarter)", waits,
                           [item.click for item in presets], repeat))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server on the demo (default: start one)")
    parser.add_argument("--no-shots", action="store_true", help="time the waits only")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each action (3)")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = args.url
        if not url:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = stack.enter_context(running_server(folder / "var", timeout=300))
            print(f"server {url} on a fresh demo", flush=True)
        run(url, shots=not args.no_shots, repeat=args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
