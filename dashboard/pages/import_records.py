"""Import page (Nhập dữ liệu): upload a file, see what would be accepted and refused, confirm.

For a planner with a spreadsheet from an agency: the file is checked by the
real importer in preview mode (nothing written), the page lists the rows
that would be refused with the reason in the reader's language and a
suggestion, and a button commits the import (all or nothing). The uploaded
file waits in the data folder's ``uploads`` while its preview awaits
confirmation; a refused one is deleted at once.

An import teaches nothing its account may not read, checked on the server in
each callback (the page's choices are only a convenience):

- a role imports only the kinds it may read (:func:`dashboard.auth.roles.may_import`:
  incidents only for the commander);
- an account imports only under sources it owns (:mod:`dashboard.auth.sources`),
  so the duplicate check compares its rows only with records it wrote itself;
- the note that real records replace the demo carries no count.

The first real import replaces the synthetic demo only after an explicit
confirmation (a box saying what will happen), and closes the demo accounts
before its transaction commits. Every preview, import and refusal is written
to the audit log with the file's name, SHA-256, kind, source and counts.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import ids
from dashboard.auth.roles import importable_kinds, may_import
from dashboard.auth.sources import SourceOwners, SourceRefused
from dashboard.auth.web import current_session
from dashboard.inputs import choice, choices, text
from dashboard.context import AppContext
from dashboard.i18n import choice_label, format_date, format_number, known_language, translate
from geo.ingest import DEMO_SOURCE, KINDS, FileRefused, import_file
from geo.ingest.file_checks import UPLOAD_LIMITS
from geo.ingest.readers import SUFFIXES
from geo.store import StoreError, open_store

__all__ = ["MAX_UPLOAD_MB", "PATH", "layout", "register_callbacks", "template_url"]

PATH = "/import"
#: Larger files go through ``borderwatch import`` on the server (the browser holds uploads
#: in memory as base64).
MAX_UPLOAD_MB = UPLOAD_LIMITS.max_bytes // (1024 * 1024)
_PREVIEW_ROWS = 200
_STALE_SECONDS = 24 * 3600
#: The box that says what replacing the synthetic demo does, and its "I understand".
DEMO_BOX = "import-demo-box"
REPLACE_DEMO = "import-replace-demo"


def template_url(kind: str, lang: str) -> str:
    """Where the XLSX template of ``kind`` is served."""
    return f"/template/{kind}.xlsx?lang={lang}"


def _accounts(ctx: AppContext):
    """The accounts file of the data folder (users, audit log, owners of sources)."""
    from dashboard.auth.accounts import accounts_of

    return accounts_of(ctx.settings)


def _default_source(owners: SourceOwners, session) -> str:
    """A source the account owns, else its user name (claimed at its first import)."""
    if session is None:
        return "default"
    owned = owners.owned_by(session.username)
    return owned[0] if owned else session.username


def layout(ctx: AppContext, lang: str) -> list:
    """The page body: choices on the left, the upload and its preview on the right.

    Only the kinds the signed-in role may import are offered, and the source
    field starts with one the account owns.
    """
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    session = current_session()
    kinds = importable_kinds(session.role if session else None, KINDS) or tuple(KINDS)
    owners = SourceOwners(_accounts(ctx))
    owned = owners.owned_by(session.username) if session else []
    side = html.Aside(
        [
            html.Label(t("import.kind"), htmlFor=ids.IMPORT_KIND),
            dcc.RadioItems(
                id=ids.IMPORT_KIND,
                options=[{"label": t(f"import.kind.{k}"), "value": k} for k in kinds],
                value=kinds[0],
                className="radio",
            ),
            html.Label(t("import.source"), htmlFor=ids.IMPORT_SOURCE),
            dcc.Input(id=ids.IMPORT_SOURCE, type="text", value=_default_source(owners, session),
                      debounce=True, maxLength=80),
            *([html.P(t("import.source_hint", sources=", ".join(owned)), className="hint")]
              if owned else []),
            html.Label(t("import.agency"), htmlFor=ids.IMPORT_AGENCY),
            dcc.Input(id=ids.IMPORT_AGENCY, type="text", debounce=True, maxLength=200,
                      placeholder=t("import.agency_hint")),
            html.Label(t("import.received"), htmlFor=ids.IMPORT_RECEIVED),
            dcc.DatePickerSingle(id=ids.IMPORT_RECEIVED, display_format="DD/MM/YYYY",
                                 first_day_of_week=1, max_date_allowed=dt.date.today(),
                                 placeholder=t("import.received_hint"), clearable=True),
            dcc.Checklist(id=ids.IMPORT_STRICT,
                          options=[{"label": t("import.strict"), "value": "strict"}], value=[],
                          className="checklist"),
            html.A(t("import.template"), id=ids.IMPORT_TEMPLATE,
                   href=template_url(kinds[0], lang), className="button-link"),
        ],
        className="filters",
    )
    main = html.Section(
        [
            html.H2(t("import.title")),
            html.P(t("import.hint"), className="hint"),
            dcc.Upload(
                id=ids.IMPORT_UPLOAD,
                children=html.Div(t("import.drop")),
                accept=",".join(SUFFIXES),
                max_size=MAX_UPLOAD_MB * 1024 * 1024,
                multiple=False,
                className="upload",
            ),
            dcc.Loading(html.Div(id=ids.IMPORT_PREVIEW)),
            html.Div(
                [
                    html.P(t("import.demo_replace.title")),
                    html.Ul([html.Li(t(f"import.demo_replace.{k}"))
                             for k in ("delete", "close", "accounts")]),
                    dcc.Checklist(id=REPLACE_DEMO, value=[], className="checklist",
                                  options=[{"label": t("import.demo_replace.agree"),
                                            "value": "replace"}]),
                ],
                id=DEMO_BOX, hidden=True, className="note", role="note",
            ),
            html.Div(
                [
                    html.Button(t("import.confirm", n=0), id=ids.IMPORT_CONFIRM, disabled=True,
                                className="primary"),
                    html.Button(t("import.cancel"), id=ids.IMPORT_CANCEL, disabled=True),
                ],
                className="actions",
            ),
            dcc.Loading(html.Div(id=ids.IMPORT_RESULT, role="status")),
            dcc.Store(id=ids.IMPORT_PENDING),
        ],
        className="main-panel import-panel",
    )
    return [side, main, dcc.Store(id=ids.PAGE_LANG, data=lang)]


# -- uploads ------------------------------------------------------------------------------


def _uploads(ctx: AppContext) -> Path:
    folder = ctx.settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # forgotten previews
        if time.time() - old.stat().st_mtime > _STALE_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def _decode_upload(contents: str, filename: str) -> bytes:
    """The bytes of the browser's data URL; :class:`FileRefused` for a suffix we do not read
    or a damaged upload."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise FileRefused("file.format", suffix=suffix or str(filename))
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        raise FileRefused("file.unreadable", file=filename, error="upload damaged") from None


