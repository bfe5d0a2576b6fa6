"""The pages' memoised analyses: plans from the data folder, key areas, caching per revision."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.analysis import Analyses
from dashboard.cli import ensure_demo
from dashboard.context import build_context
from layers.targets import PLANS_DIR, PlanError


@pytest.fixture(scope="module")
def analyses(tmp_path_factory):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("an") / "var")
    ensure_demo(settings)
    return Analyses(build_context(settings))


def test_user_plan_files_add_to_and_replace_the_bundled_ones(analyses):
    ids = {p.id for p in analyses.plans()}
    assert {"tay_ninh_2024", "national_programme_2016_2020"} <= ids
    user = analyses.ctx.settings.data_dir / "plans"
    user.mkdir()
    text = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    (user / "tay_ninh_2025.yaml").write_text(
        text.replace("id: tay_ninh_2024", "id: tay_ninh_2025"), encoding="utf-8")
    assert {p.id for p in analyses.plans()} == ids | {"tay_ninh_2025"}
    (user / "broken.yaml").write_text("id: x\nindicators: 3\n", encoding="utf-8")
    with pytest.raises(PlanError, match="broken.yaml"):
        analyses.plans()
    (user / "broken.yaml").unlink()


def test_kpis_and_key_areas_are_computed_once_per_revision(analyses):
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    keys = analyses.key_area_codes(start=start, end=end)
    assert keys and all(len(k) == 5 for k in keys)
    now, trend = analyses.kpis(start=start, end=end)
    assert set(now["status"]) <= {"met", "on_track", "behind", "no_data"}
    assert len(trend) == 4 * len(now)  # four quarters per indicator
    again, _ = analyses.kpis(start=start, end=end)
    assert again is now  # served from memory while the store has not changed
