"""VN-2000 CRSs: control points, an independent PROJ pipeline, EPSG codes, and aliases."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from geo.projections import (
    VN2000,
    VN2000_UTM48,
    bind_vn2000,
    is_vn2000,
    resolve_crs,
    vn2000_tm3,
)

#: Mộc Bài border gate (vi.wikipedia infobox, see shared/reference/SOURCES.md).
MOC_BAI = (106.175278, 11.077222)
#: Control points spanning the province: Mộc Bài, the NE and SW corners, Tây Ninh town.
CONTROL = np.array([MOC_BAI, (106.7454, 11.7754), (105.5007, 10.3958), (106.0983, 11.3101)])

#: Circular 973/2001/TT-TCĐC, as published: dX, dY, dZ (m), rX, rY, rZ (″), dS (ppm).
CIRCULAR_973 = (-191.90441429, -39.30318279, -111.45032835,
                -0.00928836, 0.01975479, -0.00427372, 0.252906278)
_HELMERT = "+x={} +y={} +z={} +rx={} +ry={} +rz={} +s={}".format(*CIRCULAR_973)


def _by_hand(projection: str, convention: str) -> pyproj.Transformer:
    """WGS 84 lon/lat → VN-2000 projected, built step by step (no CRS, no EPSG)."""
    return pyproj.Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        "+step +proj=push +v_3 +step +proj=cart +ellps=WGS84 "
        f"+step +inv +proj=helmert {_HELMERT} +convention={convention} "
        "+step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3 "
        f"+step {projection}"
    )


_TM3_105_5 = "+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84"
_UTM48 = "+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9996 +x_0=500000 +y_0=0 +ellps=WGS84"


def _forward(crs: pyproj.CRS, points: np.ndarray = CONTROL) -> tuple[np.ndarray, np.ndarray]:
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*points.T)


def test_tm3_round_trip_is_below_a_millimetre():
    crs = vn2000_tm3(105.5)
    x, y = _forward(crs)
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(CONTROL[:, 0], CONTROL[:, 1], lon, lat)
    assert np.max(metres) < 1e-3


def test_tm3_agrees_with_a_hand_built_coordinate_frame_pipeline():
    x, y = _forward(vn2000_tm3(105.5))
    hx, hy = _by_hand(_TM3_105_5, "coordinate_frame").transform(*CONTROL.T)
    assert np.max(np.hypot(x - hx, y - hy)) < 0.01


def test_moc_bai_in_vn2000_tm3_105_30():
    x, y = _forward(vn2000_tm3(105.5), np.array([MOC_BAI]))
    # Measured with EPSG:6960 and checked against the hand-built pipeline above.
    assert x[0] == pytest.approx(573578.661, abs=0.01)
    assert y[0] == pytest.approx(1225080.804, abs=0.01)


def test_moc_bai_in_vn2000_utm48():
    x, y = _forward(VN2000_UTM48, np.array([MOC_BAI]))
    hx, hy = _by_hand(_UTM48, "coordinate_frame").transform(*MOC_BAI)
    assert np.hypot(x[0] - hx, y[0] - hy) < 0.01
    assert x[0] == pytest.approx(628170.827, abs=0.01)
    assert y[0] == pytest.approx(1224882.403, abs=0.01)
    # The same point in WGS 84 / UTM 48N (628366.743, 1224770.907): the datum shift, 225.4 m.
    wx, wy = _forward(pyproj.CRS.from_epsg(32648), np.array([MOC_BAI]))
    assert 220 < np.hypot(x[0] - wx[0], y[0] - wy[0]) < 230


def test_datum_shift_at_moc_bai_is_about_225_m_to_the_north_west():
    lon, lat = pyproj.Transformer.from_crs("EPSG:4326", VN2000, always_xy=True).transform(*MOC_BAI)
    azimuth, _, metres = pyproj.Geod(ellps="WGS84").inv(*MOC_BAI, lon, lat)
    assert metres == pytest.approx(225.46, abs=0.05)
    assert azimuth == pytest.approx(-60.1, abs=0.5)
    assert (lon - MOC_BAI[0]) * 3600 == pytest.approx(-6.442, abs=0.005)  # arc-seconds
    assert (lat - MOC_BAI[1]) * 3600 == pytest.approx(3.654, abs=0.005)


def test_published_rotations_read_as_position_vector_are_half_a_metre_off():
    """The +towgs84 often copied with the published signs, measured against EPSG:6960."""
    x, y = _forward(vn2000_tm3(105.5))
    px, py = _by_hand(_TM3_105_5, "position_vector").transform(*CONTROL.T)
    gap = np.hypot(x - px, y - py)
    assert np.all((gap > 0.5) & (gap < 0.6))
    literal = pyproj.CRS(
        f"{_TM3_105_5} +towgs84={','.join(map(str, CIRCULAR_973))} +units=m +no_defs +type=crs"
    )
    lx, ly = _forward(literal)
    assert np.allclose(lx, px, atol=1e-3) and np.allclose(ly, py, atol=1e-3)


def test_epsg_holds_vn2000_and_the_circular_973_parameters():
    assert pyproj.CRS.from_epsg(4756).name == "VN-2000"
    assert pyproj.CRS.from_epsg(3405).name == "VN-2000 / UTM zone 48N"
    op = pyproj.crs.CoordinateOperation.from_epsg(6960)
    assert op.method_name == "Coordinate Frame rotation (geog2D domain)"
    assert tuple(p.value for p in op.params) == CIRCULAR_973
    tm3 = {p.name: p.value for p in pyproj.CRS.from_epsg(9209).coordinate_operation.params}
    assert tm3["Longitude of natural origin"] == 105.5
    assert tm3["Scale factor at natural origin"] == 0.9999
    assert tm3["False easting"] == 500000


def test_bare_epsg_9209_switches_transformation_at_11_04_north():
    """Unbound, PROJ picks EPSG:5194 (Mekong delta) south of 11.04° N and EPSG:6960 north of it."""
    north, south = np.array([MOC_BAI]), np.array([(106.41, 10.54)])  # Mộc Bài; Tân An
    for points, low, high in ((north, 0, 0.001), (south, 0.5, 1.0)):
        x, y = _forward(vn2000_tm3(105.5), points)
        bx, by = _forward(pyproj.CRS.from_epsg(9209), points)
        assert low <= np.hypot(x - bx, y - by)[0] < high
    # resolve_crs pins it to EPSG:6960 everywhere.
    x, y = _forward(resolve_crs("EPSG:9209"), south)
    ox, oy = _forward(vn2000_tm3(105.5), south)
    assert np.hypot(x - ox, y - oy)[0] < 1e-6


@pytest.mark.parametrize(
    ("text", "name", "epsg"),
    [
        ("VN2000-TM3-105.5", "VN-2000 / TM-3 105-30", 9209),
        ("VN2000-TM3-105.75", "VN-2000 / TM-3 105-45", 9210),
        ("vn-2000 tm3 105-45", "VN-2000 / TM-3 105-45", 9210),
        ("VN2000-UTM48", "VN-2000 / UTM zone 48N", 3405),
        ("VN2000", "VN-2000", 4756),
        ("EPSG:9209", "VN-2000 / TM-3 105-30", 9209),
    ],
)
def test_vn2000_aliases_resolve_to_bound_crs(text, name, epsg):
    crs = resolve_crs(text)
    assert crs.is_bound and crs.name == name and crs.source_crs.to_epsg() == epsg
    assert crs.coordinate_operation.name == "VN-2000 to WGS 84 (2)"


def test_a_meridian_without_an_epsg_code_is_built():
    crs = vn2000_tm3(104.25)
    params = {p.name: p.value for p in crs.source_crs.coordinate_operation.params}
    assert crs.name == "VN-2000 / TM-3 104-15"
    assert params["Longitude of natural origin"] == 104.25
    assert params["Scale factor at natural origin"] == 0.9999


def test_other_crs_inputs_pass_through():
    assert resolve_crs("EPSG:4326").to_epsg() == 4326
    assert resolve_crs(pyproj.CRS.from_epsg(32648).to_wkt()).to_epsg() == 32648
    proj = resolve_crs("+proj=utm +zone=48 +datum=WGS84 +units=m")
    assert not proj.is_bound and proj.coordinate_operation.name == "UTM zone 48N"


@pytest.mark.parametrize("text", ["garbage", "", "EPSG:99999999", "VN2000-TM3-200"])
def test_garbage_is_a_value_error(text):
    with pytest.raises(ValueError, match="VN2000-TM3-105.5|central meridian"):
        resolve_crs(text)


def test_a_shapefile_prj_that_lost_its_towgs84_is_recognised(tmp_path):
    import geopandas as gpd
    from shapely import Point

    literal = pyproj.CRS(
        f"{_TM3_105_5} +towgs84={','.join(map(str, CIRCULAR_973))} +units=m +no_defs +type=crs"
    )
    gpd.GeoDataFrame(geometry=[Point(573578, 1225080)], crs=literal).to_file(tmp_path / "p.shp")
    read = gpd.read_file(tmp_path / "p.shp").crs
    assert not read.is_bound and "towgs84" in read.datum.name
    assert is_vn2000(read)
    assert bind_vn2000(read).coordinate_operation.name == "VN-2000 to WGS 84 (2)"
    assert not is_vn2000(pyproj.CRS.from_epsg(32648))
