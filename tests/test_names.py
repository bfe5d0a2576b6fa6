"""Name matching on messy names as real spreadsheets write them."""

import pytest

from geo.names import district_key, fold, match_units, name_key
from geo.units import NEW, OLD


@pytest.mark.parametrize(
    "written",
    ["Xã Lợi Thuận", "xã lợi thuận", "XA LOI THUAN", "X. Lợi Thuận", "Lợi Thuận", "loi thuan",
     "  Xã  Lợi   Thuận ", "x.loi thuan"],
)
def test_old_commune_found_however_written(registry, written):
    assert match_units(registry, written, unit_set=OLD).codes == ("25699",)


@pytest.mark.parametrize("written", ["Phường 1", "P.01", "p1", "Phường I", "phuong 01"])
def test_numbered_wards_with_district(registry, written):
    assert match_units(registry, written, unit_set=OLD, district="TP. Tây Ninh").codes == ("25456",)
    assert match_units(registry, written, unit_set=OLD, district="Thành phố Tân An").codes == ("27694",)


def test_roman_numeral_ward(registry):
    assert match_units(registry, "Phường IV", unit_set=OLD, district="Tây Ninh").codes == ("25462",)


def test_same_name_in_four_districts_is_ambiguous_until_the_district_is_given(registry):
    match = match_units(registry, "Xã Tân Bình", unit_set=OLD)
    assert len(match.codes) == 4 and not match.unique
    assert any("Huyện Tân Biên" in label for label in match.labels)
    for district in ("huyện Tân Biên", "H. Tan Bien", "Tân Biên"):
        assert match_units(registry, "Tân Bình", unit_set=OLD, district=district).codes == ("25495",)


def test_diacritics_separate_names_that_fold_together(registry):
    # "Hòa Thành" (a former town) and "Hòa Thạnh" (a commune) fold to the same letters.
    assert match_units(registry, "Xã Hòa Thạnh", unit_set=OLD).codes == ("25606",)
    assert match_units(registry, "Thị trấn Hòa Thành", unit_set=OLD).codes == ("25630",)
    assert len(match_units(registry, "hoa thanh", unit_set=OLD).codes) == 2


#: Đức Hòa had a town and a commune both named Hiệp Hòa.
HIEP_HOA_TOWN, HIEP_HOA_COMMUNE = "27934", "27952"


@pytest.mark.parametrize(
    ("written", "code"),
    [("THỊ TRẤN HIỆP HÒA", HIEP_HOA_TOWN), ("Thị trấn Hiệp Hòa", HIEP_HOA_TOWN),
     ("TT. Hiệp Hòa", HIEP_HOA_TOWN), ("THI TRAN HIEP HOA", HIEP_HOA_TOWN),
     ("tt hiep hoa", HIEP_HOA_TOWN), ("Xã Hiệp Hòa", HIEP_HOA_COMMUNE),
     ("XÃ HIỆP HÒA", HIEP_HOA_COMMUNE), ("X. Hiệp Hòa", HIEP_HOA_COMMUNE),
     ("XA HIEP HOA", HIEP_HOA_COMMUNE), ("xa hiep hoa", HIEP_HOA_COMMUNE)],
)
@pytest.mark.parametrize("district", ["Huyện Đức Hòa", "Đức Hòa", "huyen duc hoa"])
def test_prefix_separates_units_that_differ_only_in_kind(registry, written, code, district):
    assert match_units(registry, written, unit_set=OLD, district=district).codes == (code,)


@pytest.mark.parametrize("written", ["Hiệp Hòa", "HIỆP HÒA", "hiep hoa"])
def test_name_without_prefix_stays_ambiguous_between_kinds(registry, written):
    match = match_units(registry, written, unit_set=OLD, district="Đức Hòa")
    assert match.codes == (HIEP_HOA_TOWN, HIEP_HOA_COMMUNE) and not match.unique
    assert match.labels == (
        "Thị trấn Hiệp Hòa, Huyện Đức Hòa (27934)",
        "Xã Hiệp Hòa, Huyện Đức Hòa (27952)",
    )


def test_every_same_district_pair_that_differs_in_kind_resolves_with_its_prefix(registry):
    # Units of one district whose names fold to the same key: only the prefix tells them
    # apart once the diacritics are gone (Tân Thạnh / Tân Thành), or even with them (Hiệp Hòa).
    legacy = registry.legacy.assign(key=registry.legacy["name"].map(name_key))
    pairs = legacy.groupby(["district_code", "key"]).filter(lambda g: g["kind"].nunique() > 1)
    groups = {tuple(sorted(g.index)) for _, g in pairs.groupby(["district_code", "key"])}
    assert groups == {(HIEP_HOA_TOWN, HIEP_HOA_COMMUNE), ("27826", "27850")}
    for code, unit in pairs.iterrows():
        for written in (unit["name"].upper(), fold(unit["name"])):
            for district in (unit["district"], fold(unit["district"])):
                match = match_units(registry, written, unit_set=OLD, district=district)
                assert match.codes == (code,), (written, district)


def test_prefix_separates_same_name_units_of_other_districts(registry):
    # Xã Tân Hưng (Tân Châu) and Thị trấn Tân Hưng (Tân Hưng), no district given.
    assert match_units(registry, "Thị trấn Tân Hưng", unit_set=OLD).codes == ("27721",)
    assert match_units(registry, "xa tan hung", unit_set=OLD).codes == ("25549",)
    assert len(match_units(registry, "Tân Hưng", unit_set=OLD).codes) == 2


def test_a_prefix_of_the_wrong_kind_does_not_lose_the_unit(registry):
    # Towns became communes in 2025; people keep writing "TT".
    assert match_units(registry, "TT Bến Cầu", unit_set=NEW).codes == ("25681",)


def test_town_prefix_and_former_names(registry):
    assert match_units(registry, "TT Bến Cầu", unit_set=OLD).codes == ("25681",)
    assert match_units(registry, "TT. Ben Cau", unit_set=OLD).codes == ("25681",)


@pytest.mark.parametrize("written", ["Xã Bến Cầu", "xa ben cau", "BẾN CẦU", "X. Bến Cầu"])
def test_new_communes(registry, written):
    assert match_units(registry, written, unit_set=NEW).codes == ("25681",)


def test_unknown_name_matches_nothing(registry):
    match = match_units(registry, "Xã Không Có", unit_set=NEW)
    assert match.codes == () and match.code is None


def test_keys():
    assert fold("Đức Huệ") == "duc hue"
    assert name_key("Thị trấn Bến Cầu") == "bencau"
    assert name_key("P.01") == name_key("Phường I") == "phuong1"
    assert district_key("TX. Trảng Bàng") == district_key("Thị xã Trảng Bàng") == "trangbang"
