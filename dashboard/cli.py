"""The ``borderwatch`` command: serve the dashboard, make the demo data, import boundaries.

Examples
--------
borderwatch serve                      # the dashboard on http://127.0.0.1:8050
borderwatch serve --host 0.0.0.0 --port 8080 --lang en
borderwatch serve --workers 4          # production: gunicorn, 4 worker processes
borderwatch demo                       # (re)generate the synthetic demo dataset
borderwatch boundaries import xa.shp --crs VN2000-TM3-105.5
borderwatch units --set legacy         # list the registry's units
borderwatch gates                      # list the border gates and how each is placed
borderwatch import incidents vu_viec.xlsx --source "BĐBP" [--strict] [--json]
borderwatch template incidents mau_vu_viec.xlsx
borderwatch rejects [--import ID]      # rows kept in quarantine, with their reasons
borderwatch report --quarter 2025Q3 --out bao_cao_quy.pdf   # the committee's quarterly PDF
borderwatch report --format docx --year 2024 --out bao_cao_2024.docx  # the Word report
borderwatch report --format pdf-docx --year 2024 --out bao_cao_2024.pdf  # ... as PDF
borderwatch import outreach tt_q3.xlsx --source "Sở Tư pháp" --received 02/10/2024
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from geo.config import Settings
from dashboard.auth.roles import ROLES
from dashboard.serving import ensure_demo, limit_malloc_arenas, serving_accounts
from geo.units import NEW, OLD

__all__ = ["build_parser", "main"]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        database_url=getattr(args, "database_url", None),
        language=getattr(args, "lang", None),
        unit_set=getattr(args, "units", None),
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.app import create_app
    from dashboard.context import build_context

    settings = _settings(args)
    limit_malloc_arenas()
    if not args.no_demo:
        ensure_demo(settings)
    if args.workers > 1:  # the production server: gunicorn, one app per worker process
        from dashboard.wsgi import serve_workers

        return serve_workers(settings, host=args.host, port=args.port, workers=args.workers,
                             demo=not args.no_demo)
    ctx = build_context(settings)
    accounts = serving_accounts(settings, demo=ctx.source == "demo")
    if accounts is None:
        return 2
    app = create_app(settings, ctx, accounts)
    print(f"Borderwatch: http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    app.run(host=args.host, port=args.port, debug=False, threaded=True)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    """From stdin with ``--password-stdin`` (scripts), else asked twice without echo."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("the two passwords differ")
    return first


