"""Coverage of prevention models: active on a day or during a period, per type and class, gaps."""

import datetime as dt

import pandas as pd
import pytest

from dashboard.serving import ensure_demo
from geo.config import Settings
from geo.store import open_store
from layers.coverage import (
    COVERAGE_SCALE,
    MODEL_CLASSES,
    MODEL_TYPES,
    model_coverage,
    uncovered_key_areas,
)
from layers.layer import Caveat

CODES = ["25459", "25480", "25486", "25489"]
OLD = {"25459": "25456", "25480": "25480", "25486": "25486", "25489": "25489"}


def _communes(codes=CODES) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"Xã {c}" for c in codes]}, index=pd.Index(codes, name="code"))


def _models(rows) -> pd.DataFrame:
    """rows: (new_code, model_type, model_class, start, end or None)."""
    rows = list(rows)
    return pd.DataFrame(
        {
            "source": "test",
            "record_id": [f"M{i}" for i in range(len(rows))],
            "model_type": [r[1] for r in rows],
            "model_class": [r[2] for r in rows],
            "start_date": pd.to_datetime([r[3] for r in rows]),
            "end_date": pd.to_datetime([r[4] for r in rows]),
            "agency": "Công an tỉnh",
            "new_code": [r[0] for r in rows],
            "old_code": [OLD.get(r[0], r[0]) for r in rows],
        }
    )


#: Around 30/06/2025: one model ends that day, one starts the day after, one the day before
#: ended, one runs on.
EDGES = _models([
    ("25459", "zalo_group", "integrated", "2024-01-01", "2025-06-30"),
    ("25480", "security_camera", "integrated", "2025-07-01", None),
    ("25486", "hotline_keyring", "intensive", "2025-06-30", None),
    ("25489", "victim_support", None, "2023-01-01", "2025-06-29"),
])


def test_active_on_a_day_bounds_are_inclusive():
    day = model_coverage(EDGES, _communes(), on=dt.date(2025, 6, 30))
    assert day.frame["total"].tolist() == [1, 0, 1, 0]  # ends that day: active; starts next: not
    after = model_coverage(EDGES, _communes(), on=dt.date(2025, 7, 1))
    assert after.frame["total"].tolist() == [0, 1, 1, 0]
    before = model_coverage(EDGES, _communes(), on=dt.date(2025, 6, 29))
    assert before.frame["total"].tolist() == [1, 0, 0, 1]
    assert day.value == "total" and day.total == 2.0
    assert day.params["on"] == dt.date(2025, 6, 30)
    assert day.params["start"] is None and day.params["end"] is None


def test_dates_with_a_time_of_day_count_by_the_day():
    models = EDGES.copy()
    models["end_date"] = models["end_date"] + pd.Timedelta(hours=9)
    models["start_date"] = models["start_date"] + pd.Timedelta(hours=9)
    layer = model_coverage(models, _communes(), on=dt.date(2025, 6, 30))
    assert layer.frame["total"].tolist() == [1, 0, 1, 0]


def test_active_during_a_period_is_an_overlap():
    models = _models([
        ("25459", "zalo_group", "integrated", "2024-01-01", "2024-12-31"),  # ends the day before
        ("25459", "zalo_group", "integrated", "2024-01-01", "2025-01-01"),  # ends on start day
        ("25480", "security_camera", "integrated", "2025-03-31", None),  # starts on end day
        ("25480", "security_camera", "integrated", "2025-04-01", None),  # starts the day after
        ("25486", "hotline_keyring", "intensive", "2020-01-01", None),  # spans it
        ("25489", "victim_support", None, "2025-02-01", "2025-02-10"),  # inside it
        ("25489", "victim_support", None, "2025-03-01", "2025-02-01"),  # ends before it starts
    ])
    layer = model_coverage(models, _communes(), start=dt.date(2025, 1, 1),
                           end=dt.date(2025, 3, 31))
    assert layer.frame["total"].tolist() == [1, 1, 1, 1]
    assert layer.params["start"] == dt.date(2025, 1, 1)
    assert layer.params["end"] == dt.date(2025, 3, 31) and layer.params["on"] is None
    # one side left open
    since = model_coverage(models, _communes(), start="2025-01-02")
    assert since.frame["total"].tolist() == [0, 2, 1, 1]
    until = model_coverage(models, _communes(), end=dt.date(2024, 6, 30))
    assert until.frame["total"].tolist() == [2, 0, 1, 0]


