"""Distances to the border and the gates: geodesic agreement, bands, shares, the layer."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.boundaries import load_border, load_communes
from geo.config import Settings
from geo.gates import load_gates
from geo.store import open_store
from layers.layer import Caveat, Layer
from layers.proximity import (
    DEFAULT_BANDS,
    DISTANCE_SCALE,
    band_labels,
    band_shares,
    border_distance,
    distance_bands,
    gate_distances,
    incident_points,
    proximity_layer,
)
from tests.cache import demo_data

# UTM 48N scale over the province is 0.9996–1.0005: distances within 0.05 % of the
# geodesic; the tests allow 0.1 %.
GEODESIC_RTOL = 1e-3
GEOD = pyproj.Geod(ellps="WGS84")
MOC_BAI_COMMUNE = "25681"  # Xã Bến Cầu (2025), which holds the Mộc Bài gate


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """Demo incidents, 2025 communes, gates and border line (bundled geometry)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("proximity") / "var")
    demo_data(settings)
    with open_store(settings) as store:
        incidents = store.read("incidents")
    return incidents, load_communes(settings), load_gates(settings), load_border(settings)


def test_gate_distances_agree_with_geodesic_distances(place):
    incidents, communes, gates, _ = place
    inside = gpd.GeoSeries(communes.representative_point(), crs=4326).iloc[::12]
    points = pd.concat([inside, incident_points(incidents).iloc[::150]])
    assert len(points) > 15
    for k in range(len(gates)):
        gate = gates.iloc[[k]]
        got = gate_distances(points, gate)["gate_km"].to_numpy()
        _, _, metres = GEOD.inv(
            points.x.to_numpy(), points.y.to_numpy(),
            np.full(len(points), gate.geometry.x.iloc[0]),
            np.full(len(points), gate.geometry.y.iloc[0]),
        )
        np.testing.assert_allclose(got, metres / 1000.0, rtol=GEODESIC_RTOL)


def test_nearest_gate_is_the_closest_of_all(place):
    incidents, _, gates, _ = place
    points = incident_points(incidents).iloc[::50]
    nearest = gate_distances(points, gates)
    each = np.column_stack(
        [gate_distances(points, gates.iloc[[k]])["gate_km"] for k in range(len(gates))]
    )
    np.testing.assert_allclose(nearest["gate_km"], each.min(axis=1))
    assert (nearest["gate_id"].to_numpy() == gates["gate_id"].to_numpy()[each.argmin(axis=1)]).all()


def test_a_point_on_the_border_is_at_zero_km(place):
    _, _, _, border = place
    line = border.geometry.iloc[0]
    on_line = gpd.GeoSeries(
        [line.interpolate(f, normalized=True) for f in (0.1, 0.3, 0.5, 0.7, 0.9)], crs=4326
    )
    assert (border_distance(on_line, border) < 0.01).all()  # under 10 m


def test_border_distance_known_answer():
    # A meridian line and a point 0.1° east of it at 11.2° N: 10.921 km (geodesic).
    line = gpd.GeoSeries([shapely.LineString([(106.0, 11.0), (106.0, 11.5)])], crs=4326)
    here = gpd.GeoSeries(gpd.points_from_xy([106.1], [11.2]), crs=4326)
    _, _, metres = GEOD.inv(106.0, 11.2, 106.1, 11.2)
    assert border_distance(here, line).iloc[0] == pytest.approx(metres / 1000, rel=GEODESIC_RTOL)


def test_moc_bai_commune_is_in_the_first_band(place):
    _, communes, gates, border = place
    by_polygon = gate_distances(communes, gates)
    assert by_polygon.loc[MOC_BAI_COMMUNE, "gate_id"] == "moc_bai"
    assert by_polygon.loc[MOC_BAI_COMMUNE, "gate_km"] == 0.0  # the gate lies in the commune
    by_point = gate_distances(communes, gates, measure_from="representative_point")
    assert 0 < by_point.loc[MOC_BAI_COMMUNE, "gate_km"] < 5
    for to in ("gate", "border"):
        layer = proximity_layer(communes, gates, border, to=to)
        assert layer.frame.loc[MOC_BAI_COMMUNE, "band"] == "0–5 km"


