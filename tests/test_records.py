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