def _save_upload(ctx: AppContext, data: bytes, filename: str) -> Path:
    """Write an upload to a file named by a random token (not the user's name)."""
    path = _uploads(ctx) / f"{secrets.token_hex(12)}{Path(filename).suffix.lower()}"
    path.write_bytes(data)
    return path


def _pending_path(ctx: AppContext, pending: dict | None) -> Path | None:
    """The waiting upload of ``pending``, only if it is one of ours (a token, not a path)."""
    if not isinstance(pending, dict) or not isinstance(pending.get("token"), str):
        return None
    token = Path(pending["token"]).name
    path = ctx.settings.data_dir / "uploads" / token
    return path if path.is_file() and token == pending["token"] else None


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- who may import what -----------------------------------------------------------------------


class _Refused(Exception):
    """An import this account may not make: ``message`` for the page, ``reason`` for the
    audit log."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _check_rights(owners: SourceOwners, session, kind: str, source: str, stored,
                  lang: str) -> None:
    """:class:`_Refused` unless the account may import ``kind`` under ``source``."""
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    if session is None or kind not in KINDS or not may_import(session.role, kind):
        name = t(f"import.kind.{kind}") if kind in KINDS else kind
        raise _Refused("kind", t("import.kind_refused", kind=name))
    try:
        owners.check(source, session.username, stored=stored)
    except SourceRefused as err:
        raise _Refused(f"source_{err.code}", _source_message(owners, session, err, lang)) \
            from None


def _source_message(owners: SourceOwners, session, err: SourceRefused, lang: str) -> str:
    if err.code == "reserved":
        return translate("import.source_reserved", lang, source=err.source)
    return translate("import.source_taken", lang, source=err.source,
                     own=_default_source(owners, session))


def _pending_of(kind, source, strict, filename, agency=None, received=None) -> dict:
    """What a preview or confirm asks for, read as the server accepts it (a received day
    that is not a past day is dropped: the import records today's)."""
    return {"kind": choice(kind, tuple(KINDS), ""),
            "source": text(source, "default").strip()[:80] or "default",
            "strict": "strict" in choices(strict, ("strict",)) if isinstance(strict, list)
            else strict is True,
            "filename": text(filename, "", length=255),
            "agency": " ".join(text(agency, "", length=200).split()) or None,
            "received": _received(received)}


def _received(value) -> str | None:
    """A past day (ISO) from the date picker's value, else ``None``."""
    try:
        day = dt.date.fromisoformat(text(value, "", length=10))
    except ValueError:
        return None
    return day.isoformat() if day <= dt.date.today() else None


# -- the audit log ------------------------------------------------------------------------------


def _audit(accounts, action: str, session, pending: dict, *, sha256: str = "",
           report=None, status: str = "", reason: str = "") -> None:
    """One audit row per preview, import and refusal, with what was asked and what came out."""
    from flask import request

    detail = {"kind": pending.get("kind"), "source": pending.get("source"),
              "sha256": report.checksum if report is not None else sha256,
              "rows_read": report.rows_read if report is not None else 0,
              "accepted": report.accepted if report is not None else 0,
              "duplicates": report.duplicates if report is not None else 0,
              "rejected": report.rejected if report is not None else 0,
              "status": status or (report.status if report is not None else "")}
    for key in ("agency", "received"):  # whose report, and when it came: when named
        if pending.get(key):
            detail[key] = pending[key]
    if reason:
        detail["reason"] = reason
    try:
        address = request.remote_addr or ""
    except RuntimeError:
        address = ""
    accounts.audit(
        action, username=session.username if session else None,
        role=session.role if session else None, target=pending.get("filename") or "",
        detail=json.dumps(detail, ensure_ascii=False), address=address)


# -- what the page shows ---------------------------------------------------------------------


def _counts(report, lang: str) -> html.Div:
    cards = [("import.rows_read", report.rows_read), ("import.accepted", report.accepted),
             ("import.duplicates", report.duplicates), ("import.rejected", report.rejected)]
    return html.Div(
        [html.Div([html.Div(translate(k, lang), className="kpi-label"),
                   html.Div(format_number(v, lang), className="kpi-value",
                            **{"data-count": k.split(".")[1]})], className="kpi")
         for k, v in cards],
        className="kpis",
    )


def _table(frame: pd.DataFrame, headers: list[str], class_name: str) -> html.Table:
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in headers])),
         html.Tbody([html.Tr([html.Td("" if v is None or v != v else str(v)) for v in row])
                     for row in frame.itertuples(index=False, name=None)])],
        className=class_name,
    )


