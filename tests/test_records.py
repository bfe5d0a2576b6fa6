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


def _import(settings, tmp_path, text: str) -> None:
    from geo.ingest import Places, import_file
    from geo.store import open_store

    csv = tmp_path / "vu_viec.csv"
    csv.write_text("Mã hồ sơ,Ngày,Loại,Mã xã\n" + text, encoding="utf-8")
    with open_store(settings) as store:
        assert import_file(csv, "incidents", store, Places.load(settings)).accepted == 1


def test_a_store_rebuilt_with_as_many_imports_and_records_is_never_served_the_old_snapshot(
        tmp_path):
    """The same revision, the same number of records of the same source, another record:
    the snapshot of the store that was deleted is not the records of the new one."""
    settings = Settings(data_dir=tmp_path / "var")
    _import(settings, tmp_path, "K-1,05/08/2025,tip,25681\n")
    first = RecordCache(settings).current()
    assert list(first.incidents["record_id"]) == ["K-1"]
    for path in settings.data_dir.glob("borderwatch.sqlite*"):
        path.unlink()  # the store rebuilt from nothing, its cache folder kept
    _import(settings, tmp_path, "K-9,06/09/2025,tip,25681\n")
    again = RecordCache(settings).current()
    assert again.revision == first.revision and again.counts == first.counts
    assert list(again.incidents["record_id"]) == ["K-9"]
    assert list(again.incidents["date"].dt.strftime("%d/%m/%Y")) == ["06/09/2025"]


def test_keep_records_writes_the_snapshot_the_next_start_loads(tmp_path, monkeypatch):
    """What an import does once it has committed: the next server reads no record from the
    store, and a revision kept already is not read again."""
    import pandas as pd

    from dashboard.records import keep_records
    from geo.store.base import Store

    settings = Settings(data_dir=tmp_path / "var")
    _import(settings, tmp_path, "K-1,05/08/2025,tip,25681\n")
    kept = keep_records(settings)
    assert list(kept.incidents["record_id"]) == ["K-1"]

    def no_read(self, kind, columns=None):
        raise AssertionError(f"read {kind} from the store")

    monkeypatch.setattr(Store, "read", no_read)
    assert list(keep_records(settings).incidents["record_id"]) == ["K-1"]
    started = RecordCache(settings).current()
    pd.testing.assert_frame_equal(started.incidents, kept.incidents)


def test_a_snapshot_keeps_every_value_dtype_and_missing_value_and_writes_each_text_once():
    """Pickled records (the snapshot) come back equal, dtypes and missing values included
    (a string dtype's NaN, an object column's None, Int64's NA, NaT), and a text repeated
    on every row is written once, not once per row."""
    import pickle

    import numpy as np
    import pandas as pd

    from dashboard.records import Records

    rows = 20_000
    word = "administrative_sanction_long_status"
    incidents = pd.DataFrame({
        "record_id": pd.array([f"K-{i}" for i in range(rows)], dtype="str"),
        "type": pd.array([word if i % 7 else np.nan for i in range(rows)], dtype="str"),
        "date": pd.to_datetime(["2025-08-05"] * (rows - 1) + [None]).astype("M8[us]"),
        "lat": np.where(np.arange(rows) % 3, 10.5, np.nan),
        "victims": pd.array([i % 4 if i % 5 else None for i in range(rows)], dtype="Int64"),
        "agency": pd.Series([None if i % 2 else "BĐBP" for i in range(rows)], dtype=object),
        "mixed": pd.Series([1 if i % 2 else "a" for i in range(rows)], dtype=object),
    })
    empty = pd.DataFrame({"source": pd.Series([], dtype=object),
                          "start_date": pd.Series([], dtype="M8[us]")})
    population = pd.DataFrame({"new_code": pd.array(["25681"], dtype="string"),
                               "year": pd.array([2024], dtype="Int64")})
    records = Records(revision=3, incidents=incidents, outreach=incidents.iloc[:5],
                      models=empty, population=population, synthetic=False,
                      sources=("BĐBP",), counts={"incidents": rows}, reports=pd.DataFrame())
    raw = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
    back = pickle.loads(raw)
    for name in ("incidents", "outreach", "models", "population", "reports"):
        before, after = getattr(records, name), getattr(back, name)
        pd.testing.assert_frame_equal(after, before, check_exact=True)
        assert list(after.dtypes) == list(before.dtypes), name
    assert incidents["agency"].dtype == object and incidents["agency"].iloc[1] is None
    assert back.incidents["agency"].iloc[1] is None and back.incidents["agency"].iloc[0] == "BĐBP"
    assert back.incidents["type"].isna().sum() == incidents["type"].isna().sum() > 0
    assert (back.revision, back.sources, back.counts, back.synthetic) == (3, ("BĐBP",),
                                                                          {"incidents": rows},
                                                                          False)
    assert raw.count(word.encode()) == 1  # once for 17,142 rows


def test_records_read_while_an_import_commits_are_read_again_not_kept_as_a_mix(
        tmp_path, monkeypatch):
    """Each read sees the latest commit: records read while an import committed are not
    kept under the revision they started from; the new revision's are."""
    import pickle

    settings = Settings(data_dir=tmp_path / "var")
    _import(settings, tmp_path, "K-1,05/08/2025,tip,25681\n")
    load = RecordCache._load
    first_revision = []

    def load_while_importing(store, revision):
        records = load(store, revision)
        if not first_revision:
            first_revision.append(revision)
            _import(settings, tmp_path, "K-2,06/08/2025,tip,25681\n")
        return records

    monkeypatch.setattr(RecordCache, "_load", staticmethod(load_while_importing))
    got = RecordCache(settings).current()
    assert got.revision > first_revision[0]
    assert sorted(got.incidents["record_id"]) == ["K-1", "K-2"]
    kept = [pickle.loads(p.read_bytes()) for p in settings.cache_dir.glob("records-*.pickle")]
    assert [(r.revision, sorted(r.incidents["record_id"])) for r in kept] == [
        (got.revision, ["K-1", "K-2"])]
