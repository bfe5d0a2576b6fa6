"""The emerging hot spot map's legend (issue 17): only the groups of categories present, one
step each, labelled with the categories present in them, in colours apart in grey print;
on the live map, after a filter change (a patch), and in the offline HTML map."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from dashboard.figures.commune_map import (TRACE_COMMUNES, commune_map, grouped_classes,
                                           values_patch)
from layers.emerging import (CATEGORIES, CATEGORY_CODES, CATEGORY_COLOURS, CATEGORY_SCALE,
                             GROUP_COLOURS, NO_PATTERN_COLOUR)
from layers.layer import Layer
from tests.test_colour_scales import _lab

CODES = [f"c{i}" for i in range(8)]


def _layer(categories) -> Layer:
    frame = pd.DataFrame({"name": [f"Xã {c}" for c in CODES], "category": categories},
                         index=CODES)
    frame["category_code"] = frame["category"].map(CATEGORY_CODES).astype(float)
    return Layer(frame=frame, value="category_code", unit_set="2025", kind="emerging",
                 title_key="layer.emerging.title", legend_key="layer.emerging.legend",
                 units_key="unit.category",
                 params={"categories": dict(CATEGORY_CODES), "zmin": -0.5,
                         "zmax": len(CATEGORIES) - 0.5},
                 colorscale=CATEGORY_SCALE)


MIXED = ["new_hot", "intensifying_hot", "no_pattern", "persistent_hot", "oscillating_hot",
         "historical_cold", "no_pattern", "sporadic_hot"]


@pytest.fixture(scope="module")
def furniture():
    gates = gpd.GeoDataFrame(
        {c: [] for c in ("gate_id", "name", "gate_class", "commune", "position",
                         "counterpart", "counterpart_province", "blo", "new_code",
                         "old_code")}, geometry=gpd.GeoSeries([], crs=4326))
    border = gpd.GeoDataFrame(geometry=[LineString([(106, 11), (106.2, 11.2)])], crs=4326)
    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c, "properties": {},
         "geometry": box(106 + i / 10, 11, 106.1 + i / 10, 11.1).__geo_interface__}
        for i, c in enumerate(CODES)]}
    return gates, border, shapes


def test_only_the_groups_present_one_step_each_with_their_categories():
    shown = grouped_classes(_layer(MIXED), "vi")
    assert [e["key"] for e in shown["entries"]] == [
        "emerging_hot", "persistent_hot", "sporadic_hot", "historical_cold", "no_pattern"]
    # the bar reads upwards: the most pressing group on top, no pattern at the bottom
    assert shown["ticktext"][::-1] == [
        "Điểm nóng mới<br>Điểm nóng gia tăng", "Điểm nóng dai dẳng",
        "Điểm nóng rải rác<br>Điểm nóng dao động", "Điểm lạnh trong quá khứ",
        "Không có xu hướng"]
    # each commune at its group's step; the steps' colours are the groups'
    assert shown["z"] == [4, 4, 0, 3, 2, 1, 0, 2]
    assert (shown["zmin"], shown["zmax"], shown["tickvals"]) == (-0.5, 4.5, [0, 1, 2, 3, 4])
    colours = [c for _, c in shown["colorscale"][::2]][::-1]
    assert colours == [GROUP_COLOURS["hot"]["emerging"], GROUP_COLOURS["hot"]["persistent"],
                       GROUP_COLOURS["hot"]["sporadic"], GROUP_COLOURS["cold"]["historical"],
                       NO_PATTERN_COLOUR]
    # what the reader sees side by side in grey: the three hot groups at least 12 L* apart
    lightness = [_lab(c)[0] for c in colours[:3]]
    assert all(b - a >= 12 for a, b in zip(lightness, lightness[1:]))
    en = grouped_classes(_layer(MIXED), "en")
    assert en["ticktext"][-1] == "New hot spot<br>Intensifying hot spot"


def test_other_layers_and_a_layer_without_categories():
    other = _layer(MIXED)
    other = Layer(frame=other.frame, value="category_code", unit_set="2025", kind="gi",
                  title_key="layer.hotspots.title", legend_key="layer.emerging.legend",
                  units_key="unit.category")
    assert grouped_classes(other, "vi") is None
    empty = grouped_classes(_layer([None] * 8), "vi")
    assert empty["ticktext"] == ["Không có xu hướng"] and all(np.isnan(empty["z"]))


def test_the_live_map_and_its_patch_draw_the_groups_present(furniture):
    gates, border, shapes = furniture
    fig = commune_map(_layer(MIXED), shapes, gates, border, lang="vi", title="Xu hướng")
    trace = fig.data[TRACE_COMMUNES]
    assert list(trace.z) == [4, 4, 0, 3, 2, 1, 0, 2]
    assert len(trace.colorbar.tickvals) == 5
    assert trace.colorbar.ticktext[2] == "Điểm nóng rải rác<br>Điểm nóng dao động"
    # the hover still names the commune's own category
    assert list(trace.customdata[:2]) == ["Điểm nóng mới", "Điểm nóng gia tăng"]
    # a filter change: fewer groups, the steps and labels follow
    later = _layer(["persistent_hot"] * 2 + ["no_pattern"] * 6)
    patch = values_patch(later, "vi", "Xu hướng").to_plotly_json()
    ops = {tuple(op["location"]): op["params"]["value"] for op in patch["operations"]}
    assert ops[("data", 0, "z")] == [1, 1, 0, 0, 0, 0, 0, 0]
    assert ops[("data", 0, "colorbar")]["ticktext"] == ["Không có xu hướng",
                                                        "Điểm nóng dai dẳng"]
    assert [c for _, c in ops[("data", 0, "colorscale")][::2]] == [
        NO_PATTERN_COLOUR, CATEGORY_COLOURS["persistent_hot"]]
    assert (ops[("data", 0, "zmin")], ops[("data", 0, "zmax")]) == (-0.5, 1.5)