def _cmd_users(args: argparse.Namespace) -> int:
    """Accounts of the data folder: add, role, password, disable, enable, list."""
    from dashboard.auth.accounts import accounts_of
    from dashboard.auth.accounts import AccountError

    accounts = accounts_of(_settings(args))
    try:
        if args.action == "add":
            accounts.create_user(args.name, _read_password(args), args.role)
            accounts.audit("user_added", username="(cli)", target=args.name, detail=args.role)
        elif args.action == "role":
            accounts.set_role(args.name, args.role)
            accounts.audit("role_set", username="(cli)", target=args.name, detail=args.role)
        elif args.action == "password":
            accounts.set_password(args.name, _read_password(args))
            accounts.audit("password_set", username="(cli)", target=args.name)
        elif args.action in ("disable", "enable"):
            accounts.disable(args.name, args.action == "disable")
            accounts.audit(f"user_{args.action}d", username="(cli)", target=args.name)
        else:
            for u in accounts.users():
                flags = " ".join(f for f, on in (("demo", u["demo"]), ("disabled", u["disabled"]))
                                 if on)
                print(f"{u['username']}\t{u['role']}\t{u['created'][:10]}\t{flags}".rstrip())
            return 0
    except AccountError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("ok")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    """The latest audit entries (who viewed, exported, imported, signed in, and when)."""
    from dashboard.auth.accounts import accounts_of

    rows = accounts_of(_settings(args)).audit_log(limit=args.limit, username=args.user,
                                                   action=args.action)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print("\t".join(str(r[k] or "") for k in ("at", "username", "role", "action",
                                                      "target", "detail", "address")))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    out = ensure_demo(settings, seed=args.seed, force=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    print(f"Synthetic demo data written to {out}")
    print(json.dumps(manifest, ensure_ascii=False, indent=2))
    return 0


def _cmd_boundaries_import(args: argparse.Namespace) -> int:
    from geo.boundary_import import BoundaryImportError, import_boundaries

    settings = _settings(args)
    try:
        report = import_boundaries(
            Path(args.file),
            settings,
            args.set,
            code_field=args.code_field,
            name_field=args.name_field,
            district_field=args.district_field,
            crs=args.crs,
            layer=args.layer,
            allow_missing=args.allow_missing,
        )
    except BoundaryImportError as err:
        print(f"error: {err}", file=sys.stderr)
        if err.report is not None:
            print("\n".join(err.report.summary_lines()), file=sys.stderr)
        return 2
    print("\n".join(report.summary_lines()), flush=True)
    _keep_for_start(settings, "shapes")
    return 0


def _progress(rows: int) -> None:
    print(f"... {rows:,} rows read".replace(",", "."), file=sys.stderr, flush=True)


def _close_demo_accounts(settings: Settings):
    """Before a real import commits: the demo accounts close (their password is published)."""
    from dashboard.auth.accounts import accounts_of

    def before_commit(report) -> None:
        if report.status == "committed" and report.accepted:  # real records are written
            for name in accounts_of(settings).close_demo_accounts():
                print(f"Demo account {name} closed: the store holds real records.",
                      file=sys.stderr, flush=True)

    return before_commit


def _cmd_import(args: argparse.Namespace) -> int:
    from dashboard.i18n import translate
    from geo.ingest import DEMO_SOURCE, FileRefused, Places, import_file, kind_named
    from geo.store import StoreError, open_store

    settings = _settings(args)
    lang = settings.language
    try:
        kind = kind_named(args.kind)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.source.strip().casefold() == DEMO_SOURCE:  # only the demo package writes the demo
        message = translate("cli.demo_source", lang)
        if args.json:
            print(json.dumps({"status": "refused", "file": str(args.file),
                              "reason": "source.reserved", "message": message},
                             ensure_ascii=False, indent=2))
        else:
            print(translate("cli.error", lang, message=message), file=sys.stderr)
        return 2
    try:
        received = (dt.datetime.strptime(args.received.strip(), "%d/%m/%Y").date()
                    if args.received else None)
        if received is not None and received > dt.date.today():
            raise ValueError
    except ValueError:
        print(translate("cli.error", lang, message=translate(
            "cli.bad_received", lang, value=repr(args.received))), file=sys.stderr)
        return 2
    try:
        with open_store(settings) as store:
            report = import_file(
                Path(args.file), kind, store, Places.load(settings), source=args.source,
                agency=args.agency, received_on=received, strict=args.strict, rejects_dir=settings.data_dir / "rejects",
                progress=None if args.quiet else _progress,
                before_commit=_close_demo_accounts(settings),
            )
    except FileRefused as err:
        if args.json:
            print(json.dumps({"status": "refused", "file": str(args.file), "reason": err.code,
                              "message": err.describe(lang)}, ensure_ascii=False, indent=2))
        else:
            print(translate("cli.error", lang, message=err.describe(lang)), file=sys.stderr)
        return 2
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(report.to_dict(lang), ensure_ascii=False, indent=2), flush=True)
    else:
        print("\n".join(report.summary_lines(lang)), flush=True)
    if report.status == "committed":
        _keep_for_start(settings, "records", quiet=args.quiet)
    return 0 if report.status == "committed" else 1


def _keep_for_start(settings: Settings, what: str, *, quiet: bool = False) -> None:
    """After an import has committed: what the dashboard's next start would otherwise make
    from it, made now and kept in the cache folder — ``"records"`` (the records of the new
    revision, :func:`dashboard.records.keep_records`: seconds for a million, instead of a
    store read at the start) or ``"shapes"`` (the new communes' screen GeoJSON,
    :func:`dashboard.context.keep_screen_shapes`). A failure here loses nothing (the import
    is committed; the server makes them itself): it is told, not raised."""
    from dashboard.i18n import format_number, translate

    began = time.perf_counter()
    try:
        if what == "records":
            from dashboard.records import keep_records

            keep_records(settings)
        else:
            from dashboard.context import keep_screen_shapes

            keep_screen_shapes(settings)
    except Exception as err:  # noqa: BLE001 — the import is committed whatever happens here
        print(translate(f"cli.{what}_not_kept", settings.language, detail=str(err)),
              file=sys.stderr, flush=True)
        return
    if not quiet:
        seconds = format_number(time.perf_counter() - began, settings.language, 1)
        print(translate(f"cli.{what}_kept", settings.language, seconds=seconds),
              file=sys.stderr, flush=True)


