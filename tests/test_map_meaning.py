"""What a statistical map means, in words: the about texts, and the advice under a grey Gi* map."""

from __future__ import annotations

import datetime as dt
import doctest

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from dashboard import map_meaning
from dashboard.map_meaning import about_text, gi_advice, is_gi
from layers.counts import incident_counts
from layers.hotspots import hotspot_layer
from layers.key_areas import key_area_layer

Q2 = (dt.date(2025, 4, 1), dt.date(2025, 6, 30))


@pytest.fixture(scope="module")
def grid() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"Xã {i}" for i in range(64)]},
        geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(8) for x in range(8)],
        index=[f"{i:05d}" for i in range(64)], crs="EPSG:32648")


def _gi(grid, per_commune: dict[str, int], *, alpha_fdr: bool = True):
    codes = [code for code, n in per_commune.items() for _ in range(n)]
    inc = pd.DataFrame({"date": pd.Timestamp("2025-05-01"), "type": "tip",
                        "new_code": codes, "old_code": codes})
    counts = incident_counts(inc, grid, unit_set="2025", start=Q2[0], end=Q2[1])
    return hotspot_layer(counts, grid, alpha_fdr=alpha_fdr)


def _sparse(grid) -> dict[str, int]:
    """A few incidents scattered: something at 90 % uncorrected, nothing after FDR."""
    rng = np.random.default_rng(4)
    return dict(zip(grid.index, rng.poisson(0.6, len(grid)).tolist(), strict=True))


def _cluster(grid) -> dict[str, int]:
    """A strong corner cluster over a background of ones: hot spots after FDR."""
    values = {code: 1 for code in grid.index}
    values |= {code: 25 for code in ("00000", "00001", "00008", "00009")}
    return values


def test_a_grey_map_says_why_and_offers_the_uncorrected_classes_and_four_quarters(grid):
    layer = _gi(grid, _sparse(grid))
    significant = layer.params["significant"]
    assert significant["fdr"] == {"hot": 0, "cold": 0}
    raw = significant["uncorrected"]
    assert raw["hot"] + raw["cold"] > 0
    advice = gi_advice(layer, *Q2, "vi")
    assert advice.uncorrected and advice.longer == (dt.date(2024, 7, 1), dt.date(2025, 6, 30))
    n = int(layer.frame["count"].sum())
    assert "toàn màu xám" in advice.text and f"Kỳ này có {n} vụ việc" in advice.text
    assert (f"độ tin cậy 90 %: {raw['hot']} điểm nóng, {raw['cold']} điểm lạnh"
            in advice.text)
    assert "4 quý (01/07/2024 – 30/06/2025)" in advice.text
    english = gi_advice(layer, *Q2, "en")
    assert "all grey" in english.text and "4 quarters (01/07/2024 – 30/06/2025)" in english.text


def test_no_advice_for_a_map_with_hot_spots_for_other_layers_and_for_no_incident(grid):
    clustered = _gi(grid, _cluster(grid))
    assert clustered.params["significant"]["fdr"]["hot"] > 0
    assert gi_advice(clustered, *Q2, "vi") is None
    assert gi_advice(_gi(grid, {}), *Q2, "vi") is None  # nothing to test: no incident
    # the uncorrected classes are the fallback itself: no advice under them
    assert gi_advice(_gi(grid, _sparse(grid), alpha_fdr=False), *Q2, "vi") is None
    key_areas = key_area_layer(pd.DataFrame({"name": ["A"]}, index=["1"]), unit_set="2025")
    assert not is_gi(key_areas) and gi_advice(key_areas, *Q2, "vi") is None


def test_cold_spots_only_is_said_as_such_and_a_year_gets_no_longer_period(grid):
    layer = _gi(grid, _sparse(grid))
    params = {**layer.params, "significant": {"fdr": {"hot": 0, "cold": 2},
                                              "uncorrected": {"hot": 0, "cold": 0}}}
    from dataclasses import replace

    cold = replace(layer, params=params)
    advice = gi_advice(cold, dt.date(2025, 1, 1), dt.date(2025, 12, 31), "vi")
    assert "không xã, phường nào là điểm nóng" in advice.text and "2 điểm lạnh" in advice.text
    assert not advice.uncorrected and advice.longer is None
    assert "chưa hiệu chỉnh" not in advice.text and "4 quý" not in advice.text


def test_about_text_says_what_the_map_shows_and_how_its_levels_were_read(grid):
    corrected = _gi(grid, _cluster(grid))
    text = about_text(corrected, "vi")
    assert text.startswith("Bản đồ này xét số vụ việc")
    t = corrected.params["fdr_thresholds"]
    assert "Benjamini–Hochberg) trên 64 xã, phường" in text
    import re

    shown = [float(v.replace(",", ".")) for v in re.findall(r"không vượt (0,[0-9]+)", text)]
    assert shown == pytest.approx([t[0.10], t[0.05], t[0.01]], rel=0.005)  # 3 digits
    assert "0,00625" in text  # 0.10 × 4 / 64: not rounded to 0,0062 or 0,0063
    uncorrected = _gi(grid, _cluster(grid), alpha_fdr=False)
    text = about_text(uncorrected, "vi")
    assert "chưa hiệu chỉnh theo tỷ lệ phát hiện sai" in text
    assert "tới khoảng 6 trong 64 xã, phường" in text  # 10 % of 64, rounded
    assert "không vượt 0,10" in text
    assert about_text(uncorrected, "en").startswith("This map uses each commune's number")
    key_areas = key_area_layer(pd.DataFrame({"name": ["A"], "gi_rate_class": ["hot_90"]},
                                            index=["1"]), unit_set="2025")
    assert "không phải danh sách địa bàn trọng điểm chính thức" in about_text(key_areas, "vi")
    assert "tỷ lệ trên dân số" in about_text(key_areas, "vi")


def test_doctests():
    assert doctest.testmod(map_meaning).failed == 0