def _rejects_table(report, lang: str) -> list:
    if not len(report.rejects):
        return []
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    table = report.reject_table(lang)
    fields = {f.name: f.header_vi for f in KINDS[report.kind].fields}
    if lang == "vi":
        table["column_name"] = table["column_name"].map(lambda c: fields.get(c, c))
    shown = table.head(_PREVIEW_ROWS)[["row_number", "record_id", "column_name", "value",
                                       "reason_text", "suggestion"]]
    parts = [html.H3(t("import.rejects_title")),
             _table(shown, [t("import.col.row"), t("import.col.record_id"), t("import.col.column"),
                            t("import.col.value"), t("import.col.reason"),
                            t("import.col.suggestion")], "rejects")]
    if len(table) > _PREVIEW_ROWS:
        parts.append(html.P(t("import.more", n=format_number(len(table) - _PREVIEW_ROWS, lang))))
    return parts


def _sample_table(ctx: AppContext, report, lang: str) -> list:
    sample = report.sample
    if sample is None or not len(sample):
        return []
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    names = ctx.registry.communes["name"]
    date_col = next((c for c in ("date", "start_date") if c in sample), None)
    kind_col = next((c for c in ("type", "format", "model_type") if c in sample), None)
    frame = pd.DataFrame({
        "record_id": sample.get("record_id", pd.Series("", index=sample.index)),
        "date": sample[date_col].map(lambda d: format_date(d.date(), lang) if d == d else "")
        if date_col else "",
        "kind": sample[kind_col].map(lambda c: choice_label(report.kind, kind_col, c, lang))
        if kind_col else sample.get("year", ""),
        "commune": sample["new_code"].map(lambda c: f"{names.get(c, c)} ({c})"),
    })
    return [html.H3(t("import.sample_title")),
            _table(frame.head(10), [t("import.col.record_id"), t("import.col.date"),
                                    t("import.col.kind"), t("import.col.commune")], "sample")]


