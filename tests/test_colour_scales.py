"""Every map's colours, checked as a colour-blind viewer and a grey printer would see them.

Lightness is CIE L* (sRGB, D65); colour-vision deficiencies are simulated with the
Machado, Oliveira & Fernandes (2009) matrices at full severity; differences are ΔE*ab.
"""

from __future__ import annotations

import numpy as np
import pytest

from layers.compare import CHANGE_SCALE
from layers.counts import SEQUENTIAL_SCALE
from layers.coverage import COVERAGE_SCALE
from layers.emerging import (CATEGORY_COLOURS, GROUP_COLOURS, GROUP_OF, GROUPS,
                             NO_PATTERN_COLOUR)
from layers.gaps import BIVARIATE_COLOURS
from layers.hotspots import DIVERGING_SCALE
from layers.key_areas import KEY_AREA_SCALE
from layers.proximity import DISTANCE_SCALE

_MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def _lab(colour: str, deficiency: str | None = None) -> np.ndarray:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if deficiency:
        linear = np.clip(np.array(_MACHADO[deficiency]) @ linear, 0, 1)
    xyz = (_XYZ @ linear) / [0.95047, 1.0, 1.08883]
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _min_difference(colours, deficiency=None) -> float:
    labs = [_lab(c, deficiency) for c in colours]
    return min(float(np.linalg.norm(a - b)) for i, a in enumerate(labs) for b in labs[i + 1:])


def test_known_values():
    assert _lab("#ffffff")[0] == pytest.approx(100, abs=0.01)
    assert _lab("#000000")[0] == pytest.approx(0, abs=0.01)
    assert _lab("#777777")[0] == pytest.approx(50.0, abs=0.5)
    # a deuteranope cannot tell this red from this green; a normal viewer can
    assert _min_difference(["#d62728", "#7f7f00"], "deuteranopia") < 20 < _min_difference(
        ["#d62728", "#7f7f00"])


@pytest.mark.parametrize("name, scale, step", [
    ("incident counts, rates, density, reach", SEQUENTIAL_SCALE, 5),
    ("models active", COVERAGE_SCALE, 10),
    ("key-area score", KEY_AREA_SCALE, 2),
])
def test_sequential_scales_darken_steadily(name, scale, step):
    """More is darker at every stop: the ranking survives a grey print."""
    lightness = [_lab(c)[0] for _, c in scale]
    assert all(a - b >= step for a, b in zip(lightness, lightness[1:])), (name, lightness)


def test_distance_scale_is_darkest_near_the_border():
    lightness = [_lab(c)[0] for _, c in DISTANCE_SCALE]
    assert all(b - a >= 10 for a, b in zip(lightness, lightness[1:]))


def test_change_classes_differ_in_grey_and_for_colour_blind_viewers():
    fall, same, rise = (c for _, c in CHANGE_SCALE[::2])
    lightness = sorted(_lab(c)[0] for c in (fall, same, rise))
    assert lightness[1] - lightness[0] >= 20 and lightness[2] - lightness[1] >= 15
    for deficiency in (None, *_MACHADO):
        assert _min_difference([fall, same, rise], deficiency) >= 15


def test_hot_spot_classes_stay_apart_for_colour_blind_viewers():
    """Seven Gi* classes; in grey the confidence reads by lightness (tests/test_hotspots.py)
    and the direction by the legend's words."""
    colours = [c for _, c in DIVERGING_SCALE[::2]]
    for deficiency in (None, *_MACHADO):
        assert _min_difference(colours, deficiency) >= 15


def test_gap_classes_are_all_distinct():
    """Nine gap classes cannot all differ strongly; they must at least never coincide
    (ΔE ≥ 3.5, about twice a just-noticeable difference)."""
    for deficiency in (None, *_MACHADO):
        assert _min_difference(list(BIVARIATE_COLOURS.values()), deficiency) >= 3.5
    # the class planners look for first, high risk and low coverage, is the darkest
    gap_lightness = {code: _lab(c)[0] for code, c in BIVARIATE_COLOURS.items()}
    assert min(gap_lightness, key=gap_lightness.get) == 9


def test_emerging_groups_differ_in_grey_and_for_colour_blind_viewers():
    """Seventeen categories in five groups a direction (issue 17: the pale oranges could not
    be told apart). In grey print the groups of a direction darken by at least 12 L* per step
    from historical to emerging, and no pattern is lighter still; hot and cold read by hue
    and by the legend's words, as on the Gi* map. Every two colours stay ΔE ≥ 12 apart for
    every viewer, and a category takes its group's colour."""
    for kind, colours in GROUP_COLOURS.items():
        lightness = [_lab(colours[g])[0] for g in GROUPS]  # most pressing (darkest) first
        assert all(b - a >= 12 for a, b in zip(lightness, lightness[1:])), (kind, lightness)
        assert _lab(NO_PATTERN_COLOUR)[0] - lightness[-1] >= 10
    everything = [NO_PATTERN_COLOUR, *(c for g in GROUP_COLOURS.values() for c in g.values())]
    assert len(set(everything)) == 11
    for deficiency in (None, *_MACHADO):
        assert _min_difference(everything, deficiency) >= 12, deficiency
        for group in GROUPS:  # one group, two directions: far apart in colour
            hot, cold = GROUP_COLOURS["hot"][group], GROUP_COLOURS["cold"][group]
            assert _min_difference([hot, cold], deficiency) >= 20
    for name, colour in CATEGORY_COLOURS.items():
        if name != "no_pattern":
            pattern, kind = name.rsplit("_", 1)
            assert colour == GROUP_COLOURS[kind][GROUP_OF[pattern]]
    # the colours the issue found: the old eight reds held pairs under 10 L* apart
    old_reds = ("#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272", "#fcbba1",
                "#fee0d2")
    old = sorted(_lab(c)[0] for c in old_reds)
    assert min(b - a for a, b in zip(old, old[1:])) < 10