def _cmd_template(args: argparse.Namespace) -> int:
    """Write the import template of a kind, its lists from the registry of the data folder's
    boundaries (:func:`geo.units.registry_covering`), as the server's download has them:
    an import resolves with that registry, and the population template stops any code
    off its list."""
    from geo.boundaries import load_communes
    from geo.ingest import kind_named
    from geo.ingest.template import write_template
    from geo.units import registry_covering

    settings = _settings(args)
    try:
        kind = kind_named(args.kind)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    registry = registry_covering(load_communes(settings, NEW).index)
    out = write_template(kind.name, Path(args.out), registry, lang=settings.language)
    print(out)
    return 0


def _cmd_rejects(args: argparse.Namespace) -> int:
    from dashboard.i18n import translate
    from geo.ingest import describe
    from geo.store import StoreError, open_store

    settings = _settings(args)
    try:
        with open_store(settings) as store:
            table = store.quarantine(args.import_id)
            imports = store.imports().set_index("id")
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    if args.json:
        rows = table.drop(columns=["raw"]).to_dict("records")
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    if table.empty:
        print(translate("cli.no_rejects", settings.language))
        return 0
    for row in table.itertuples():
        text = describe(row.reason, settings.language, **json.loads(row.detail or "{}"))
        file_name = imports.at[row.import_id, "file_name"] if row.import_id in imports.index else ""
        sug = f" → {row.suggestion}" if row.suggestion else ""
        print(f"#{row.import_id} {file_name} ({row.kind}) row {row.row_number}"
              f"{' [' + row.column_name + ']' if row.column_name else ''}: {text}{sug}")
    return 0


