"""Gap classes (risk × coverage) and the priority list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from layers.gaps import BIVARIATE_COLOURS, GAP_CLASSES, gap_classes, gap_layer, priority_list


def _ev() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["Border A", "Border B", "Mid C", "Covered D", "Quiet E", "Unknown F"],
            "score": [9, 6, 3, 7, 0, 5],
            "models": [0, 1, 0, 3, 0, 0],
            "intensive": [0, 0, 0, 1, 0, 0],
            "reach": [2.0, 40.0, 5.0, 60.0, 0.0, np.nan],
            "days_since": [400, 20, np.nan, 10, 900, np.nan],
            "last_agency": ["Hội LHPN", "BĐBP", None, "Công an tỉnh", "UBND xã", None],
            "risk_reasons": [[("gi.hot_99", {})], [("border.within_5", {"km": 1.0})], [], [], [],
                             []],
        },
        index=["1", "2", "3", "4", "5", "6"],
    )


def test_classes_follow_the_written_thresholds():
    # reach median over the known values [2, 40, 5, 60, 0] is 5
    out = gap_classes(_ev()).set_index("name")
    assert out.loc["Border A", ["risk", "coverage", "gap"]].tolist() == ["high", "low", 9]
    assert out.loc["Border B", ["risk", "coverage", "gap"]].tolist() == ["high", "medium", 8]
    assert out.loc["Mid C", ["risk", "coverage", "gap"]].tolist() == ["medium", "medium", 5]
    assert out.loc["Covered D", ["risk", "coverage", "gap"]].tolist() == ["high", "high", 7]
    assert out.loc["Quiet E", ["risk", "coverage", "gap"]].tolist() == ["low", "low", 3]
    # reach unknown, no model: not low (unknown is not 0), from the models alone medium
    assert out.loc["Unknown F", ["risk", "coverage", "gap"]].tolist() == ["high", "medium", 8]
    assert GAP_CLASSES[9] == ("high", "low") and GAP_CLASSES[1] == ("low", "high")


def test_the_scale_is_a_valid_stepped_plotly_scale():
    from layers.gaps import BIVARIATE_SCALE

    positions = [p for p, _ in BIVARIATE_SCALE]
    assert positions[0] == 0.0 and positions[-1] == 1.0 and positions == sorted(positions)
    # code k drawn with zmin 0.5, zmax 9.5 sits at (k - 0.5) / 9: inside its own step
    for code, colour in BIVARIATE_COLOURS.items():
        at = (code - 0.5) / 9
        below = [c for p, c in BIVARIATE_SCALE if p <= at][-1]
        assert below == colour


def test_the_darkest_cell_is_high_risk_low_coverage():
    def lightness(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        return 0.299 * r + 0.587 * g + 0.114 * b
    assert min(BIVARIATE_COLOURS, key=lambda c: lightness(BIVARIATE_COLOURS[c])) == 9
    assert max(BIVARIATE_COLOURS, key=lambda c: lightness(BIVARIATE_COLOURS[c])) == 1


def test_priority_list_order_reasons_and_agency():
    plist = priority_list(_ev())
    assert plist["name"].tolist() == ["Border A", "Border B", "Unknown F", "Covered D", "Mid C"]
    assert "Quiet E" not in plist["name"].tolist()  # low risk is not a priority
    first = plist.iloc[0]
    assert [k for k, _ in first["reasons"]] == ["gi.hot_99", "coverage.no_model",
                                                "coverage.reach", "coverage.days_since"]
    assert first["last_agency"] == "Hội LHPN" and first["rank"] == 1
    unknown = plist.set_index("name").loc["Unknown F", "reasons"]
    assert ("coverage.reach_unknown", {}) in unknown and ("coverage.never", {}) in unknown
    assert len(priority_list(_ev(), top=2)) == 2


def test_layer_and_bad_input():
    layer = gap_layer(_ev(), unit_set="2025")
    assert layer.value == "gap" and layer.params["zmin"] == 0.5
    assert layer.frame.loc["1", "gap"] == 9
    assert len(layer.params["classes"]) == 9
    with pytest.raises(ValueError, match="reach"):
        gap_classes(_ev().drop(columns="reach"))


def test_no_outreach_is_low_reach_even_when_the_median_is_zero():
    """A quarter where most communes had no outreach (59 of 96 in the demo's 2025Q4)."""
    ev = pd.DataFrame(
        {"name": list("ABCDEF"), "score": [6, 6, 6, 0, 6, 6], "models": [0, 1, 2, 0, 0, 2],
         "intensive": [0, 0, 0, 0, 0, 0], "reach": [0.0, 0.0, 0.0, 0.0, 3.0, 8.0]},
        index=list("abcdef"),
    )
    out = gap_classes(ev)
    assert out["coverage"].tolist() == ["low", "medium", "medium", "low", "medium", "high"]
    assert out.loc["a", "gap"] == 9  # high risk, no model, no outreach: the darkest cell
    assert out.loc["d", "gap"] == 3


def test_unknown_reach_is_unknown_not_zero():
    """Reach unknown (no population): coverage from the models alone, never low or
    'reach at or above the median'."""
    ev = pd.DataFrame(
        {"name": list("ABCDE"), "score": [6, 6, 6, 6, 6], "models": [0, 2, 1, 0, 0],
         "intensive": [0, 0, 1, 0, 0], "reach": [np.nan, np.nan, np.nan, 10.0, 20.0]},
        index=list("abcde"),
    )
    out = gap_classes(ev)
    # known reaches 10 and 20: median 15
    assert out["coverage"].tolist() == ["medium", "medium", "high", "low", "medium"]
    assert gap_layer(ev, unit_set="2025").params["reach_unknown"] == ("a", "b", "c")
    # once known to be 0 (no outreach), it is low, and the median of 0, 10, 20 is 10
    ev.loc["a", "reach"] = 0.0
    assert gap_classes(ev).loc[["a", "d", "e"], "coverage"].tolist() == ["low", "medium",
                                                                         "medium"]
