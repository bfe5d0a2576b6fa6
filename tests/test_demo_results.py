"""The demo's answers, fingerprinted: what every layer, released view and indicator says
on the demo data, to the eighth decimal (issue 18's "results identical to today's").

Speed work (the cube, statistics read from a disk cache or precomputed in a child
process, vectorised smoothing, the release plan built in its own process) must change
how fast an answer comes, never the answer. Each fingerprint below was taken on the
code as it stood before that work (commit 7c7b32d, 02/12/2026): the values of each
layer's frame (every column but the geometry, floats rounded to 8 decimals) for four
filter states — a quarter, a half-year of two types, a former-commune year of one type,
and dates off the release grid — as the commander sees them and as the committee's
viewer sees them (through the release plan), the planner's three layers, and the plan
indicators. A failing key names the layer and the state whose answer moved.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest

from layers.counts import INCIDENT_TYPES

STATES = {
    "quarter": dict(unit_set="2025", types=tuple(INCIDENT_TYPES),
                    start=dt.date(2025, 10, 1), end=dt.date(2025, 12, 31)),
    "half_two_types": dict(unit_set="2025", types=("victim", "trafficking_case"),
                           start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30)),
    "legacy_year": dict(unit_set="legacy", types=("illegal_crossing",),
                        start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)),
    "off_grid": dict(unit_set="2025", types=tuple(INCIDENT_TYPES),
                     start=dt.date(2025, 3, 15), end=dt.date(2025, 8, 20)),
}
VIEWER_TYPE = {"quarter": ("victim",), "half_two_types": ("trafficking_case",),
               "legacy_year": ("illegal_crossing",), "off_grid": ("victim",)}
COMMANDER_KINDS = ("counts", "rates", "gi", "gi_rate", "emerging", "change", "key_areas",
                   "density", "hexagons")
VIEWER_KINDS = ("counts", "rates", "gi", "gi_rate", "emerging", "change", "key_areas",
                "density")
PLANNER_KINDS = ("coverage", "reach", "gaps")


def fingerprint(frame: pd.DataFrame) -> str:
    """The first 16 hex digits of the SHA-256 of ``frame``'s CSV, without its geometry,
    floats rounded to 8 decimals (the order of a sum may move the 15th)."""
    frame = pd.DataFrame(frame).drop(columns=["geometry"], errors="ignore").copy()
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            frame[column] = np.round(frame[column].to_numpy(dtype=float), 8) + 0.0
    return hashlib.sha256(frame.to_csv().encode()).hexdigest()[:16]


def released(build) -> str:
    """The fingerprint of the layer ``build()`` returns below commander, or the name of
    the refusal (a refusal is an answer too: points are never drawn for a viewer)."""
    from layers.suppression.roles import PointDataRefused, ReleaseRefused

    try:
        return fingerprint(build().frame)
    except (PointDataRefused, ReleaseRefused) as refusal:
        return f"refused: {type(refusal).__name__}"


def answers(an, view) -> dict[str, str]:
    """Every fingerprint of the demo, keyed ``role/kind/state``."""
    out = {}
    for state, filters in STATES.items():
        for kind in COMMANDER_KINDS:
            out[f"commander/{kind}/{state}"] = fingerprint(an.layer(kind, **filters).frame)
        one_type = {**filters, "types": VIEWER_TYPE[state]}   # one type or all, below commander
        for kind in VIEWER_KINDS:
            out[f"viewer/{kind}/{state}"] = released(lambda: view.layer(kind, **one_type))
        dates = dict(unit_set=filters["unit_set"], start=filters["start"], end=filters["end"])
        for kind in PLANNER_KINDS:
            out[f"commander/{kind}/{state}"] = fingerprint(an.planner_layer(kind, **dates).frame)
            out[f"viewer/{kind}/{state}"] = fingerprint(view.planner_layer(kind, **dates).frame)
        for role, source in (("commander", an), ("viewer", view)):
            period, year = source.kpis(start=filters["start"], end=filters["end"])
            out[f"{role}/kpis/{state}"] = fingerprint(period)
            out[f"{role}/kpis_year/{state}"] = fingerprint(year)
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.released import analyses_for
    from geo.config import Settings
    from tests.cache import PLAN_CACHE, demo_data

    settings = Settings(data_dir=tmp_path_factory.mktemp("results") / "var",
                        cache_dir=PLAN_CACHE)
    demo_data(settings)
    an = Analyses(build_context(settings))
    view = analyses_for(an, "viewer", wait=900)
    assert view.released
    return answers(an, view)


EXPECTED: dict[str, str] = {
    "commander/change/half_two_types": "5770f453511db679",
    "commander/change/legacy_year": "e687c1ab5efb1fee",
    "commander/change/off_grid": "666f5e1ff6879ed6",
    "commander/change/quarter": "554aa1b962aa508f",
    "commander/counts/half_two_types": "4e200c2b71b3fa41",
    "commander/counts/legacy_year": "0195f406e59c26f7",
    "commander/counts/off_grid": "4074e233f467ddbe",
    "commander/counts/quarter": "7af7dddb8278f479",
    "commander/coverage/half_two_types": "f75242ce1b0b773e",
    "commander/coverage/legacy_year": "0937aedfed9e3141",
    "commander/coverage/off_grid": "5e37609669afd458",
    "commander/coverage/quarter": "3d2f830f40fbd401",
    "commander/density/half_two_types": "302f43bb388daa0b",
    "commander/density/legacy_year": "44787e501fb70216",
    "commander/density/off_grid": "96fd22d34b5fafcf",
    "commander/density/quarter": "50c95197b850b495",
    "commander/emerging/half_two_types": "82924d588d68095a",
    "commander/emerging/legacy_year": "6ab082144f5fc411",
    "commander/emerging/off_grid": "6fb767a8b6381b7f",
    "commander/emerging/quarter": "e5faed7d5eef206b",
    "commander/gaps/half_two_types": "49458681c029b8e7",
    "commander/gaps/legacy_year": "691a1e2faf21a501",
    "commander/gaps/off_grid": "0d246f779e0c3ef4",
    "commander/gaps/quarter": "3cc1cd5918b8bc47",
    "commander/gi/half_two_types": "3d62adfeef68c169",
    "commander/gi/legacy_year": "bf22740308de217a",
    "commander/gi/off_grid": "397bd3b58a0311ce",
    "commander/gi/quarter": "d207d0808f28ca73",
    "commander/gi_rate/half_two_types": "5f8ab4959d58e68b",
    "commander/gi_rate/legacy_year": "bf22740308de217a",
    "commander/gi_rate/off_grid": "09f6e90d0701717c",
    "commander/gi_rate/quarter": "f769d40efefd366f",
    "commander/hexagons/half_two_types": "7da6d15f3e804940",
    "commander/hexagons/legacy_year": "4912859a02adedd6",
    "commander/hexagons/off_grid": "8fb856ebf365abae",
    "commander/hexagons/quarter": "2a2269fa939bee00",
    "commander/key_areas/half_two_types": "4849c99c2530842d",
    "commander/key_areas/legacy_year": "61b4184433990e47",
    "commander/key_areas/off_grid": "f0ed39f0676d5246",
    "commander/key_areas/quarter": "f63f830ad7261b05",
    "commander/kpis/half_two_types": "d18067a5976c9b84",
    "commander/kpis/legacy_year": "f82be38c85802a2c",
    "commander/kpis/off_grid": "0f54f1d81ff1924c",
    "commander/kpis/quarter": "d7774e8cf2f03a6c",
    "commander/kpis_year/half_two_types": "7f3b20d0f99cf175",
    "commander/kpis_year/legacy_year": "5f644f546428a486",
    "commander/kpis_year/off_grid": "62beff936cb1cebd",
    "commander/kpis_year/quarter": "2f422cdba109581a",
    "commander/rates/half_two_types": "ef26bcdb3b67f955",
    "commander/rates/legacy_year": "0195f406e59c26f7",
    "commander/rates/off_grid": "60cae792a47731bc",
    "commander/rates/quarter": "be1531729f40ab2d",
    "commander/reach/half_two_types": "6f181cd3dcec38a6",
    "commander/reach/legacy_year": "194dbe17278918c9",
    "commander/reach/off_grid": "22aecaa23654c8db",
    "commander/reach/quarter": "d80dea24bb332f01",
    "viewer/change/half_two_types": "e6b576abacdd040b",
    "viewer/change/legacy_year": "4b269d412f4b8b0e",
    "viewer/change/off_grid": "6481b8f3063a9647",
    "viewer/change/quarter": "af0fbaa877d5fa69",
    "viewer/counts/half_two_types": "7bd8b3fc84032e45",
    "viewer/counts/legacy_year": "10b1026581594d45",
    "viewer/counts/off_grid": "06af888080487c87",
    "viewer/counts/quarter": "2d705b7240752e30",
    "viewer/coverage/half_two_types": "f75242ce1b0b773e",
    "viewer/coverage/legacy_year": "0937aedfed9e3141",
    "viewer/coverage/off_grid": "5e37609669afd458",
    "viewer/coverage/quarter": "3d2f830f40fbd401",
    "viewer/density/half_two_types": "refused: PointDataRefused",
    "viewer/density/legacy_year": "refused: PointDataRefused",
    "viewer/density/off_grid": "refused: PointDataRefused",
    "viewer/density/quarter": "refused: PointDataRefused",
    "viewer/emerging/half_two_types": "c0fef2597d8548fa",
    "viewer/emerging/legacy_year": "8e87361c5d80c939",
    "viewer/emerging/off_grid": "1037f4db6affa44a",
    "viewer/emerging/quarter": "1037f4db6affa44a",
    "viewer/gaps/half_two_types": "c8e1a9adec89fcce",
    "viewer/gaps/legacy_year": "7aca002b6d73d46a",
    "viewer/gaps/off_grid": "9f26f5fc6abc9ea3",
    "viewer/gaps/quarter": "0a2e73cb2052c1be",
    "viewer/gi/half_two_types": "c767035fef0648d1",
    "viewer/gi/legacy_year": "850eadf619197d04",
    "viewer/gi/off_grid": "c767035fef0648d1",
    "viewer/gi/quarter": "c767035fef0648d1",
    "viewer/gi_rate/half_two_types": "c767035fef0648d1",
    "viewer/gi_rate/legacy_year": "850eadf619197d04",
    "viewer/gi_rate/off_grid": "c767035fef0648d1",
    "viewer/gi_rate/quarter": "c767035fef0648d1",
    "viewer/key_areas/half_two_types": "11a7d4d399be780c",
    "viewer/key_areas/legacy_year": "877e9d8d50f8c0eb",
    "viewer/key_areas/off_grid": "c29feae289baf4a0",
    "viewer/key_areas/quarter": "8df752997414093c",
    "viewer/kpis/half_two_types": "e9070b597fe7b8ff",
    "viewer/kpis/legacy_year": "b57ae23f509fa058",
    "viewer/kpis/off_grid": "e5a13810aaf4fcb2",
    "viewer/kpis/quarter": "0007bb54ef9cb9ae",
    "viewer/kpis_year/half_two_types": "2ec43744f89d039a",
    "viewer/kpis_year/legacy_year": "3013f6a7423889b8",
    "viewer/kpis_year/off_grid": "11f1d4fad0b22707",
    "viewer/kpis_year/quarter": "a5601a379adbc0d9",
    "viewer/rates/half_two_types": "c474e8c31cd3c795",
    "viewer/rates/legacy_year": "10b1026581594d45",
    "viewer/rates/off_grid": "bb953721d18090a8",
    "viewer/rates/quarter": "5e5db777a36851fa",
    "viewer/reach/half_two_types": "6f181cd3dcec38a6",
    "viewer/reach/legacy_year": "194dbe17278918c9",
    "viewer/reach/off_grid": "22aecaa23654c8db",
    "viewer/reach/quarter": "d80dea24bb332f01",
}


def test_every_answer_on_the_demo_is_the_one_it_was(demo):
    moved = {key: (EXPECTED.get(key), got) for key, got in demo.items()
             if EXPECTED.get(key) != got}
    assert set(demo) == set(EXPECTED)
    assert not moved, f"{len(moved)} answers moved: {sorted(moved)}"


def test_the_fingerprint_sees_a_change_in_the_eighth_decimal():
    frame = pd.DataFrame({"name": ["A", "B"], "rate": [1.0, 2.0]})
    assert fingerprint(frame) == fingerprint(frame.assign(rate=[1.0 + 1e-10, 2.0]))
    assert fingerprint(frame) != fingerprint(frame.assign(rate=[1.0 + 2e-8, 2.0]))
    assert fingerprint(frame) != fingerprint(frame.assign(name=["A", "C"]))