def _report_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD or dd/mm/yyyy."""
    for parse in (dt.date.fromisoformat, lambda t: dt.datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text.strip())
        except ValueError:
            continue
    raise ValueError(text)


def _report_period(args: argparse.Namespace, lang: str) -> tuple[dt.date, dt.date] | None:
    """The period asked for (None: the latest complete quarter); ValueError with the message."""
    from layers.periods import parse_quarter
    from dashboard.i18n import translate

    given = [f"--{k}" for k in ("quarter", "half", "year", "campaign", "start")
             if getattr(args, k, None) is not None]
    if len(given) > 1:
        raise ValueError("choose one period: " + ", ".join(given))
    if args.quarter is not None:
        try:
            return parse_quarter(args.quarter)
        except ValueError:
            raise ValueError(translate("report.cli.bad_quarter", lang, value=args.quarter)) from None
    named = {k: getattr(args, k, None) for k in ("half", "year", "campaign")}
    if any(v is not None for v in named.values()):  # 6 months, a year, the 01/7-30/9 campaign
        from dashboard.exports.report_text import report_period

        period = report_period(**named)
        return period.start, period.end
    if args.start is None and args.end is None:
        return None
    if args.start is None or args.end is None:
        raise ValueError(translate("report.cli.both", lang))
    dates = []
    for text in (args.start, args.end):
        try:
            dates.append(_report_date(text))
        except ValueError:
            raise ValueError(translate("report.cli.bad_date", lang, value=text)) from None
    start, end = dates
    if end < start:
        raise ValueError(translate("report.cli.order", lang, start=args.start, end=args.end))
    return start, end


def _cmd_report(args: argparse.Namespace) -> int:
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.exports.report import quarterly_report, report_title
    from dashboard.exports.chromium import ChromiumNotFound
    from dashboard.i18n import format_number, translate
    from dashboard.period_filter import data_period
    from geo.store import StoreError
    from layers.periods import latest_complete_quarter, parse_quarter

    args.units = {"new": NEW, "old": OLD}.get(args.units, args.units)
    settings = _settings(args)
    lang = settings.language
    try:
        period = _report_period(args, lang)
    except ValueError as err:
        print(translate("cli.error", lang, message=err), file=sys.stderr)
        return 2
    began = time.monotonic()
    try:
        ensure_demo(settings)
        ctx = build_context(settings)
        if period is None:
            _, last = data_period(ctx)
            period = parse_quarter(latest_complete_quarter(last, ctx.extracted))
        start, end = period
        an = Analyses(ctx)  # the command's one cache of layers (no server: none to share)
        if getattr(args, "format", "pdf") in ("docx", "pdf-docx"):  # the Standing Office's
            from dashboard.exports.report_docx import report_docx
            from dashboard.exports.report_text import report_period

            named = {k: getattr(args, k, None) for k in ("quarter", "half", "year", "campaign")}
            named = named if any(v is not None for v in named.values()) else {
                "start": start, "end": end}
            asked = report_period(**named)
            pdf = report_docx(ctx, an, period=asked, unit_set=settings.unit_set,
                              lang=lang)
            if args.format == "pdf-docx":  # the same document, as LibreOffice prints it
                from dashboard.exports.docx_pdf import docx_to_pdf

                pdf = docx_to_pdf(pdf)
            title = translate("report.docx.footer", lang, period=asked.phrase(lang))
        else:
            # no server to come back to: the forecast is built here if not on disk yet
            pdf = quarterly_report(ctx, an, start=start, end=end,
                                   unit_set=settings.unit_set, lang=lang, forecast_wait=None)
            title = report_title(start, end, lang)
    except StoreError as err:
        print(translate("cli.error", lang, message=err), file=sys.stderr)
        return 3
    except ChromiumNotFound as err:
        print(translate("cli.error", lang, message=err), file=sys.stderr)
        return 1
    except RuntimeError as err:  # LibreOffice missing or failing (pdf-docx)
        from dashboard.exports.docx_pdf import LibreOfficeNotFound

        if not isinstance(err, LibreOfficeNotFound):
            raise
        print(translate("cli.error", lang, message=err), file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    print(translate("report.cli.written", lang, path=out, title=title,
                    size=format_number(len(pdf) / 1024, lang),
                    seconds=format_number(time.monotonic() - began, lang, 1)))
    return 0


def _cmd_units(args: argparse.Namespace) -> int:
    from geo.units import load_registry

    units = load_registry().units(args.set)
    cols = ["name", "district", "new_code"] if args.set == OLD else ["name", "kind", "area_km2"]
    print(units[cols].to_csv(sep="\t"), end="")
    return 0


def _cmd_gates(args: argparse.Namespace) -> int:
    from geo.gates import load_gates

    gates = load_gates(_settings(args))
    gates["lon"] = gates.geometry.x.round(5)
    gates["lat"] = gates.geometry.y.round(5)
    cols = ["name", "gate_class", "commune", "new_code", "position", "lat", "lon", "blo",
            "counterpart"]
    print(gates[cols].to_csv(sep="\t", index=False), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="borderwatch",
        description="Anti-trafficking monitoring dashboard for Tây Ninh province.",
    )
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: $BORDERWATCH_DATA_DIR or ./var)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL/PostGIS URL (default: $BORDERWATCH_DATABASE_URL; "
                             "none: the embedded store in the data folder)")
    parser.add_argument("--lang", dest="lang", choices=["vi", "en"], default=None,
                        help="language of messages (default: $BORDERWATCH_LANG or vi)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--lang", choices=["vi", "en"], default=argparse.SUPPRESS)
    serve.add_argument("--units", choices=[NEW, OLD], default=None,
                       help="unit set shown first (default 2025)")
    serve.add_argument("--no-demo", action="store_true",
                       help="do not generate the synthetic demo data when it is missing")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="N > 1: run gunicorn with N worker processes (production); "
                            "default 1: the development server")
    serve.set_defaults(func=_cmd_serve)

    demo = sub.add_parser("demo", help="(re)generate the synthetic demo dataset")
    demo.add_argument("--seed", type=int, default=None)
    demo.set_defaults(func=_cmd_demo)

    bnd = sub.add_parser("boundaries", help="official boundary files")
    bsub = bnd.add_subparsers(dest="action", required=True)
    imp = bsub.add_parser("import", help="import commune boundaries (SHP, GPKG, GeoJSON)")
    imp.add_argument("file")
    imp.add_argument("--set", choices=[NEW, OLD], default=NEW, help="unit set of the file")
    imp.add_argument("--crs", default=None,
                     help="CRS when the file has none: EPSG code, PROJ string, or "
                          "VN2000-TM3-105.5 / VN2000-TM3-105.75 / VN2000-UTM48")
    imp.add_argument("--layer", default=None, help="layer of a GeoPackage")
    imp.add_argument("--code-field", default=None)
    imp.add_argument("--name-field", default=None)
    imp.add_argument("--district-field", default=None)
    imp.add_argument("--allow-missing", action="store_true",
                     help="accept a file that lacks some registry units")
    imp.set_defaults(func=_cmd_boundaries_import)

    units = sub.add_parser("units", help="list the registry's units")
    units.add_argument("--set", choices=[NEW, OLD], default=NEW)
    units.set_defaults(func=_cmd_units)

    kinds = ["incidents", "outreach", "models", "population"]
    imp_rec = sub.add_parser("import", help="import records (CSV, XLSX, GeoJSON), all or nothing")
    imp_rec.add_argument("kind", help="one of: " + ", ".join(kinds))
    imp_rec.add_argument("file")
    imp_rec.add_argument("--source", default="default",
                         help="who issued the record ids (agency or system); ids are unique "
                              "within a source")
    imp_rec.add_argument("--agency", default=None,
                         help="the agency whose report the file carries (default: the source)")
    imp_rec.add_argument("--received", default=None, metavar="DD/MM/YYYY",
                         help="the day the report was received (default: today)")
    imp_rec.add_argument("--strict", action="store_true",
                         help="refuse the whole file if any row is rejected")
    imp_rec.add_argument("--json", action="store_true", help="print the report as JSON")
    imp_rec.add_argument("--quiet", action="store_true", help="no progress lines")
    imp_rec.set_defaults(func=_cmd_import)

    tpl = sub.add_parser("template", help="write an XLSX template with drop-down lists")
    tpl.add_argument("kind", help="one of: " + ", ".join(kinds))
    tpl.add_argument("out")
    tpl.set_defaults(func=_cmd_template)

    rej = sub.add_parser("rejects", help="list the rows kept in quarantine")
    rej.add_argument("--import", dest="import_id", type=int, default=None)
    rej.add_argument("--json", action="store_true")
    rej.set_defaults(func=_cmd_rejects)

    rep = sub.add_parser("report", help="the quarterly report for the steering committee (PDF)")
    rep.add_argument("--quarter", default=None,
                     help="e.g. 2025Q3 (default: the latest complete quarter of the data)")
    rep.add_argument("--half", default=None,
                     help="6 months: 2025H1 (6 tháng đầu năm) or 2025H2")
    rep.add_argument("--year", default=None, help="a calendar year, e.g. 2024")
    rep.add_argument("--campaign", default=None,
                     help="the peak campaign of a year, 01/7-30/9, e.g. 2024")
    rep.add_argument("--format", choices=["pdf", "docx", "pdf-docx"], default="pdf",
                     help="pdf: the committee's report; docx: the Standing Office's report "
                          "in Word (Vietnamese, Decree 30 layout); pdf-docx: that Word "
                          "report as PDF (converted by LibreOffice, which must be installed)")
    rep.add_argument("--start", default=None, help="first day, YYYY-MM-DD (with --end)")
    rep.add_argument("--end", default=None, help="last day, YYYY-MM-DD (with --start)")
    rep.add_argument("--units", choices=[NEW, OLD, "new", "old"], default=None,
                     help="communes of the maps and lists: 2025/new (default) or legacy/old")
    rep.add_argument("--lang", choices=["vi", "en"], default=argparse.SUPPRESS)
    rep.add_argument("--out", required=True, help="the PDF (or DOCX) file to write")
    rep.set_defaults(func=_cmd_report)

    users = sub.add_parser("users", help="accounts: add, role, password, disable, enable, list")
    usub = users.add_subparsers(dest="action", required=True)
    for action, help_ in (("add", "create a user"), ("role", "change a user's role"),
                          ("password", "set a user's password"), ("disable", "stop a user"),
                          ("enable", "allow a stopped user again"), ("list", "list users")):
        cmd = usub.add_parser(action, help=help_)
        if action != "list":
            cmd.add_argument("name")
        if action in ("add", "role"):
            cmd.add_argument("--role", required=True, choices=list(ROLES))
        if action in ("add", "password"):
            cmd.add_argument("--password-stdin", action="store_true",
                             help="read the password from standard input (scripts)")
    users.set_defaults(func=_cmd_users)

    aud = sub.add_parser("audit", help="the audit log: who viewed, exported, imported what")
    aud.add_argument("--limit", type=int, default=50)
    aud.add_argument("--user", default=None)
    aud.add_argument("--action", default=None,
                     help="view, export, import, sign_in, sign_in_failed, refused, …")
    aud.add_argument("--json", action="store_true")
    aud.set_defaults(func=_cmd_audit)

    gates = sub.add_parser("gates", help="list the border gates")
    gates.set_defaults(func=_cmd_gates)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
