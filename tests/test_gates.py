"""Border gates: classes, communes, counterparts, and honest positions."""

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from geo.boundaries import load_border, load_communes
from geo.gates import load_gates, place_gates, read_gate_table

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def gates(tmp_path_factory):
    from geo.config import Settings

    return load_gates(Settings(data_dir=tmp_path_factory.mktemp("g") / "var"))


def test_international_gates_first_with_moc_bai_and_xa_mat(gates):
    assert gates["name"].iloc[:2].tolist() == ["Mộc Bài", "Xa Mát"]
    classes = gates["gate_class"].tolist()
    assert classes == sorted(classes, key=["international", "main", "secondary"].index)
    assert set(gates.loc[gates["blo"], "name"]) == {"Mộc Bài", "Xa Mát"}


def test_gate_communes_follow_the_registry(gates):
    by_name = gates.set_index("name")
    assert by_name.at["Mộc Bài", "old_code"] == "25699"  # Xã Lợi Thuận, huyện Bến Cầu
    assert by_name.at["Mộc Bài", "new_code"] == "25681"  # → Xã Bến Cầu
    assert by_name.at["Xa Mát", "commune"] == "Xã Tân Lập"
    assert by_name.at["Tân Nam", "commune"] == "Xã Tân Biên"
    assert by_name.at["Bình Hiệp", "new_code"] == "27793"
    assert by_name.at["Xa Mát", "counterpart"] == "Trapeang Phlong"


def test_only_the_sourced_coordinate_is_called_sourced(gates):
    by_name = gates.set_index("name")
    assert by_name.loc[by_name["position"] == "sourced"].index.tolist() == ["Mộc Bài"]
    moc_bai = by_name.at["Mộc Bài", "geometry"]
    assert (moc_bai.x, moc_bai.y) == pytest.approx((106.175278, 11.077222))


def test_approximate_gates_sit_on_the_border_in_their_commune(tmp_path):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path / "var")
    communes = load_communes(settings)
    border = shapely.union_all(load_border(settings).geometry.values)
    gates = load_gates(settings)
    approx = gates[gates["position"] == "approximate"]
    assert len(approx) == len(gates) - 1
    for gate in approx.itertuples():
        nearest = shapely.ops.nearest_points(border, gate.geometry)[0]
        _, _, metres = GEOD.inv(gate.geometry.x, gate.geometry.y, nearest.x, nearest.y)
        assert metres < 50, f"{gate.name} is on the border line"
        poly = communes.geometry.loc[gate.new_code]
        assert shapely.distance(poly, gate.geometry) < 0.003, f"{gate.name} is at its commune"
    # Two gates of one commune (Xa Mát and Chàng Riệc in Tân Lập) are not stacked.
    tan_lap = approx[approx["new_code"] == "25489"]
    assert len(tan_lap) == 2
    a, b = tan_lap.geometry.tolist()
    assert GEOD.inv(a.x, a.y, b.x, b.y)[2] > 500


def test_unknown_gate_commune_is_refused(registry, tmp_path):
    table = read_gate_table()
    table.loc[0, "old_commune"] = "Xã Không Có"
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    with pytest.raises(ValueError, match="does not name exactly one old unit"):
        place_gates(table, registry, empty, empty)


def test_bad_gate_class_is_refused(tmp_path):
    bad = tmp_path / "gates.csv"
    text = read_gate_table.__defaults__[0].read_text(encoding="utf-8")
    bad.write_text(text.replace(",international,", ",consulate,", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown gate classes"):
        read_gate_table(bad)


def test_a_province_table_in_the_data_folder_adds_secondary_gates(tmp_path):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path / "var")
    settings.data_dir.mkdir(parents=True)
    text = read_gate_table.__defaults__[0].read_text(encoding="utf-8").rstrip("\n")
    row = "vac_sa,Vạc Sa,secondary,,,,Tân Lập,Tân Biên,11.60,106.10,false,surveyed,provincial survey 2026"
    (settings.data_dir / "gates.csv").write_text(text + "\n" + row + "\n", encoding="utf-8")
    gates = load_gates(settings)
    assert len(gates) == 10
    last = gates.iloc[-1]
    assert (last["name"], last["gate_class"], last["position"]) == ("Vạc Sa", "secondary", "sourced")
    assert (last.geometry.x, last.geometry.y) == pytest.approx((106.10, 11.60))


def test_gates_are_read_with_the_registry_of_the_boundaries_in_use(tmp_path):
    """On boundaries of two provinces (Tây Ninh and a commune of Hà Nội) the gates are read
    with the two provinces' registry, the one the app joins with: the bundled gates land
    as on Tây Ninh's own boundaries, and a province's table naming a unit of the other
    province resolves it (Tây Ninh's registry refused it: "gate commune 'Trúc Bạch'
    (Ba Đình) does not name exactly one old unit: none")."""
    from geo.config import Settings
    from geo.units import registry_covering
    from tests.two_provinces import HA_NOI_CODE, write_two_provinces

    settings = Settings(data_dir=tmp_path / "var")
    write_two_provinces(settings)
    ours = load_gates(Settings(data_dir=tmp_path / "bundled"))
    gates = load_gates(settings)
    assert gates.drop(columns="geometry").equals(ours.drop(columns="geometry"))
    assert gates.geometry.geom_equals_exact(ours.geometry, 1e-9).all()
    text = read_gate_table.__defaults__[0].read_text(encoding="utf-8").rstrip("\n")
    row = "truc_bach,Trúc Bạch,secondary,,,,Trúc Bạch,Ba Đình,21.04,105.84,false,test,test"
    (settings.data_dir / "gates.csv").write_text(text + "\n" + row + "\n", encoding="utf-8")
    last = load_gates(settings).iloc[-1]
    assert (last["old_code"], last["new_code"], last["commune"]) == \
        (HA_NOI_CODE, HA_NOI_CODE, "Phường Ba Đình")
    registry = registry_covering(load_communes(settings).index)
    assert sorted(set(registry.communes["province_code"])) == ["01", "80"]