def test_polygon_distance_never_exceeds_representative_point_distance(place):
    _, communes, _, border = place
    poly = border_distance(communes, border)
    point = border_distance(communes, border, measure_from="representative_point")
    assert (poly <= point + 1e-9).all()
    # Border communes: polygons touching the line. Tây Ninh has about twenty.
    assert 15 <= (poly < 0.01).sum() <= 35
    with pytest.raises(ValueError, match="measure_from"):
        border_distance(communes, border, measure_from="centroid")


def test_band_edges():
    assert band_labels() == ["0–5 km", "5–15 km", "15–30 km", "> 30 km"]
    km = pd.Series([0.0, 4.999, 5.0, 5.0001, 15.0, 29.9, 30.0, 30.0001, 500.0, np.nan],
                   index=list("abcdefghij"))
    bands = distance_bands(km)
    assert list(bands.index) == list("abcdefghij")
    assert bands.tolist()[:-1] == [
        "0–5 km", "0–5 km", "0–5 km",  # exactly 5 km is within 5 km
        "5–15 km", "5–15 km", "15–30 km", "15–30 km",  # exactly 30 km is not "> 30 km"
        "> 30 km", "> 30 km",
    ]
    assert pd.isna(bands.iloc[-1])
    assert bands.cat.ordered and list(bands.cat.categories) == band_labels()


def test_band_edge_cases_and_refusals():
    finite = distance_bands([1, 10, 11], bands=(0, 2, 10))
    assert finite.tolist()[:2] == ["0–2 km", "2–10 km"] and pd.isna(finite.iloc[2])
    assert distance_bands([0.5, 1], bands=(1, 2)).isna().tolist() == [True, False]
    with pytest.raises(ValueError, match="negative"):
        distance_bands([-0.1])
    with pytest.raises(ValueError, match="strictly increasing"):
        distance_bands([1], bands=(0, 5, 5, 10))
    with pytest.raises(ValueError, match="strictly increasing"):
        band_labels((5,))


@pytest.mark.parametrize("to", ["border", "gate"])
def test_shares_sum_to_one_and_say_how_each_record_was_placed(place, to):
    incidents, communes, gates, border = place
    shares = band_shares(incidents, communes, gates, border, to=to)
    located = int(incidents["lat"].notna().sum())
    assert shares.bands["share"].sum() == pytest.approx(1.0)
    assert shares.catchments["share"].sum() == pytest.approx(1.0)
    assert list(shares.bands.index) == band_labels(DEFAULT_BANDS)
    assert list(shares.catchments.index) == gates["gate_id"].tolist()
    assert (shares.n_by_point, shares.n_by_commune, shares.n_unplaced) == (
        located, len(incidents) - located, 0)
    assert shares.bands["by_point"].sum() == shares.catchments["by_point"].sum() == located
    assert (shares.records["basis"] == "point").sum() == located
    records = shares.records
    assert records.loc[incidents["lat"].isna(), "basis"].eq("commune").all()
    assert records["distance_km"].equals(records["border_km" if to == "border" else "gate_km"])


