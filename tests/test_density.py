"""Kernel density and H3 hexagon counts: mass kept, shape of one kernel, honest left-outs."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from dashboard.serving import ensure_demo
from geo.boundaries import load_communes, load_outline
from geo.config import Settings
from geo.store import open_store
from layers.counts import SEQUENTIAL_SCALE
from layers.density import METRIC_CRS, hexagon_counts, kernel_density
from layers.layer import Caveat, Layer

# The integral of the edge-corrected surface equals the number of points to rounding.
INTEGRAL_RTOL = 1e-9

_TO_WGS84 = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The synthetic demo: incidents, 2025 communes and the province outline."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("density") / "var")
    ensure_demo(settings)
    with open_store(settings) as store:
        incidents = store.read("incidents")
    return incidents, load_communes(settings), load_outline(settings)


@pytest.fixture()
def square():
    """A 60 km × 60 km square on the UTM 48N kilometre grid, in the middle of Tây Ninh."""
    box = shapely.box(600_000, 1_200_000, 660_000, 1_260_000)
    return gpd.GeoSeries([box], crs=METRIC_CRS).to_crs("EPSG:4326")


def _records(xy_m, codes=None):
    """Incident records at UTM 48N points (metres), with one code per record."""
    xy = np.asarray(xy_m, dtype=float).reshape(-1, 2)
    lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
    codes = codes or ["25681"] * len(xy)
    return pd.DataFrame({"lat": lat, "lon": lon, "new_code": codes, "old_code": codes})


def _at(cells, row, col):
    hit = cells[(cells["row"] == row) & (cells["col"] == col)]
    assert len(hit) == 1
    return float(hit["density"].iloc[0])


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_demo_surface_integrates_to_the_number_of_points(demo, kernel):
    incidents, communes, outline = demo
    surface = kernel_density(incidents, outline, kernel=kernel, communes=communes)
    assert surface.n_points == incidents["lat"].notna().sum() > 1000
    assert surface.integral == pytest.approx(surface.n_points, rel=INTEGRAL_RTOL)
    # Every record is accounted for: in the surface, outside, commune-only or unplaced.
    assert (
        surface.n_points + surface.n_outside + surface.n_unlocated + surface.n_unplaced
        == len(incidents)
    )
    # The cells are the 1 km UTM squares whose centre is in the province (about 8,900 km²).
    province_km2 = float(outline.to_crs(METRIC_CRS).area.sum()) / 1e6
    assert len(surface.cells) == pytest.approx(province_km2, rel=0.01)
    assert surface.cells.crs.to_epsg() == 4326
    assert (surface.cells["density"] >= 0).all()


def test_without_edge_correction_mass_is_lost_at_the_border(demo):
    incidents, _, outline = demo
    raw = kernel_density(incidents, outline, edge_correction=False)
    # The demo's points crowd the border gates: a part of each kernel falls in Cambodia.
    assert 0.80 * raw.n_points < raw.integral < 0.99 * raw.n_points


@pytest.mark.parametrize(
    "kernel, peak", [("quartic", 3 / (math.pi * 25)), ("gaussian", 1 / (2 * math.pi * 25))]
)
def test_one_point_peaks_in_its_cell_and_is_symmetric(square, kernel, peak):
    # The centre of the UTM cell of row 1230, column 630 (1 km cells), far from the edges.
    surface = kernel_density(_records([630_500, 1_230_500]), square, bandwidth_km=5.0,
                             kernel=kernel)
    cells = surface.cells
    top = cells.loc[cells["density"].idxmax()]
    assert (top["row"], top["col"]) == (1230, 630)
    # The analytic peak of the kernel (per km²), to the discretisation error of 1 km cells
    # (measured: 0.06 % quartic, 0.03 % gaussian).
    assert top["density"] == pytest.approx(peak, rel=0.005)
    for k in (1, 2, 3):
        ring = [_at(cells, 1230 + dr, 630 + dc)
                for dr, dc in ((k, 0), (-k, 0), (0, k), (0, -k), (k, k), (-k, -k))]
        assert ring[:4] == pytest.approx([ring[0]] * 4, rel=1e-9)  # four-fold symmetry
        assert ring[4] == pytest.approx(ring[5], rel=1e-9)  # and through the centre
        assert ring[0] < top["density"]
    assert surface.integral == pytest.approx(1.0, rel=INTEGRAL_RTOL)


def test_uncorrected_kernel_far_from_the_edge_integrates_to_one(square):
    # Far from the edges only the discretisation (kernel read at cell centres) remains.
    surface = kernel_density(_records([630_500, 1_230_500]), square, bandwidth_km=5.0,
                             edge_correction=False)
    # Measured: 1.0006 for the quartic at h = 5 km, 1 km cells.
    assert surface.integral == pytest.approx(1.0, abs=0.005)


def test_wider_bandwidth_is_flatter(square):
    records = _records([630_500, 1_230_500])
    narrow = kernel_density(records, square, bandwidth_km=5.0)
    wide = kernel_density(records, square, bandwidth_km=10.0)
    # The peak scales as 1 / h²: twice the bandwidth, a quarter of the peak.
    assert wide.cells["density"].max() == pytest.approx(narrow.cells["density"].max() / 4,
                                                        rel=0.01)
    assert (wide.cells["density"] > 0).sum() > 3 * (narrow.cells["density"] > 0).sum()
    assert wide.integral == pytest.approx(1.0, rel=INTEGRAL_RTOL)


def test_point_near_the_edge_keeps_its_whole_mass(square):
    # 1.5 km from the western edge: most of a 5 km kernel would fall outside.
    edge = kernel_density(_records([601_500, 1_230_500]), square, bandwidth_km=5.0)
    raw = kernel_density(_records([601_500, 1_230_500]), square, bandwidth_km=5.0,
                         edge_correction=False)
    assert edge.integral == pytest.approx(1.0, rel=INTEGRAL_RTOL)
    assert raw.integral < 0.8


def test_points_outside_the_province_are_counted_not_smoothed(square):
    records = _records([[630_500, 1_230_500], [700_000, 1_230_000], [630_000, 1_100_000]])
    records.index = ["in", "east", "south"]
    surface = kernel_density(records, square)
    assert (surface.n_points, surface.n_outside) == (1, 2)
    assert list(surface.outside) == ["east", "south"]
    assert surface.integral == pytest.approx(1.0, rel=INTEGRAL_RTOL)


def test_commune_only_records_are_counted_per_commune_not_smoothed(demo, square):
    _, communes, _ = demo
    located = _records([630_500, 1_230_500])
    commune_only = pd.DataFrame({"lat": [np.nan] * 3, "lon": [np.nan] * 3,
                                 "new_code": ["25681", "25681", "25489"],
                                 "old_code": ["25699", "25699", "25489"]})
    both = pd.concat([located, commune_only], ignore_index=True)
    alone = kernel_density(located, square)
    surface = kernel_density(both, square, communes=communes)
    np.testing.assert_array_equal(surface.cells["density"], alone.cells["density"])
    assert (surface.n_points, surface.n_unlocated) == (1, 3)
    assert len(surface.unlocated) == len(communes) == 96  # zero-filled over the communes
    assert surface.unlocated[surface.unlocated > 0].to_dict() == {"25489": 1, "25681": 2}
    legacy = kernel_density(both, square, unit_set="legacy")
    assert legacy.unlocated.to_dict() == {"25489": 1, "25699": 2}


def test_commune_only_record_with_unknown_code_is_refused(demo, square):
    _, communes, _ = demo
    records = pd.DataFrame({"lat": [np.nan], "lon": [np.nan], "new_code": ["99999"],
                            "old_code": ["99999"]})
    with pytest.raises(ValueError, match="not among the 2025 communes"):
        kernel_density(records, square, communes=communes)


def test_cells_know_their_commune(demo):
    incidents, communes, outline = demo
    surface = kernel_density(incidents, outline, communes=communes)
    assert surface.cells["code"].notna().mean() > 0.95
    assert set(surface.cells["code"].dropna()) <= set(communes.index)
    one = surface.cells.dropna(subset=["code"]).iloc[0]
    assert one["name"] == communes.at[one["code"], "name"]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf")])
def test_invalid_bandwidth_is_refused(square, bad):
    with pytest.raises(ValueError, match="bandwidth_km must be a finite number > 0"):
        kernel_density(_records([630_500, 1_230_500]), square, bandwidth_km=bad)


def test_invalid_cell_size_kernel_and_outline_are_refused(square):
    records = _records([630_500, 1_230_500])
    with pytest.raises(ValueError, match="cell_km"):
        kernel_density(records, square, cell_km=0)
    with pytest.raises(ValueError, match="kernel must be one of"):
        kernel_density(records, square, kernel="epanechnikov")
    with pytest.raises(ValueError, match="no CRS"):
        kernel_density(records, gpd.GeoSeries([shapely.box(0, 0, 1, 1)]))


def test_surface_as_a_layer(demo):
    incidents, communes, outline = demo
    surface = kernel_density(incidents, outline, communes=communes, bandwidth_km=3.0)
    layer = surface.layer(caveats=[Caveat.SYNTHETIC])
    assert isinstance(layer, Layer)
    assert (layer.title_key, layer.legend_key, layer.units_key) == (
        "layer.density.title", "layer.density.legend", "unit.per_km2")
    assert layer.value == "density" and layer.unit_set == "grid"
    assert layer.colorscale == SEQUENTIAL_SCALE
    assert layer.caveats == (Caveat.SYNTHETIC,)
    assert layer.params["bandwidth_km"] == 3.0
    assert layer.params["n_points"] == surface.n_points
    assert layer.params["n_unlocated"] == surface.n_unlocated > 0
    assert layer.frame["name"].notna().all()
    assert layer.frame.geometry.geom_type.eq("Polygon").all()
    assert layer.total * surface.cell_area_km2 == pytest.approx(surface.n_points)


def test_hexagon_counts_sum_to_the_located_points(demo):
    incidents, communes, outline = demo
    hexes = hexagon_counts(incidents, outline, communes=communes)
    located = int(incidents["lat"].notna().sum())
    assert hexes["count"].sum() == hexes.attrs["n_points"] == located
    assert hexes.index.is_unique and hexes.index.name == "hex"
    assert (hexes["count"] == 0).any()  # empty hexagons are listed
    area = shapely.union_all(outline.to_crs(METRIC_CRS).geometry.values)
    assert shapely.intersects(hexes.to_crs(METRIC_CRS).geometry.values, area).all()
    assert sum(hexes.attrs["unlocated"].values()) == hexes.attrs["n_unlocated"]
    assert hexes.attrs["n_unlocated"] == len(incidents) - located
    # Resolution 7 hexagons are about 5.2 km² on average (5.9 km² at this latitude).
    assert hexes["area_km2"].median() == pytest.approx(5.9, rel=0.05)


def test_clipped_hexagons_tile_the_province(demo):
    incidents, _, outline = demo
    hexes = hexagon_counts(incidents, outline, clip=True)
    province_km2 = float(outline.to_crs(METRIC_CRS).area.sum()) / 1e6
    assert hexes["area_km2"].sum() == pytest.approx(province_km2, rel=1e-6)
    assert hexes["count"].sum() == hexes.attrs["n_points"]


def test_hexagon_counts_known_answer(square):
    records = _records([[630_500, 1_230_500]] * 3 + [[650_000, 1_250_000], [700_000, 1_230_000]])
    hexes = hexagon_counts(records, square, resolution=6)
    assert sorted(hexes["count"][hexes["count"] > 0].tolist()) == [1, 3]
    assert (hexes.attrs["n_points"], hexes.attrs["n_outside"]) == (4, 1)
    with pytest.raises(ValueError, match="resolution"):
        hexagon_counts(records, square, resolution=16)