def test_per_type_and_class_columns_and_province_counts():
    models = _models([
        ("25459", "zalo_group", "intensive", "2024-01-01", None),
        ("25459", "zalo_group", "integrated", "2024-01-01", None),
        ("25459", "security_camera", None, "2024-01-01", None),
        ("25480", "hotline_keyring", "integrated", "2024-01-01", None),
        ("25486", "border_civil_defence", "integrated", "2026-01-01", None),  # not yet
        ("99999", "zalo_group", "integrated", "2024-01-01", None),  # not a commune here
    ])
    layer = model_coverage(models, _communes(), on=dt.date(2025, 1, 1),
                           caveats=[Caveat.SYNTHETIC])
    frame = layer.frame
    assert list(frame.columns) == ["name", "total", *MODEL_TYPES, *MODEL_CLASSES, "has_model"]
    assert frame.loc["25459", ["total", "zalo_group", "security_camera", "intensive",
                               "integrated"]].tolist() == [3, 2, 1, 1, 1]
    assert frame.loc["25480", ["total", "hotline_keyring", "intensive", "integrated"]].tolist() \
        == [1, 1, 0, 1]
    assert frame["has_model"].tolist() == [True, True, False, False]
    assert frame["name"].tolist() == [f"Xã {c}" for c in CODES]
    params = layer.params
    assert params["total"] == 4 and params["unplaced"] == 1
    assert params["by_type"] == {"zalo_group": 2, "hotline_keyring": 1,
                                 "cultural_boarding_house": 0, "security_camera": 1,
                                 "border_civil_defence": 0, "victim_support": 0, "other": 0}
    assert params["by_class"] == {"intensive": 1, "integrated": 2, "unclassified": 1}
    assert params["n_with_intensive"] == 1 and params["n_with_integrated"] == 2
    assert layer.caveats == (Caveat.SYNTHETIC,)
    assert layer.title_key == "layer.coverage.title" and layer.units_key == "unit.models"


def test_communes_with_no_model_are_listed_in_order():
    layer = model_coverage(EDGES, _communes(), on=dt.date(2025, 6, 30))
    assert layer.params["without_model"] == ("25480", "25489")
    assert layer.params["n_without_model"] == 2
    assert layer.params["n_with_model"] == 2 and layer.params["n_communes"] == 4


def test_model_type_filter_counts_only_those_types():
    layer = model_coverage(EDGES, _communes(), on=dt.date(2025, 6, 30),
                           model_types=["hotline_keyring", "zalo_group"])
    assert layer.params["model_types"] == ("zalo_group", "hotline_keyring")  # registry order
    assert list(layer.frame.columns) == ["name", "total", "zalo_group", "hotline_keyring",
                                         "intensive", "integrated", "has_model"]
    only = model_coverage(EDGES, _communes(), on=dt.date(2025, 6, 30), model_types="zalo_group")
    assert only.frame["total"].tolist() == [1, 0, 0, 0]
    assert only.params["without_model"] == ("25480", "25486", "25489")


def test_legacy_units_group_by_old_code():
    communes = _communes(["25456", "25480", "25486", "25489", "25492"])
    layer = model_coverage(EDGES, communes, unit_set="legacy", on=dt.date(2025, 6, 30))
    assert layer.frame["total"].tolist() == [1, 0, 1, 0, 0]
    assert layer.unit_set == "legacy"