def test_commune_only_records_are_measured_from_their_commune(place):
    _, communes, gates, border = place
    records = pd.DataFrame({"lat": [np.nan, np.nan, 11.5], "lon": [np.nan, np.nan, 106.0],
                            "new_code": [MOC_BAI_COMMUNE, None, MOC_BAI_COMMUNE]},
                           index=["commune", "nothing", "point"])
    shares = band_shares(records, communes, gates, border)
    out = shares.records
    assert out["basis"].tolist()[0] == "commune" and pd.isna(out.loc["nothing", "basis"])
    expected = border_distance(communes.loc[[MOC_BAI_COMMUNE]], border,
                               measure_from="representative_point").iloc[0]
    assert out.loc["commune", "border_km"] == pytest.approx(expected)
    assert (shares.n_by_point, shares.n_by_commune, shares.n_unplaced) == (1, 1, 1)
    assert shares.bands["count"].sum() == 2
    polygon = band_shares(records, communes, gates, border, commune_measure="polygon")
    assert polygon.records.loc["commune", "border_km"] == 0.0
    with pytest.raises(ValueError, match="not among the 2025 communes"):
        band_shares(records.assign(new_code="99999"), communes, gates, border)


def test_proximity_layer(place):
    _, communes, gates, border = place
    layer = proximity_layer(communes, gates, border, to="gate",
                            caveats=[Caveat.APPROXIMATE_BOUNDARIES])
    assert isinstance(layer, Layer)
    assert (layer.title_key, layer.legend_key, layer.units_key) == (
        "layer.proximity.title", "layer.proximity.legend", "unit.km")
    assert layer.value == "distance_km" and layer.unit_set == "2025"
    assert list(layer.frame.index) == list(communes.index)  # every commune, in order
    assert layer.frame["distance_km"].equals(layer.frame["gate_km"])
    assert layer.frame["distance_km"].between(0, 150).all()
    assert layer.colorscale == DISTANCE_SCALE
    assert layer.params["to"] == "gate" and layer.params["gates"][0] == "moc_bai"
    assert layer.caveats == (Caveat.APPROXIMATE_BOUNDARIES,)
    with pytest.raises(ValueError, match="to must be one of"):
        proximity_layer(communes, gates, border, to="river")


def test_geometry_without_crs_is_refused(place):
    _, _, gates, _ = place
    with pytest.raises(ValueError, match="without CRS"):
        gate_distances(gpd.GeoSeries([shapely.Point(106, 11)]), gates)
    assert math.isinf(DEFAULT_BANDS[-1])


def test_shares_measure_each_record_as_the_distances_do_one_by_one(place):
    """Issue 18: band_shares reprojects the points and communes once for both distances and
    reads a blank code once per distinct value; each record's distances are still those
    gate_distances and border_distance give it from its WGS84 point or its commune, to the
    bit, and blank, whitespace and missing codes are still left unplaced."""
    incidents, communes, gates, border = place
    records = incidents.copy()
    records["new_code"] = records["new_code"].astype(object)
    unlocated = records.index[records["lat"].isna()]
    assert len(unlocated) > 20
    records.loc[unlocated[:3], "new_code"] = ["", "  ", None]
    records.loc[unlocated[3], "new_code"] = np.nan
    shares = band_shares(records, communes, gates, border)
    out = shares.records
    points = incident_points(records)
    by_point = gate_distances(points, gates).join(border_distance(points, border))
    for column in ("gate_km", "border_km", "gate_id"):
        assert out.loc[points.index, column].equals(by_point[column])
    known = records.loc[unlocated[4:], "new_code"]
    used = communes.loc[known.unique()]
    per_commune = gate_distances(used, gates, measure_from="representative_point").join(
        border_distance(used, border, measure_from="representative_point"))
    for column in ("gate_km", "border_km"):
        np.testing.assert_array_equal(out.loc[known.index, column].to_numpy(),
                                      per_commune.loc[known.to_numpy(), column].to_numpy())
    assert out.loc[unlocated[:4], "basis"].isna().all() and shares.n_unplaced == 4
    from layers.proximity import METRIC_CRS, _metric_points

    made = _metric_points(records)
    moved = points.to_crs(METRIC_CRS)
    assert made.index.equals(moved.index) and made.crs == moved.crs
    np.testing.assert_array_equal(shapely.get_coordinates(made.values),
                                  shapely.get_coordinates(moved.values))
    assert shares.n_by_commune == len(unlocated) - 4
