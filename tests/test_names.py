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
