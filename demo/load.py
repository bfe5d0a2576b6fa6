"""The demo into a store: through the real importer, once, then its agencies' reports of 2024."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from demo.agencies import BORDER_GUARD, JUSTICE, LABOUR, POLICE, WOMEN, YOUTH
from demo.files import TABLES
from geo.ingest import DEMO_SOURCE, Places, import_file
from geo.store.schema import RECORD_TABLES

__all__ = ["file_reports", "import_demo"]

#: The agencies that report to the Standing Office, as the plan tay_ninh_2024 names them.
_REPORTERS = {
    POLICE: "Công an tỉnh",
    BORDER_GUARD: "Bộ Chỉ huy Bộ đội Biên phòng tỉnh",
    LABOUR: "Sở Lao động - Thương binh và Xã hội",
    JUSTICE: "Sở Tư pháp",
    WOMEN: "Hội Liên hiệp Phụ nữ tỉnh",
    YOUTH: "Tỉnh Đoàn",
}
#: The spans of figures each reporting agency sent in 2024 and the day each was received
#: (on time for the six months, before 01/6; the campaign, before 05/8; the year, before
#: 01/12), and the parts some agencies sent late: agency → {span index: day received}.
_REPORTS_2024 = (
    (dt.date(2024, 1, 1), dt.date(2024, 3, 31), dt.date(2024, 4, 3)),
    (dt.date(2024, 4, 1), dt.date(2024, 5, 31), dt.date(2024, 5, 31)),
    (dt.date(2024, 6, 1), dt.date(2024, 8, 4), dt.date(2024, 8, 4)),
    (dt.date(2024, 8, 5), dt.date(2024, 11, 30), dt.date(2024, 11, 30)),
    (dt.date(2024, 12, 1), dt.date(2024, 12, 31), dt.date(2025, 1, 6)),
)
_LATE_2024 = {
    LABOUR: {2: dt.date(2024, 8, 12)},  # the campaign's report, 8 days late
    JUSTICE: {1: dt.date(2024, 6, 7)},  # the six months', 7 days late
    YOUTH: {3: dt.date(2024, 12, 9)},  # the year's, 9 days late
}
#: The record tables whose rows an agency reports (models and population are loaded whole).
_REPORTED = ("incidents", "outreach")


def import_demo(folder: Path, store, settings) -> dict[str, int]:
    """Import the demo files of ``folder`` into ``store`` through the real importer.

    The demo goes in as users' files do (same reader, checks, commune
    placement, transaction), under the source :data:`geo.ingest.DEMO_SOURCE`
    that marks it synthetic everywhere it is shown. Earlier demo records are
    replaced; a store holding real records is refused, since real and
    synthetic records are never mixed.

    Returns
    -------
    dict
        Accepted rows per kind.

    Raises
    ------
    RuntimeError
        If the store holds real records, or a demo row is rejected (a bug:
        the demo is clean by construction).
    """
    real = {src: n for src, n in store.sources().items() if src != DEMO_SOURCE}
    if real:
        raise RuntimeError(
            f"the store holds real records ({real}); the synthetic demo is never mixed with "
            "real records"
        )
    with store.transaction() as tx:
        for table in RECORD_TABLES:
            tx.execute(f"DELETE FROM {table} WHERE source = ?", [DEMO_SOURCE])
    places = Places.load(settings)
    accepted = {}
    for name in TABLES:
        report = import_file(Path(folder) / f"{name}.csv", name, store, places,
                             source=DEMO_SOURCE, strict=True)
        if report.status != "committed":
            raise RuntimeError(f"demo {name} rejected rows: {report.summary_lines('en')[:6]}")
        accepted[name] = report.accepted
    file_reports(store, DEMO_SOURCE)
    return accepted


def file_reports(store, source: str) -> None:
    """Write the agencies' reports of 2024 (:data:`_REPORTS_2024`) over the imported demo.

    Importing each report through the importer would cost half a second each (about
    fifty of them): the records, imported once, are handed instead to one import row
    per report (its agency, the day it was received, the records it brought), as if
    each report had been its own file. Reports are written in the order received.
    """
    reports = []
    for agency, reporter in _REPORTERS.items():
        late = _LATE_2024.get(agency, {})
        for i, (first, last, received) in enumerate(_REPORTS_2024):
            reports.append((late.get(i, received), reporter, agency, first, last))
    now = dt.datetime.now(dt.timezone.utc)
    with store.transaction() as tx:
        for received, reporter, agency, first, last in sorted(reports):
            for kind in _REPORTED:
                import_id = tx.new_import({
                    "kind": kind, "source": source,
                    "file_name": f"bao-cao-{kind}-{first:%Y%m%d}-{last:%Y%m%d}.csv",
                    "checksum": "", "started_at": now, "finished_at": now, "rows_read": 0,
                    "accepted": 0, "duplicates": 0, "rejected": 0, "status": "committed",
                    "strict": True, "agency": reporter, "received_on": received,
                })
                where = (f"FROM {kind} WHERE source = ? AND agency = ? AND date >= ? "
                         "AND date <= ?")
                params = [source, agency, first, last]
                tx.execute(f"UPDATE imports SET rows_read = (SELECT COUNT(*) {where}), "
                           f"accepted = (SELECT COUNT(*) {where}) WHERE id = ?",
                           [*params, *params, import_id])
                tx.execute(f"UPDATE {kind} SET import_id = ? WHERE source = ? AND agency = ? "
                           "AND date >= ? AND date <= ?", [import_id, *params])
