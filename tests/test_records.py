"""The app's one door to stored records (:mod:`dashboard.records`): what it reads."""

from __future__ import annotations

from dashboard.records import RecordCache
from geo.config import Settings
from geo.kinds import KINDS
from geo.store.schema import STORED_NAMES

#: How a file names a record's commune: the store keeps it, the app reads the codes it was placed in.
_NAMED_BY_FILE = {"record_id", "commune_code", "commune", "district"}


def test_the_app_reads_each_kinds_fields_and_communes_not_the_bookkeeping(tmp_path):
    records = RecordCache(Settings(data_dir=tmp_path / "var")).current()  # a new, empty store
    for kind in ("incidents", "outreach", "models"):
        own = [STORED_NAMES.get(f.name, f.name) for f in KINDS[kind].fields
               if f.name not in _NAMED_BY_FILE]
        frame = getattr(records, kind)
        assert list(frame.columns) == ["source", "record_id", *own, "new_code", "old_code"], kind
        assert frame.empty
    # population names the 2025 communes: keyed by their code, not by a record id
    assert list(records.population.columns) == ["new_code", "year", "population",
                                                "population_14_60"]
    assert records.revision == 0 and not records.synthetic


def test_the_records_of_a_revision_are_read_once_and_kept_for_the_next_start(tmp_path, monkeypatch):
    """A second server (a restart, another worker) loads the same frames from the cache
    folder without reading a record from the store; an import makes a new snapshot, which
    holds the new record; the frames stay read-only."""
    import pandas as pd
    import pytest

    from geo.ingest import Places, import_file
    from geo.store import open_store
    from geo.store.base import Store

    settings = Settings(data_dir=tmp_path / "var")
    places = Places.load(settings)
    csv = tmp_path / "vu_viec.csv"
    csv.write_text("Mã hồ sơ,Ngày,Loại,Mã xã\nK-1,05/08/2025,tip,25681\n", encoding="utf-8")
    with open_store(settings) as store:
        import_file(csv, "incidents", store, places)
    first = RecordCache(settings).current()
    assert list(first.incidents["record_id"]) == ["K-1"]
    assert len(list(settings.cache_dir.glob("records-*.pickle"))) == 1

    def no_read(self, kind, columns=None):
        raise AssertionError(f"read {kind} from the store")

    with monkeypatch.context() as patched:
        patched.setattr(Store, "read", no_read)
        again = RecordCache(settings).current()
    for kind in ("incidents", "outreach", "models", "population", "reports"):
        pd.testing.assert_frame_equal(getattr(again, kind), getattr(first, kind))
    assert (again.revision, again.sources, again.counts) == (first.revision, first.sources,
                                                             first.counts)
    with pytest.raises(ValueError):
        again.incidents["lat"].to_numpy()[0] = 1.0  # read-only, as when read from the store

    csv.write_text("Mã hồ sơ,Ngày,Loại,Mã xã\nK-2,06/08/2025,tip,25681\n", encoding="utf-8")
    with open_store(settings) as store:
        import_file(csv, "incidents", store, places)
    after = RecordCache(settings).current()
    assert sorted(after.incidents["record_id"]) == ["K-1", "K-2"]
    assert len(list(settings.cache_dir.glob("records-*.pickle"))) == 2
