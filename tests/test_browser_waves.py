"""End to end: a filter change costs one wave of requests, on a slow network.

A wave is a round of ``/_dash-update-component`` requests each of which was sent before
any request of the round finished; a request sent after one of round *k* finished belongs
to round *k* + 1 (it may have waited for that answer). On a border post's slow provincial
network each wave is a round trip: the load test found that a commander's period preset
took three (preset → dates → map, tables and address bar → the frame's route), nine
requests. Now the preset sets the dates in the browser
(:data:`dashboard.period_filter.PERIOD_JS`), and the frame's route is not asked when only
the page's filters rewrite the address (:mod:`dashboard.route_gate`): one wave, each
callback that draws something asked once, and nothing else. Chromium runs with 300 ms of
added latency per request, as the slow network would, so that rounds cannot overlap by
chance. The period callback and the route are never asked; the planner's preset and the
overview's period behave alike. A map whose state is still being prepared asks again on a
clock (its ``Interval``): such timed retries are not waves of the change, and are counted
apart.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

#: Added latency of every request (ms): a slow provincial network.
LATENCY_MS = 300
_TITLE = """([sel, t]) => { const gd = document.querySelector(sel + ' .js-plotly-plot');
  return gd && gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text.includes(t); }"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


class Waves:
    """The callback requests of a page, each with its wave (see the module's docstring)."""

    def __init__(self, page) -> None:
        self.sent: list[tuple[str, int]] = []  # (the callback's outputs, its wave)
        self.retries = 0  # requests fired by a page's retry clock (Interval)
        self._open: dict[object, int] = {}
        self._done_wave = 0  # the latest wave of a request that finished
        self.last = time.monotonic()
        self.recording = False
        page.on("request", self._sent)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._finished)

    def _sent(self, request) -> None:
        if "/_dash-update-component" not in request.url:
            return
        self.last = time.monotonic()
        wave = self._done_wave + 1
        body = json.loads(request.post_data or "{}")
        fired = body.get("changedPropIds") or []
        if fired and all(p.endswith(".n_intervals") for p in fired):
            self.retries += self.recording  # a map that asks again later: a timed poll,
            self._open[request] = None      # not a wave of the change
            return
        self._open[request] = wave
        if self.recording:
            self.sent.append((body.get("output", ""), wave))

    def _finished(self, request) -> None:
        if request not in self._open:
            return
        wave = self._open.pop(request)
        self._done_wave = max(self._done_wave, wave or 0)
        self.last = time.monotonic()

    def start(self) -> None:
        """Count from the next request: the one just answered is wave 0."""
        self.sent, self.retries, self.recording = [], 0, True
        self._done_wave = 0

    def quiet(self, page, seconds: float = 2.5, timeout: float = 90.0) -> None:
        """Wait until no callback request is open and none was sent for ``seconds``."""
        deadline = time.monotonic() + timeout
        while self._open or time.monotonic() - self.last < seconds:
            assert time.monotonic() < deadline, f"still asking: {self._open}"
            page.wait_for_timeout(200)

    @property
    def waves(self) -> int:
        return max((wave for _, wave in self.sent), default=0)

    def outputs(self) -> list[str]:
        return sorted(output for output, _ in self.sent)


