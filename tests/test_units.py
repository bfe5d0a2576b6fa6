"""The registry: counts, codes, names and the old→new composition, against known facts."""

import datetime as dt

import pandas as pd
import pytest

from geo.units import (MERGER_DATE, NEW, OLD, code_column, national_registry, provinces_of,
                       registry_covering, unit_set_on)


def test_new_province_has_96_units_82_communes_14_wards(registry):
    communes = registry.communes
    assert len(communes) == 96
    assert communes["kind"].value_counts().to_dict() == {"xa": 82, "phuong": 14}
    assert communes.index.str.fullmatch(r"\d{5}").all()


def test_old_units_are_the_280_of_tay_ninh_and_long_an(registry):
    legacy = registry.legacy
    assert len(legacy) == 280
    assert legacy["province_code"].value_counts().to_dict() == {"80": 186, "72": 94}
    assert legacy["kind"].value_counts().to_dict() == {"xa": 231, "phuong": 28, "thi_tran": 21}
    assert legacy["district"].nunique() == 23
    assert (legacy["min_lon"] < legacy["max_lon"]).all()
    assert (legacy["min_lat"] < legacy["max_lat"]).all()


def test_known_units_have_their_official_codes_and_names(registry):
    # Mộc Bài gate's old commune and the new commune that absorbed it.
    assert registry.legacy.at["25699", "name"] == "Xã Lợi Thuận"
    assert registry.legacy.at["25699", "district"] == "Huyện Bến Cầu"
    assert registry.communes.at["25681", "name"] == "Xã Bến Cầu"
    assert registry.new_code_of("25699") == "25681"
    assert registry.communes.at["25459", "name"] == "Phường Tân Ninh"
    assert registry.communes.at["25459", "area_km2"] == pytest.approx(21.35)


def test_every_old_unit_maps_to_a_new_one_and_every_new_one_has_old_parts(registry):
    comp = registry.composition
    assert set(comp["old_code"]) == set(registry.legacy.index)
    assert set(comp["new_code"]) == set(registry.communes.index)
    assert registry.legacy["new_code"].isin(registry.communes.index).all()
    # A split old unit has several pieces, exactly one of them primary.
    split = comp[comp["split"]]
    assert split.groupby("old_code")["primary"].sum().eq(1).all()
    assert split.groupby("old_code").size().min() >= 2


def test_composition_of_tan_ninh_matches_resolution_1682(registry):
    # NQ 1682/NQ-UBTVQH15 khoản 87: Phường 1, 2, 3, IV, Hiệp Ninh (+ part of Thái Bình) → Tân Ninh.
    names = set(registry.legacy.loc[registry.old_codes_of("25459"), "name"])
    assert {"Phường 1", "Phường 2", "Phường 3", "Phường 4", "Phường Hiệp Ninh"} <= names


def test_new_units_reuse_old_codes_so_the_date_decides(registry):
    shared = set(registry.communes.index) & set(registry.legacy.index)
    assert len(shared) == 96
    # 25489 is Xã Tân Lập both before and after, but 25681 is TT Bến Cầu before, Xã Bến Cầu after.
    assert registry.legacy.at["25681", "name"] == "Thị trấn Bến Cầu"
    assert unit_set_on(dt.date(2025, 6, 30)) == OLD
    assert unit_set_on(MERGER_DATE) == NEW
    assert unit_set_on(dt.datetime(2025, 7, 1, 8, 30)) == NEW
    assert unit_set_on(None) is None


def test_unknown_unit_set_is_refused(registry):
    with pytest.raises(ValueError, match="unknown unit set"):
        registry.units("1999")


def test_the_code_column_of_each_unit_set():
    # the one home of the mapping every layer and page reads a record's commune code by
    assert code_column(NEW) == "new_code"
    assert code_column(OLD) == "old_code"
    for bad in ("1999", "province", "", None):
        with pytest.raises(ValueError, match="unknown unit set"):
            code_column(bad)


