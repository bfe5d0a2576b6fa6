"""A commune's profile: incidents per period, models active on a date, recent outreach."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from layers.coverage import active_models
from layers.profile import commune_profile

INC = pd.DataFrame({
    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-08-01", "2024-08-02",
                            "2024-08-03", "2025-01-02"]),
    "type": ["tip", "illegal_crossing", "tip", "victim", "tip", "tip"],
    "new_code": ["25681", "25681", "25681", "25681", "25702", "25681"],
    "old_code": ["25699", "25699", "25699", "25699", "25702", "25681"],
})
MODELS = pd.DataFrame({
    "new_code": ["25681", "25681", "25681", "25702"],
    "old_code": ["25699", "25699", "25681", "25702"],
    "model_type": ["zalo_group", "security_camera", "hotline_keyring", "zalo_group"],
    "model_class": ["intensive", "integrated", "integrated", "integrated"],
    "start_date": pd.to_datetime(["2023-03-01", "2023-03-01", "2024-10-01", "2023-01-01"]),
    "end_date": pd.to_datetime([None, "2024-06-30", None, None]),
    "agency": ["Công an tỉnh", "Công an xã", "Công an tỉnh", "Công an tỉnh"],
})
OUTREACH = pd.DataFrame({
    "new_code": ["25681", "25681", "25681", "25702"],
    "old_code": ["25699", "25699", "25699", "25702"],
    "date": pd.to_datetime(["2023-05-01", "2024-03-01", "2024-07-30", "2024-07-30"]),
    "participants": [100, 60, 250, 999],
    "materials": [0, 500, None, 0],
})


def test_profile_counts_models_and_outreach():
    p = commune_profile("25681", "Xã Bến Cầu", INC, MODELS, OUTREACH, on=dt.date(2024, 9, 30))
    assert p.by_period.index.tolist() == [pd.Period("2024Q1"), pd.Period("2024Q2"),
                                          pd.Period("2024Q3")]
    assert p.by_period.loc[pd.Period("2024Q1")].to_dict() == {
        "trafficking_case": 0, "illegal_crossing": 1, "tip": 1, "victim": 0}
    assert p.by_period.loc[pd.Period("2024Q3"), ["tip", "victim"]].tolist() == [1, 1]
    assert int(p.by_period.to_numpy().sum()) == 4  # 2025 record after "on" is left out
    # the camera ended 30/06/2024, the key-ring starts 01/10/2024: only the Zalo group is active
    assert p.models["model_type"].tolist() == ["zalo_group"]
    assert p.outreach == {"events": 2, "participants": 310, "materials": 500,
                          "last_date": dt.date(2024, 7, 30)}


def test_profile_on_the_former_units_and_an_empty_commune():
    p = commune_profile("25699", "Xã Lợi Thuận", INC, MODELS, OUTREACH, unit_set="legacy",
                        on=dt.date(2024, 12, 31))
    assert int(p.by_period.to_numpy().sum()) == 4
    empty = commune_profile("99999", "–", INC, MODELS, OUTREACH, on=dt.date(2024, 12, 31))
    assert int(empty.by_period.to_numpy().sum()) == 0 and empty.models.empty
    assert empty.outreach["events"] == 0 and empty.outreach["last_date"] is None


def test_active_models_bounds_are_inclusive():
    on_end = active_models(MODELS, dt.date(2024, 6, 30))
    after = active_models(MODELS, dt.date(2024, 7, 1))
    assert on_end.tolist() == [True, True, False, True]
    assert after.tolist() == [True, False, False, True]