def _slow(page) -> None:
    """Every request of ``page`` LATENCY_MS later, as on a slow network."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": LATENCY_MS,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": -1})


def _open(page, url: str, graph: str, title: str) -> Waves:
    waves = Waves(page)
    _slow(page)
    page.goto(url)
    page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
    page.wait_for_function(_TITLE, arg=[graph, title], timeout=90_000)
    waves.quiet(page)
    return waves


def _painted(page, graph: str) -> int:
    """Communes filled on the map (its first trace's values that are numbers)."""
    return page.evaluate("(sel) => { const gd = document.querySelector(sel + ' .js-plotly-plot');"
                         " return Array.from(gd._fullData[0].z).filter(v => v !== null &&"
                         " !Number.isNaN(v)).length; }", graph)


def _change(page, waves: Waves, act, graph: str, title: str) -> float:
    """``act()``, then wait for the map's new title and for the page to go quiet; the time
    from the click to the last answer (s)."""
    waves.start()
    started = time.monotonic()
    act()
    page.wait_for_function(_TITLE, arg=[graph, title], timeout=90_000)
    waves.quiet(page)
    return waves.last - started


def _no_bookkeeping(outputs: list[str], period: str) -> None:
    """Neither the period callback (dates ↔ preset) nor the frame's route was asked."""
    assert not any(o.startswith(f"..{period}.start_date") for o in outputs), outputs
    assert not any(o.startswith("..page.children") for o in outputs), outputs


def test_a_commander_preset_is_one_wave(server):
    with chromium_page(1500, 1000) as page:
        waves = _open(page, server + "/commander", "#cmd-map", "01/10/2025 – 31/12/2025")
        seconds = _change(page, waves, lambda: page.click("#cmd-preset >> text=Năm"),
                          "#cmd-map", "01/01/2025 – 31/12/2025")
        outputs = waves.outputs()
        print(f"commander preset: {len(outputs)} requests, {waves.waves} wave(s), "
              f"{seconds:.2f} s at {LATENCY_MS} ms latency: {outputs}")
        assert waves.waves == 1, waves.sent
        # each part that draws something asked once: the map, the ranked table, the trend,
        # the near repeats, the address bar (the map's own request first)
        assert len(outputs) == len(set(outputs)) == 5, outputs
        for part in ("cmd-map.figure", "cmd-table.children", "cmd-trend.figure",
                     "cmd-url.search"):
            assert sum(part in o for o in outputs) == 1, (part, outputs)
        _no_bookkeeping(outputs, "cmd-period")
        # what the page shows: the year's dates in the picker, "Năm" ticked, the address,
        # the map painted, the ranked table filled
        assert page.input_value("#cmd-period") == "01/01/2025"
        assert page.input_value("#cmd-period-end-date") == "31/12/2025"
        assert page.locator("#cmd-preset").get_by_label("Năm", exact=True).is_checked()
        assert "from=2025-01-01&to=2025-12-31" in page.url and "lang=vi" in page.url
        assert _painted(page, "#cmd-map") == 96
        assert len(page.query_selector_all("#cmd-table tr.ranked-row")) >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "commander_preset_year.png"))

        # back to the latest quarter: the same single wave
        _change(page, waves, lambda: page.click("#cmd-preset >> text=Quý"), "#cmd-map",
                "01/10/2025 – 31/12/2025")
        assert waves.waves == 1 and len(waves.sent) == 5, waves.sent
        _no_bookkeeping(waves.outputs(), "cmd-period")


def test_a_planner_preset_is_one_wave(server):
    with chromium_page(1500, 1000, role="planner") as page:
        # the planner opens on six months; the year preset
        waves = _open(page, server + "/planner", "#plan-map", "01/07/2025 – 31/12/2025")
        _change(page, waves, lambda: page.click("#plan-preset >> text=Năm"), "#plan-map",
                "01/01/2025 – 31/12/2025")
        outputs = waves.outputs()
        print(f"planner preset: {len(outputs)} requests, {waves.waves} wave(s), "
              f"{waves.retries} timed retries: {outputs}")
        assert waves.waves == 1, waves.sent
        assert sum("plan-map.figure" in o for o in outputs) == 1, outputs
        assert sum("plan-url.search" in o for o in outputs) == 1, outputs
        _no_bookkeeping(outputs, "plan-period")
        assert page.input_value("#plan-period") == "01/01/2025"
        assert page.locator("#plan-preset").get_by_label("Năm", exact=True).is_checked()
        assert "from=2025-01-01" in page.url


def test_an_overview_period_is_one_wave_and_a_language_switch_still_renders(server):
    with chromium_page(1500, 1000, role="viewer") as page:
        # the overview opens on the whole period; its start typed: the latest quarter (a
        # viewer sees released periods: whole quarters, half-years, years)
        waves = _open(page, server + "/", "#commune-map", "01/01/2022 – 31/12/2025")

        def type_start():
            page.click("#filter-period")
            page.keyboard.press("Control+A")
            page.keyboard.type("01/10/2025", delay=20)
            page.keyboard.press("Enter")

        _change(page, waves, type_start, "#commune-map", "01/10/2025 – 31/12/2025")
        outputs = waves.outputs()
        print(f"overview period: {len(outputs)} requests, {waves.waves} wave(s): {outputs}")
        assert waves.waves == 1, waves.sent
        assert sum("commune-map.figure" in o for o in outputs) == 1, outputs
        assert sum("ov-url.search" in o for o in outputs) == 1, outputs
        _no_bookkeeping(outputs, "filter-period")
        assert "from=2025-10-01" in page.url

        # the language link changes the language: the gate lets the route through, and the
        # page comes back in English with the same period
        waves.start()
        page.click(".lang-links >> text=English")
        page.wait_for_selector("label:text-is('Incident type')", timeout=90_000)
        page.wait_for_function(_TITLE, arg=["#commune-map", "01/10/2025 – 31/12/2025"],
                               timeout=90_000)
        waves.quiet(page)
        assert sum(o.startswith("..page.children") for o in waves.outputs()) == 1, waves.sent
        assert "lang=en" in page.url and "from=2025-10-01" in page.url