def _replaces_demo(report) -> bool:
    return any(n.get("code") == "demo_replaced" for n in report.notes)


def _notes(report, lang: str) -> list:
    """The importer's notes; the demo's replacement said without the number of its records
    (a count of incidents is not for every role that imports)."""
    return [html.P(translate("import.demo_replace.note", lang)
                   if n.get("code") == "demo_replaced" else n.get(lang, n["en"]),
                   className="note") for n in report.notes]


def _preview(ctx: AppContext, report, lang: str) -> list:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    parts = [html.H3(t("import.preview", file=report.file_name)), _counts(report, lang)]
    if report.unknown_columns:
        parts.append(html.P(t("import.unknown_columns", columns=", ".join(report.unknown_columns)),
                            className="note"))
    parts += _notes(report, lang)
    return parts + _rejects_table(report, lang) + _sample_table(ctx, report, lang)


def _error(message: str, lang: str) -> html.Div:
    return html.Div(translate("import.error", lang, message=message), className="error",
                    role="alert")


def _run(ctx: AppContext, store, path: Path, pending: dict, *, preview: bool,
         before_commit=None):
    return import_file(
        path, pending["kind"], store, ctx.places,
        source=pending["source"], strict=pending["strict"], preview=preview,
        agency=pending.get("agency"),
        received_on=dt.date.fromisoformat(pending["received"]) if pending.get("received")
        else None,
        rejects_dir=None if preview else ctx.settings.data_dir / "rejects",
        display_name=pending["filename"], before_commit=before_commit, limits=UPLOAD_LIMITS,
    )


def _before_commit(accounts, owners: SourceOwners, session, source: str, stored):
    """What a confirmed import does just before its transaction commits: the account claims
    its source, and real records close the demo accounts (if either fails, nothing is
    written)."""

    def before_commit(report) -> None:
        if report.status != "committed" or not report.accepted:  # nothing written
            return
        owners.claim(source, session.username, stored=stored)
        accounts.close_demo_accounts()

    return before_commit