def test_empty_models_give_zeros_everywhere():
    empty = pd.DataFrame(columns=["model_type", "model_class", "start_date", "end_date",
                                  "new_code", "old_code"])
    layer = model_coverage(empty, _communes(), on=dt.date(2025, 1, 1))
    assert layer.frame["total"].tolist() == [0, 0, 0, 0]
    assert (layer.frame[list(MODEL_TYPES)] == 0).all().all()
    assert not layer.frame["has_model"].any()
    assert layer.params["without_model"] == tuple(CODES)
    assert layer.params["by_class"] == {"intensive": 0, "integrated": 0, "unclassified": 0}
    period = model_coverage(empty, _communes(), start=dt.date(2025, 1, 1),
                            end=dt.date(2025, 3, 31))
    assert period.total == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": dt.date(2025, 3, 1), "end": dt.date(2025, 1, 1)}, "before start"),
        ({"on": dt.date(2025, 1, 1), "model_types": ["zalo", "camera"]}, "unknown model types"),
        ({"on": dt.date(2025, 1, 1), "start": dt.date(2025, 1, 1)}, "not both"),
        ({}, "give a date"),
        ({"on": dt.date(2025, 1, 1), "unit_set": "2019"}, "unit_set"),
        ({"on": "not a date"}, "on is not a date: 'not a date'"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        model_coverage(EDGES, _communes(), **kwargs)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"models lacks the columns \['end_date'\]"):
        model_coverage(EDGES.drop(columns="end_date"), _communes(), on=dt.date(2025, 1, 1))


