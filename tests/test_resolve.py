"""Joining records to communes: code by date, name + district, point in polygon."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.names import fold
from geo.resolve import resolve_communes


@pytest.fixture()
def polygons():
    """Two toy new communes and three toy old ones: enough to test the rules."""
    new = gpd.GeoDataFrame(
        {"name": ["Xã Bến Cầu", "Xã Tân Lập"]},
        geometry=[box(106.0, 11.0, 106.2, 11.2), box(105.9, 11.6, 106.1, 11.8)],
        index=pd.Index(["25681", "25489"], name="code"), crs="EPSG:4326",
    )
    old = gpd.GeoDataFrame(
        {"name": ["Xã Lợi Thuận", "Thị trấn Bến Cầu", "Xã Tân Lập"]},
        geometry=[box(106.0, 11.0, 106.1, 11.2), box(106.1, 11.0, 106.2, 11.2),
                  box(105.9, 11.6, 106.1, 11.8)],
        index=pd.Index(["25699", "25681", "25489"], name="code"), crs="EPSG:4326",
    )
    return new, old


def _records(**cols):
    n = len(next(iter(cols.values())))
    base = {"record_id": [f"R{i}" for i in range(n)]}
    base.update(cols)
    frame = pd.DataFrame(base)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_same_code_means_different_units_before_and_after_the_merger(registry, polygons):
    records = _records(date=["2024-05-01", "2025-08-01"], commune_code=["25681", "25681"])
    resolved, unresolved = resolve_communes(records, registry, *polygons)
    assert unresolved.empty
    # Before: old TT Bến Cầu (25681) → new Xã Bến Cầu. After: new Xã Bến Cầu directly.
    assert resolved["old_code"].tolist() == ["25681", "25681"]
    assert resolved["new_code"].tolist() == ["25681", "25681"]
    records = _records(date=["2024-05-01"], commune_code=["25699"])
    resolved, _ = resolve_communes(records, registry, *polygons)
    assert (resolved["old_code"].item(), resolved["new_code"].item()) == ("25699", "25681")


def test_old_only_code_after_the_merger_is_not_taken_as_new(registry, polygons):
    # 25699 (Lợi Thuận) no longer exists after 01/07/2025: it must not resolve by code.
    records = _records(date=["2025-09-01"], commune_code=["25699"])
    resolved, unresolved = resolve_communes(records, registry, *polygons)
    assert resolved.empty
    assert "no commune code, name or point" in unresolved["reason"].item()


def test_name_and_district_then_ambiguity_lists_candidates(registry, polygons):
    records = _records(
        date=["2023-01-10", "2023-01-10"],
        commune=["X. Lợi Thuận", "Tân Bình"], district=["H. Bến Cầu", ""],
    )
    resolved, unresolved = resolve_communes(records, registry, *polygons)
    assert resolved["old_code"].tolist() == ["25699"]
    assert resolved["resolved_by"].tolist() == ["name"]
    assert "ambiguous" in unresolved["reason"].item()
    assert "Huyện Tân Biên" in unresolved["reason"].item()


def test_point_in_polygon_and_point_outside(registry, polygons):
    records = _records(
        date=["2025-10-01", "2024-10-01", "2025-10-01"],
        lat=[11.1, 11.1, 10.0], lon=[106.05, 106.15, 104.0],
    )
    resolved, unresolved = resolve_communes(records, registry, *polygons)
    assert resolved["new_code"].tolist() == ["25681", "25681"]
    assert resolved["old_code"].tolist() == ["25699", "25681"]
    assert set(resolved["resolved_by"]) == {"point"}
    assert unresolved["reason"].item() == "point lies outside the province"


def test_many_rows_with_few_names_resolve_as_each_row_alone(registry, polygons):
    # Real imports: up to a million rows, few distinct (name, district, date set) triples.
    legacy = registry.legacy.iloc[::10]
    new = registry.communes.iloc[::8]
    written = (
        [(n.upper(), d, "2024-03-01") for n, d in zip(legacy["name"], legacy["district"])]
        + [(fold(n), "", "2025-09-01") for n in new["name"]]
        + [("THỊ TRẤN HIỆP HÒA", "Huyện Đức Hòa", "2024-01-01"),
           ("xa hiep hoa", "Đức Hòa", "2024-01-01"),
           ("Hiệp Hòa", "Đức Hòa", "2024-01-01"),
           ("Tân Bình", "", "2023-01-10"),
           ("Xã Không Có", "", "2025-09-01"),
           ("Lợi Thuận", "H. Bến Cầu", "2025-09-01")]
    )
    assert 45 <= len(written) <= 55
    rng = np.random.default_rng(7)
    rows = pd.DataFrame(written, columns=["commune", "district", "date"]).iloc[
        rng.integers(0, len(written), 200_000)
    ]
    records = _records(
        date=rows["date"].tolist(), commune=rows["commune"].tolist(),
        district=rows["district"].tolist(),
    )
    resolved, unresolved = resolve_communes(records, registry, *polygons)
    assert len(resolved) + len(unresolved) == 200_000
    assert set(resolved["resolved_by"]) == {"name"}
    assert set(unresolved["commune"]) == {"Hiệp Hòa", "Tân Bình", "Xã Không Có", "Lợi Thuận"}
    town = resolved["commune"] == "THỊ TRẤN HIỆP HÒA"
    assert town.any() and set(resolved.loc[town, "old_code"]) == {"27934"}
    # The per-row path: each sampled row resolved alone, as a frame of one.
    firsts = records.drop_duplicates(["commune", "district", "date"]).index
    sample = firsts.union(pd.Index(rng.choice(records.index, 20, replace=False)))
    for i in sample:
        one_ok, one_bad = resolve_communes(records.loc[[i]], registry, *polygons)
        if one_ok.empty:
            assert unresolved.at[i, "reason"] == one_bad["reason"].item()
        else:
            cols = ["new_code", "old_code", "resolved_by"]
            assert resolved.loc[i, cols].tolist() == one_ok[cols].iloc[0].tolist()


def test_a_2025_record_whose_point_lies_in_another_commune_is_refused(registry):
    """Issue 14: the code (or name) wins, the point only picks the former commune inside it;
    a point within the boundary tolerance is placed in the nearest one, a point farther away
    in a former commune of another 2025 commune refuses the record, naming both."""
    # Xã Bến Cầu (25681) and, east of it, Xã Tân Lập (25489) with its former commune 25489
    new = gpd.GeoDataFrame(
        {"name": ["Xã Bến Cầu", "Xã Tân Lập"]},
        geometry=[box(106.0, 11.0, 106.2, 11.2), box(106.2, 11.0, 106.4, 11.2)],
        index=pd.Index(["25681", "25489"], name="code"), crs="EPSG:4326",
    )
    old = gpd.GeoDataFrame(
        {"name": ["Xã Lợi Thuận", "Thị trấn Bến Cầu", "Xã Tân Lập"]},
        geometry=[box(106.0, 11.0, 106.1, 11.2), box(106.1, 11.0, 106.2, 11.2),
                  box(106.2, 11.0, 106.4, 11.2)],
        index=pd.Index(["25699", "25681", "25489"], name="code"), crs="EPSG:4326",
    )
    records = _records(
        date=["2025-10-01"] * 5 + ["2024-10-01"],
        commune_code=["25489", "", "25489", "25681", "", "25699"],
        commune=["", "Xã Tân Lập", "", "", "", ""],
        # 9 km, 9 km, 110 m west of Tân Lập; in Lợi Thuận; point alone; an old record
        lat=[11.1] * 6, lon=[106.12, 106.12, 106.199, 106.05, 106.05, 106.25],
    )
    resolved, unresolved = resolve_communes(records, registry, new, old)
    assert unresolved["record_id"].tolist() == ["R0", "R1"]
    assert unresolved["named_code"].tolist() == ["25489", "25489"]
    assert unresolved["point_old_code"].tolist() == ["25681", "25681"]
    assert unresolved["point_new_code"].tolist() == ["25681", "25681"]
    assert unresolved["reason"].iloc[0] == (
        "point lies in former commune 25681 (now in 25681), not in or near 2025 commune "
        "25489 named by the record")
    placed = resolved.set_index("record_id")[["new_code", "old_code", "resolved_by"]]
    assert placed.loc["R2"].tolist() == ["25489", "25489", "code"]  # within 250 m: kept
    assert placed.loc["R3"].tolist() == ["25681", "25699", "code"]
    assert placed.loc["R4"].tolist() == ["25681", "25699", "point"]
    assert placed.loc["R5"].tolist() == ["25681", "25699", "code"]  # old set: code, not point
    pieces = set(zip(registry.composition["old_code"], registry.composition["new_code"]))
    assert set(zip(resolved["old_code"], resolved["new_code"])) <= pieces


def test_every_resolved_record_meets_the_registry_with_the_bundled_boundaries(registry, tmp_path):
    """Points all over the province under random 2025 codes: each record is either refused
    or gets a former commune that is one of its 2025 commune's (never a pair that the
    release plan would have to reject)."""
    from geo.boundaries import load_communes
    from geo.config import Settings
    from geo.units import NEW, OLD

    settings = Settings(data_dir=tmp_path)
    new, old = load_communes(settings, NEW), load_communes(settings, OLD)
    rng = np.random.default_rng(3)
    spots = old.geometry.representative_point()
    picks = rng.integers(0, len(spots), 400)
    records = _records(
        date=["2025-10-01"] * 400,
        commune_code=rng.choice(registry.communes.index.to_numpy(), 400).tolist(),
        lat=spots.y.to_numpy()[picks].tolist(), lon=spots.x.to_numpy()[picks].tolist(),
    )
    resolved, unresolved = resolve_communes(records, registry, new, old)
    assert len(resolved) + len(unresolved) == 400 and len(resolved) > 0 and len(unresolved) > 0
    pieces = set(zip(registry.composition["old_code"], registry.composition["new_code"]))
    assert set(zip(resolved["old_code"], resolved["new_code"])) <= pieces
    assert set(unresolved["reason"].str.slice(0, 28)) == {"point lies in former commune"}


def test_a_point_in_a_unit_the_registry_does_not_list_places_nothing(registry):
    """Boundaries may hold units the registry lacks (Tây Ninh's registry under boundaries of
    two provinces: here Hà Nội's 2025 Phường Ba Đình 00004 and former Phường Phúc Xá
    00001). A point there places no record, of either set, and contradicts a code far
    from it; the unit is named. Before, the former-set record came out with no 2025
    commune (NA), the 2025 one with a code no registry table joins, the coded one raised
    KeyError."""
    new = gpd.GeoDataFrame(
        {"name": ["Xã Bến Cầu", "Phường Ba Đình"]},
        geometry=[box(106.0, 11.0, 106.2, 11.2), box(105.80, 21.00, 105.86, 21.05)],
        index=pd.Index(["25681", "00004"], name="code"), crs="EPSG:4326",
    )
    old = gpd.GeoDataFrame(
        {"name": ["Xã Lợi Thuận", "Thị trấn Bến Cầu", "Phường Phúc Xá"]},
        geometry=[box(106.0, 11.0, 106.1, 11.2), box(106.1, 11.0, 106.2, 11.2),
                  box(105.80, 21.00, 105.86, 21.05)],
        index=pd.Index(["25699", "25681", "00001"], name="code"), crs="EPSG:4326",
    )
    records = _records(
        date=["2024-03-01", "2025-09-01", "2025-09-01", "2024-03-01", "2025-09-01"],
        commune_code=["", "", "25681", "", ""],
        lat=[21.02, 21.02, 21.02, 11.1, 11.1], lon=[105.83, 105.83, 105.83, 106.05, 106.15],
    )
    resolved, unresolved = resolve_communes(records, registry, new, old)
    placed = resolved.set_index("record_id")[["new_code", "old_code", "resolved_by"]]
    assert placed.values.tolist() == [["25681", "25699", "point"], ["25681", "25681", "point"]]
    assert placed.index.tolist() == ["R3", "R4"]
    out = unresolved.set_index("record_id")
    assert out["unlisted_code"].tolist() == ["00001", "00004", "00001"]
    assert out["unlisted_set"].tolist() == ["legacy", "2025", "legacy"]
    assert out["reason"].tolist() == [
        "point lies in legacy unit 00001 of the boundaries, a code the registry does not list",
        "point lies in 2025 unit 00004 of the boundaries, a code the registry does not list",
        "point lies in legacy unit 00001 of the boundaries, a code the registry does not list, "
        "not in or near 2025 commune 25681 named by the record",
    ]
    assert out["named_code"].isna().tolist() == [True, True, False]
    assert out.loc["R2", ["named_code", "point_old_code"]].tolist() == ["25681", "00001"]
    assert out["point_new_code"].isna().all()