def _keep_records(ctx: AppContext) -> None:
    """After a committed import: the server reads the new records at once, in the
    background, and keeps them in the cache folder (:meth:`RecordCache.current
    <dashboard.records.RecordCache.current>`): the next page finds them loaded, and a
    restart or another worker loads them from that file instead of reading the store."""

    def read() -> None:
        try:
            ctx.records.current()
        except Exception:  # noqa: BLE001 — the next page reads the store and tells its error
            logging.getLogger("borderwatch").exception("records not read after the import")

    threading.Thread(target=read, name="records-after-import", daemon=True).start()


def register_callbacks(app: Dash, ctx: AppContext, on_import=None) -> None:
    """Upload → preview; confirm → import; cancel → forget the upload.

    ``on_import`` is called after every committed import (the app starts the new
    records' small-count release plan there, so the overview is ready sooner).
    """
    accounts = _accounts(ctx)
    owners = SourceOwners(accounts)

    @app.callback(Output(ids.IMPORT_TEMPLATE, "href"), Input(ids.IMPORT_KIND, "value"),
                  State(ids.PAGE_LANG, "data"))
    def template_link(kind, lang):
        return template_url(choice(kind, tuple(KINDS), "outreach"), known_language(lang))

    @app.callback(
        Output(ids.IMPORT_PREVIEW, "children"),
        Output(ids.IMPORT_PENDING, "data"),
        Output(ids.IMPORT_CONFIRM, "disabled"),
        Output(ids.IMPORT_CONFIRM, "children"),
        Output(ids.IMPORT_CANCEL, "disabled"),
        Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
        Output(DEMO_BOX, "hidden"),
        Output(REPLACE_DEMO, "value"),
        Input(ids.IMPORT_UPLOAD, "contents"),
        Input(ids.IMPORT_KIND, "value"),
        Input(ids.IMPORT_SOURCE, "value"),
        Input(ids.IMPORT_STRICT, "value"),
        Input(ids.IMPORT_AGENCY, "value"),
        Input(ids.IMPORT_RECEIVED, "date"),
        State(ids.IMPORT_UPLOAD, "filename"),
        State(ids.IMPORT_PENDING, "data"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def preview(contents, kind, source, strict, agency, received, filename, pending, lang):
        lang = known_language(lang)
        none = translate("import.confirm", lang, n=0)
        old = _pending_path(ctx, pending)
        if old is not None:
            old.unlink(missing_ok=True)
        if not contents or not isinstance(contents, str):
            return [], None, True, none, True, no_update, True, []
        session = current_session()
        pending = _pending_of(kind, source, strict, filename, agency, received)
        path, sha256 = None, ""

        def refused(message: str, reason: str):
            if path is not None:
                path.unlink(missing_ok=True)  # a refused upload does not stay on disk
            _audit(accounts, "import_refused", session, pending, sha256=sha256, status="refused",
                   reason=reason)
            return [_error(message, lang)], None, True, none, True, "", True, []

        try:
            data = _decode_upload(contents, pending["filename"])
            sha256 = hashlib.sha256(data).hexdigest()
            with open_store(ctx.settings) as store:
                _check_rights(owners, session, pending["kind"], pending["source"],
                              store.sources(), lang)
                path = _save_upload(ctx, data, pending["filename"])
                pending["token"] = path.name
                report = _run(ctx, store, path, pending, preview=True)
        except _Refused as err:
            return refused(err.message, err.reason)
        except FileRefused as err:
            return refused(err.describe(lang), err.code)
        except (StoreError, ValueError) as err:
            return refused(str(err), "error")
        _audit(accounts, "import_preview", session, pending, report=report)
        can = report.accepted > 0 and not (pending["strict"] and report.rejected)
        if not can:  # nothing awaits confirmation: the upload goes now
            path.unlink(missing_ok=True)
            pending = None
        label = translate("import.confirm", lang, n=format_number(report.accepted, lang))
        return (_preview(ctx, report, lang), pending, not can, label, pending is None, "",
                not (can and _replaces_demo(report)), [])

    @app.callback(
        Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
        Output(ids.IMPORT_PENDING, "data", allow_duplicate=True),
        Output(ids.IMPORT_CONFIRM, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_CANCEL, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_PREVIEW, "children", allow_duplicate=True),
        Output(DEMO_BOX, "hidden", allow_duplicate=True),
        Input(ids.IMPORT_CONFIRM, "n_clicks"),
        State(ids.IMPORT_PENDING, "data"),
        State(REPLACE_DEMO, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def confirm(n_clicks, pending, replace, lang):
        lang = known_language(lang)
        path = _pending_path(ctx, pending)
        if not n_clicks or path is None:
            return no_update, no_update, True, True, no_update, no_update
        session = current_session()
        # the pending request comes back from the browser: every right is checked again
        asked = _pending_of(pending.get("kind"), pending.get("source"), pending.get("strict"),
                            pending.get("filename"), pending.get("agency"),
                            pending.get("received"))
        sha256 = _checksum(path)

        def refused(message: str, reason: str, *, keep: bool = False):
            _audit(accounts, "import_refused", session, asked, sha256=sha256, status="refused",
                   reason=reason)
            if keep:  # the same preview still awaits confirmation
                return _error(message, lang), no_update, False, False, no_update, False
            path.unlink(missing_ok=True)
            return _error(message, lang), None, True, True, no_update, True

        try:
            with open_store(ctx.settings) as store:
                stored = store.sources()
                _check_rights(owners, session, asked["kind"], asked["source"], stored, lang)
                if DEMO_SOURCE in stored and "replace" not in choices(replace, ("replace",)):
                    return refused(translate("import.demo_replace.unconfirmed", lang),
                                   "demo_unconfirmed", keep=True)
                report = _run(ctx, store, path, asked, preview=False,
                              before_commit=_before_commit(accounts, owners, session,
                                                           asked["source"], stored))
        except _Refused as err:
            return refused(err.message, err.reason)
        except FileRefused as err:
            return refused(err.describe(lang), err.code)
        except SourceRefused as err:  # another account claimed the source meanwhile
            return refused(_source_message(owners, session, err, lang), f"source_{err.code}")
        except (StoreError, ValueError, sqlite3.Error) as err:
            return refused(str(err), "error")
        path.unlink(missing_ok=True)
        _audit(accounts, "import_confirm", session, asked, report=report)
        if report.status == "committed":
            _keep_records(ctx)
        if report.status == "committed" and on_import is not None:
            on_import()
        if report.status == "refused":
            text_ = translate("import.refused_strict", lang, rejected=report.rejected)
        else:
            text_ = translate("import.done", lang, accepted=format_number(report.accepted, lang),
                              file=report.file_name, id=report.import_id,
                              rejected=format_number(report.rejected, lang))
        parts = [html.P(text_)]
        if report.status == "committed" and _replaces_demo(report):
            parts.append(html.P(translate("import.demo_replace.done", lang)))
        parts.append(dcc.Link(translate("import.see_map", lang), href=f"/?lang={lang}"))
        result = html.Div(parts, className="success" if report.status == "committed" else "error")
        return result, None, True, True, _preview(ctx, report, lang), True

    @app.callback(
        Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
        Output(ids.IMPORT_PENDING, "data", allow_duplicate=True),
        Output(ids.IMPORT_CONFIRM, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_CANCEL, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_PREVIEW, "children", allow_duplicate=True),
        Output(DEMO_BOX, "hidden", allow_duplicate=True),
        Input(ids.IMPORT_CANCEL, "n_clicks"),
        State(ids.IMPORT_PENDING, "data"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def cancel(n_clicks, pending, lang):
        path = _pending_path(ctx, pending)
        if path is not None:
            path.unlink(missing_ok=True)
        return translate("import.cancelled", known_language(lang)), None, True, True, [], True
