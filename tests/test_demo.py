"""The synthetic demo: deterministic, marked synthetic, clean, and shaped like the real problem."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data.demo import DEFAULT_SEED, commune_risk, generate_demo, write_demo
from geo.boundaries import load_border, load_communes
from geo.config import Settings
from geo.records import join_records, read_records
from geo.units import MERGER_DATE


@pytest.fixture(scope="module")
def inputs(registry, tmp_path_factory):
    from geo.gates import load_gates

    settings = Settings(data_dir=tmp_path_factory.mktemp("demo") / "var")
    return (
        registry,
        load_communes(settings, "2025"),
        load_communes(settings, "legacy"),
        load_gates(settings),
        load_border(settings),
    )


@pytest.fixture(scope="module")
def written(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "demo"
    write_demo(generate_demo(*inputs, seed=DEFAULT_SEED), out)
    return out


@pytest.fixture(scope="module")
def incidents(written, inputs):
    registry, new, old, _, _ = inputs
    return join_records(read_records(written / "incidents.csv"), registry, new, old)


def test_same_seed_same_bytes_other_seed_other_data(inputs, written, tmp_path):
    again = write_demo(generate_demo(*inputs, seed=DEFAULT_SEED), tmp_path / "again")
    for name in ("incidents.csv", "outreach.csv", "models.csv", "population.csv", "manifest.json"):
        assert (again / name).read_bytes() == (written / name).read_bytes(), name
    other = write_demo(generate_demo(*inputs, seed=7), tmp_path / "other")
    assert (other / "incidents.csv").read_bytes() != (written / "incidents.csv").read_bytes()


def test_rewriting_replaces_the_folder_whole(inputs, written, tmp_path):
    out = tmp_path / "demo"
    write_demo(generate_demo(*inputs, seed=7), out)
    (out / "stray.txt").write_text("left over")
    write_demo(generate_demo(*inputs, seed=DEFAULT_SEED), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written.iterdir())


def test_manifest_says_synthetic_and_counts_the_rows(written):
    manifest = json.loads((written / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert "MÔ PHỎNG" in manifest["note_vi"] and "SYNTHETIC" in manifest["note_en"]
    for name, count in manifest["rows"].items():
        assert len(pd.read_csv(written / f"{name}.csv")) == count


def test_interchange_columns_and_ids(written):
    inc = pd.read_csv(written / "incidents.csv", dtype=str, keep_default_na=False)
    assert list(inc.columns) == [
        "record_id", "date", "type", "commune_code", "commune", "district", "lat", "lon",
        "persons", "victims", "agency", "status",
    ]
    out = pd.read_csv(written / "outreach.csv", dtype=str)
    models = pd.read_csv(written / "models.csv", dtype=str)
    for frame, prefix in ((inc, "DEMO-INC-"), (out, "DEMO-OUT-"), (models, "DEMO-MOD-")):
        assert frame["record_id"].str.startswith(prefix).all()
        assert frame["record_id"].is_unique
    dates = pd.to_datetime(inc["date"], format="%d/%m/%Y")
    assert dates.min() >= pd.Timestamp(2022, 1, 1) and dates.max() <= pd.Timestamp(2025, 12, 31)
    assert set(inc["type"]) == {"trafficking_case", "illegal_crossing", "tip", "victim"}
    assert set(inc["status"]) <= {"received", "verified", "prosecuted", "tried"}


def test_every_incident_resolves_in_the_unit_set_of_its_date(incidents, written):
    raw = pd.read_csv(written / "incidents.csv")
    assert len(incidents) == len(raw)
    before = incidents["date"] < pd.Timestamp(MERGER_DATE)
    assert incidents["new_code"].notna().all() and incidents["old_code"].notna().all()
    # Old records were written with old codes/names, new records with new ones.
    coded = incidents["commune_code"].astype(str).str.len() == 5
    registry_old = incidents.loc[before & coded, "commune_code"].astype(str)
    assert (registry_old == incidents.loc[before & coded, "old_code"]).all()
    assert (incidents.loc[~before & coded, "commune_code"].astype(str)
            == incidents.loc[~before & coded, "new_code"]).all()
    # All three ways of naming a commune occur.
    assert set(incidents["resolved_by"]) >= {"code", "name", "point"}


def test_victims_never_carry_a_location(written):
    inc = pd.read_csv(written / "incidents.csv", dtype=str, keep_default_na=False)
    victims = inc[inc["type"] == "victim"]
    assert len(victims) > 50
    assert (victims["lat"] == "").all() and (victims["lon"] == "").all()
    assert (victims["victims"].astype(int) >= 1).all()


def test_incidents_are_denser_near_the_gates(incidents, inputs):
    _, new, _, gates, border = inputs
    risk = commune_risk(new, gates, border)
    area = new.to_crs("EPSG:32648").area / 1e6
    counts = incidents.groupby("new_code").size().reindex(new.index, fill_value=0)
    near = risk["gate_km"] <= 10
    far = risk["gate_km"] > 30
    density_near = counts[near].sum() / area[near].sum()
    density_far = counts[far].sum() / area[far].sum()
    # measured 3.5× with the default seed (a uniform spread would give about 1×)
    assert density_near > 2.5 * density_far
    # Mộc Bài's commune (Xã Bến Cầu) is among the five busiest
    assert "25681" in counts.nlargest(5).index


def test_campaign_months_peak(incidents):
    month = incidents["date"].dt.month
    per_month = incidents.groupby([incidents["date"].dt.year, month]).size()
    campaign = per_month[per_month.index.get_level_values(1).isin([7, 8, 9])].mean()
    rest = per_month[~per_month.index.get_level_values(1).isin([7, 8, 9])].mean()
    assert campaign > 1.4 * rest  # measured 1.73×


def test_population_and_models_are_plausible(written):
    pop = pd.read_csv(written / "population.csv", dtype={"commune_code": str})
    assert len(pop) == 96 * 4
    total_2025 = pop.loc[pop["year"] == 2025, "population"].sum()
    assert 2_700_000 < total_2025 < 3_200_000
    assert (pop["population_14_60"] < pop["population"]).all()
    models = pd.read_csv(written / "models.csv", dtype=str, keep_default_na=False)
    assert set(models["class"]) == {"intensive", "integrated"}
    assert set(models["model_type"]) <= {
        "zalo_group", "hotline_keyring", "cultural_boarding_house", "security_camera",
        "border_civil_defence", "victim_support", "other",
    }
    ended = models[models["end_date"] != ""]
    assert len(ended) > 0
    start = pd.to_datetime(ended["start_date"], format="%d/%m/%Y")
    end = pd.to_datetime(ended["end_date"], format="%d/%m/%Y")
    assert (end > start).all()


def test_no_personal_names_anywhere(written):
    inc = pd.read_csv(written / "incidents.csv", dtype=str)
    assert not {"name", "full_name", "ho_ten", "victim_name", "phone", "id_number"} & set(inc.columns)