def test_inputs_are_not_changed():
    models, communes = EDGES.copy(), _communes()
    before = (models.copy(), communes.copy())
    model_coverage(models, communes, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    model_coverage(models, communes, on=dt.date(2025, 6, 30))
    for after, kept in zip((models, communes), before, strict=True):
        pd.testing.assert_frame_equal(after, kept)


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_scale_zero_is_light_grey_and_lightness_falls():
    zero, first = COVERAGE_SCALE[0], COVERAGE_SCALE[1]
    assert zero == (0.0, "#f0f0f0")  # neutral grey: r = g = b
    assert first[0] < 0.01
    lum = [_luminance(c) for _, c in COVERAGE_SCALE]
    assert lum == sorted(lum, reverse=True)  # monotone: reads in grey print
    assert lum[0] - lum[1] > 0.2  # "no model" clearly lighter than one model
    assert model_coverage(EDGES, _communes(), on=dt.date(2025, 1, 1)).colorscale \
        == COVERAGE_SCALE


# -- uncovered key areas -------------------------------------------------------

KEYED = _models([
    ("25459", "zalo_group", "integrated", "2024-01-01", None),
    ("25459", "security_camera", None, "2024-01-01", None),
    ("25480", "hotline_keyring", "intensive", "2024-01-01", None),
    ("25486", "victim_support", "intensive", "2024-01-01", "2024-06-30"),  # ended
])


def test_uncovered_key_areas_lists_gaps_no_model_first():
    coverage = model_coverage(KEYED, _communes(), on=dt.date(2025, 1, 1))
    gaps = uncovered_key_areas(coverage, ["25459", "25480", "25486", "25459"])
    assert gaps.index.tolist() == ["25486", "25459"]  # 25480 has an intensive model
    assert gaps.index.name == "code"
    assert gaps["gap"].tolist() == ["no_model", "no_intensive"]
    assert gaps["name"].tolist() == ["Xã 25486", "Xã 25459"]
    assert gaps["total"].tolist() == [0, 2]
    assert gaps["integrated"].tolist() == [0, 1]
    assert gaps.loc["25459", "types"] == ("zalo_group", "security_camera")
    assert gaps.loc["25459", ["zalo_group", "security_camera", "hotline_keyring"]].tolist() \
        == [1, 1, 0]
    assert gaps.loc["25486", "types"] == ()


def test_uncovered_key_areas_empty_and_bad_codes():
    coverage = model_coverage(KEYED, _communes(), on=dt.date(2025, 1, 1))
    none = uncovered_key_areas(coverage, [])
    assert none.empty and {"name", "gap", "total", "types"} <= set(none.columns)
    assert uncovered_key_areas(coverage, ["25480"]).empty
    with pytest.raises(ValueError, match="99999"):
        uncovered_key_areas(coverage, ["25459", "99999"])
    not_coverage = coverage.__class__(frame=coverage.frame[["name"]], value="name",
                                      unit_set="2025", title_key="", legend_key="",
                                      units_key="")
    with pytest.raises(ValueError, match="model_coverage"):
        uncovered_key_areas(not_coverage, ["25459"])


# -- the demo -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_models(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("coverage") / "var")
    ensure_demo(settings)
    with open_store(settings) as store:
        return store.read("models")


def test_demo_coverage_matches_a_row_by_row_count(demo_models, registry):
    on = dt.date(2025, 12, 31)
    communes = registry.units("2025")
    layer = model_coverage(demo_models, communes, on=on, caveats=[Caveat.SYNTHETIC])
    by_hand: dict[str, int] = {}
    for row in demo_models.itertuples():
        ended = pd.notna(row.end_date) and row.end_date.date() < on
        if row.start_date.date() <= on and not ended:
            by_hand[row.new_code] = by_hand.get(row.new_code, 0) + 1
    frame = layer.frame
    assert len(frame) == 96
    assert frame["total"].to_dict() == {c: by_hand.get(c, 0) for c in communes.index}
    assert layer.params["n_without_model"] == 96 - len(by_hand)
    assert set(layer.params["without_model"]) == set(communes.index) - set(by_hand)
    assert (frame[list(MODEL_TYPES)].sum(axis=1) == frame["total"]).all()
    assert (frame["intensive"] + frame["integrated"] <= frame["total"]).all()
    legacy = model_coverage(demo_models, registry.units("legacy"), unit_set="legacy", on=on)
    assert len(legacy.frame) == 280 and legacy.total == layer.total


def test_a_model_without_a_start_date_is_active_nowhere():
    # one rule for every page, layer and target (layers.coverage.active_models): a model
    # whose start is unknown is not counted, on a day, over a period or with open sides
    from layers.coverage import active_models

    models = pd.DataFrame({"start_date": pd.to_datetime([None, "2024-01-01", "2024-05-01"]),
                           "end_date": pd.to_datetime([None, None, "2024-04-01"])})
    assert active_models(models, dt.date(2024, 6, 1)).tolist() == [False, True, False]
    assert active_models(models, start=dt.date(2024, 1, 1),
                         end=dt.date(2024, 12, 31)).tolist() == [False, True, False]
    assert active_models(models).tolist() == [False, True, False]
    with pytest.raises(ValueError, match="not both"):
        active_models(models, dt.date(2024, 1, 1), end=dt.date(2024, 2, 1))


def test_the_targets_count_active_models_by_the_same_rule():
    from layers.targets.measures import MEASURE_FUNCTIONS, TrackingData

    models = pd.DataFrame({"model_type": "zalo_group", "model_class": "intensive",
                           "start_date": pd.to_datetime([None, "2024-01-01"]),
                           "end_date": pd.to_datetime([None, None]),
                           "new_code": ["10001", "10002"]})
    data = TrackingData(models=models, communes=["10001", "10002"])
    covered = MEASURE_FUNCTIONS["key_areas_covered"](data, dt.date(2024, 1, 1),
                                                     dt.date(2024, 12, 31), ["10001", "10002"])
    assert (covered.numerator, covered.denominator) == (1, 2)
    intensive = MEASURE_FUNCTIONS["key_communes_intensive"](data, dt.date(2024, 1, 1),
                                                            dt.date(2024, 12, 31),
                                                            ["10001", "10002"])
    assert (intensive.numerator, intensive.denominator) == (1, 2)
