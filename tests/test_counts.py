"""Incident counts per commune: filters, zero-fill, unit sets, caveats."""

import datetime as dt

import pandas as pd
import pytest

from layers.counts import incident_counts
from layers.layer import Caveat


@pytest.fixture()
def incidents():
    return pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2024-03-01", "2024-07-15", "2024-09-30", "2025-08-01", "2025-08-02"]
            ),
            "type": ["tip", "illegal_crossing", "tip", "victim", "tip"],
            "new_code": ["25681", "25681", "25489", "25681", "25489"],
            "old_code": ["25699", "25681", "25489", "25699", "25489"],
        }
    )


@pytest.fixture()
def communes():
    return pd.DataFrame(
        {"name": ["Xã Bến Cầu", "Xã Tân Lập", "Xã Tân Đông"]}, index=["25681", "25489", "25522"]
    )


def test_counts_every_commune_with_zero_fill(incidents, communes):
    layer = incident_counts(incidents, communes, unit_set="2025")
    assert layer.frame["count"].to_dict() == {"25681": 3, "25489": 2, "25522": 0}
    assert layer.total == 5


def test_type_and_inclusive_period_filters(incidents, communes):
    layer = incident_counts(
        incidents, communes, unit_set="2025", types=["tip"],
        start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30),
    )
    assert layer.frame["count"].to_dict() == {"25681": 0, "25489": 1, "25522": 0}


def test_old_unit_set_groups_by_old_code(incidents):
    old = pd.DataFrame({"name": ["Xã Lợi Thuận", "TT Bến Cầu"]}, index=["25699", "25681"])
    layer = incident_counts(incidents, old, unit_set="legacy")
    assert layer.frame["count"].to_dict() == {"25699": 2, "25681": 1}


def test_caveats_travel_with_the_layer(incidents, communes):
    layer = incident_counts(incidents, communes, unit_set="2025",
                            caveats=[Caveat.SYNTHETIC, Caveat.APPROXIMATE_BOUNDARIES])
    assert layer.caveats == (Caveat.SYNTHETIC, Caveat.APPROXIMATE_BOUNDARIES)


def test_unknown_type_is_refused(incidents, communes):
    with pytest.raises(ValueError, match="unknown incident types"):
        incident_counts(incidents, communes, unit_set="2025", types=["murder"])


def test_the_incident_types_are_the_interchange_formats_own():
    # one home: the codes the layers count are those the importer accepts, in its order
    from geo.kinds import INCIDENT_TYPES as CHOICES
    from layers.counts import INCIDENT_TYPES

    assert INCIDENT_TYPES == ("trafficking_case", "illegal_crossing", "tip", "victim")
    assert INCIDENT_TYPES == tuple(choice.code for choice in CHOICES)
    assert all(isinstance(code, str) for code in INCIDENT_TYPES)


def test_the_cube_gives_the_same_counts_and_bad_types_the_same_error(incidents, communes):
    """Read from the cube (layers/cube.py), every filter gives the counts above."""
    from layers.cube import build_cube

    cube = build_cube(incidents, {"2025": communes, "legacy": pd.Index(["25699", "25681"])})
    layer = incident_counts(incidents, communes, unit_set="2025", types=["tip"],
                            start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30), cube=cube)
    assert layer.frame["count"].to_dict() == {"25681": 0, "25489": 1, "25522": 0}
    assert incident_counts(incidents, communes, unit_set="2025",
                           cube=cube).frame["count"].to_dict() == {"25681": 3, "25489": 2,
                                                                   "25522": 0}
    # a unit table with a commune the cube was not built for: 0 there, as without it
    more = pd.concat([communes, pd.DataFrame({"name": ["Xã Mới"]}, index=["25999"])])
    assert incident_counts(incidents, more, unit_set="2025",
                           cube=cube).frame["count"].to_dict()["25999"] == 0
    with pytest.raises(ValueError, match="unknown incident types"):
        incident_counts(incidents, communes, unit_set="2025", types=["theft"], cube=cube)