# -- the country's registry (geo.units.national_registry) and the choice between them -------


@pytest.fixture(scope="module")
def country():
    return national_registry()


def test_the_country_has_3321_communes_of_34_provinces_and_10035_former_ones(country):
    assert len(country.communes) == 3_321 and country.communes.index.is_unique
    assert country.communes["province_code"].nunique() == 34
    assert country.communes.loc["25459", "province_code"] == "80"   # Phường Tân Ninh
    assert country.communes.loc["00004", "province_code"] == "01"   # Phường Ba Đình
    assert len(country.legacy) == 10_035 and country.legacy.index.is_unique
    assert len(country.composition) == 10_597
    assert set(country.composition["old_code"]) == set(country.legacy.index)
    assert country.composition["new_code"].isin(country.communes.index).all()
    assert country.legacy["new_code"].isin(country.communes.index).all()
    split = country.composition[country.composition["split"]]
    assert split.groupby("old_code")["primary"].sum().eq(1).all()


def test_tay_ninh_of_the_country_is_tay_ninh_s_registry_with_its_province(country, registry):
    """load_registry() and national_registry(("80",)) read one way: the same tables, the
    latter with the province column; Tây Ninh's columns are those it always had."""
    own = national_registry(("80",))
    assert list(registry.communes.columns) == ["name", "short_name", "kind", "lat", "lon",
                                               "area_km2", "key", "keys"]
    assert set(own.communes["province_code"]) == {"80"}
    pd.testing.assert_frame_equal(own.communes.drop(columns="province_code"),
                                  registry.communes, check_exact=True)
    pd.testing.assert_frame_equal(own.legacy, registry.legacy, check_exact=True)
    pd.testing.assert_frame_equal(own.composition, registry.composition, check_exact=True)
    # and the country's Tây Ninh is the same units
    ours = country.communes.index[country.communes["province_code"] == "80"]
    assert set(ours) == set(registry.communes.index)
    assert set(country.legacy.index[country.legacy["new_code"].isin(ours)]) == \
        set(registry.legacy.index)


def test_a_registry_of_two_provinces_holds_their_units_only(country):
    two = national_registry(["12", "80", "12"])   # any collection, repeats ignored
    assert two is national_registry(("80", "12"))  # one reading per set of provinces
    assert two.communes["province_code"].value_counts().to_dict() == {"80": 96, "12": 38}
    assert set(two.composition["new_code"]) <= set(two.communes.index)
    assert set(two.composition["old_code"]) == set(two.legacy.index)
    kept = country.composition["new_code"].isin(two.communes.index)
    assert set(two.legacy.index) == set(country.composition.loc[kept, "old_code"])
    assert len(two.legacy) == 386


@pytest.mark.parametrize("bad", [("99",), ("80", "1"), (), "80"])
def test_a_registry_of_no_province_is_refused(bad):
    with pytest.raises(ValueError, match="province"):
        national_registry(bad)


def test_the_provinces_of_commune_codes(registry):
    assert provinces_of(registry.communes.index) == ("80",)
    assert provinces_of(["25459", "00004", "25459"]) == ("01", "80")
    assert provinces_of([4, "25459"]) == ("01", "80")     # a code read as a number
    assert provinces_of(["99999", "", "abc"]) == ()      # no commune of 2025: no province
    assert provinces_of([]) == ()


def test_the_registry_covering_communes_is_tay_ninh_s_unless_they_lie_elsewhere(registry):
    assert registry_covering(registry.communes.index) is registry
    assert registry_covering(["99999"]) is registry
    assert registry_covering([]) is registry
    two = registry_covering(["25459", "12345", "00004"])
    assert sorted(set(two.communes["province_code"])) == ["01", "80"]
    assert two is national_registry(("01", "80"))
    alone = registry_covering(["00004"])   # one province other than Tây Ninh: its own
    assert set(alone.communes["province_code"]) == {"01"}
