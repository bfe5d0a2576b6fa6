"""Import page (Nhập dữ liệu): upload a file, see what would be accepted and refused, confirm.

For a planner with a spreadsheet from an agency: the file is checked by the
real importer in preview mode (nothing written), the page lists the rows
that would be refused with the reason in the reader's language and a
suggestion, and a button commits the import (all or nothing). The uploaded
file waits in the data folder's ``uploads`` until confirmed or cancelled.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from pathlib import Path

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard import ids
from dashboard.inputs import choice, choices, text
from dashboard.context import AppContext
from dashboard.i18n import choice_label, format_date, format_number, translate
from geo.ingest import KINDS, FileRefused, Places, import_file
from geo.ingest.readers import SUFFIXES
from geo.store import StoreError, open_store

__all__ = ["MAX_UPLOAD_MB", "PATH", "layout", "register_callbacks", "template_url"]

PATH = "/import"
#: Larger files go through ``borderwatch import`` on the server (the browser holds uploads
#: in memory as base64).
MAX_UPLOAD_MB = 50
_PREVIEW_ROWS = 200
_STALE_SECONDS = 24 * 3600


def template_url(kind: str, lang: str) -> str:
    """Where the XLSX template of ``kind`` is served."""
    return f"/template/{kind}.xlsx?lang={lang}"


def layout(ctx: AppContext, lang: str) -> list:
    """The page body: choices on the left, the upload and its preview on the right."""
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    side = html.Aside(
        [
            html.Label(t("import.kind"), htmlFor=ids.IMPORT_KIND),
            dcc.RadioItems(
                id=ids.IMPORT_KIND,
                options=[{"label": t(f"import.kind.{k}"), "value": k} for k in KINDS],
                value="incidents",
                className="radio",
            ),
            html.Label(t("import.source"), htmlFor=ids.IMPORT_SOURCE),
            dcc.Input(id=ids.IMPORT_SOURCE, type="text", value="default", debounce=True,
                      maxLength=80),
            dcc.Checklist(id=ids.IMPORT_STRICT,
                          options=[{"label": t("import.strict"), "value": "strict"}], value=[],
                          className="checklist"),
            html.A(t("import.template"), id=ids.IMPORT_TEMPLATE,
                   href=template_url("incidents", lang), className="button-link"),
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
    return [side, main, dcc.Store(id="page-lang", data=lang)]


# -- uploads ------------------------------------------------------------------------------


def _uploads(ctx: AppContext) -> Path:
    folder = ctx.settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # forgotten previews
        if time.time() - old.stat().st_mtime > _STALE_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def _save_upload(ctx: AppContext, contents: str, filename: str) -> Path:
    """Decode the browser's data URL into a file named by a random token (not the user's name)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise FileRefused("file.format", suffix=suffix or str(filename))
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        raise FileRefused("file.unreadable", file=filename, error="upload damaged") from None
    path = _uploads(ctx) / f"{secrets.token_hex(12)}{suffix}"
    path.write_bytes(data)
    return path


def _pending_path(ctx: AppContext, pending: dict | None) -> Path | None:
    """The waiting upload of ``pending``, only if it is one of ours (a token, not a path)."""
    if not isinstance(pending, dict) or not isinstance(pending.get("token"), str):
        return None
    token = Path(pending["token"]).name
    path = ctx.settings.data_dir / "uploads" / token
    return path if path.is_file() and token == pending["token"] else None


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


def _preview(ctx: AppContext, report, lang: str) -> list:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    parts = [html.H3(t("import.preview", file=report.file_name)), _counts(report, lang)]
    if report.unknown_columns:
        parts.append(html.P(t("import.unknown_columns", columns=", ".join(report.unknown_columns)),
                            className="note"))
    parts += [html.P(n.get(lang, n["en"]), className="note") for n in report.notes]
    return parts + _rejects_table(report, lang) + _sample_table(ctx, report, lang)


def _error(message: str, lang: str) -> html.Div:
    return html.Div(translate("import.error", lang, message=message), className="error",
                    role="alert")


def _lang(value) -> str:
    return value if value in ("vi", "en") else "vi"


def _run(ctx: AppContext, path: Path, pending: dict, *, preview: bool):
    with open_store(ctx.settings) as store:
        return import_file(
            path, pending["kind"], store, Places.load(ctx.settings),
            source=pending["source"], strict=pending["strict"], preview=preview,
            rejects_dir=None if preview else ctx.settings.data_dir / "rejects",
            display_name=pending["filename"],
        )


def register_callbacks(app: Dash, ctx: AppContext, on_import=None) -> None:
    """Upload → preview; confirm → import; cancel → forget the upload.

    ``on_import`` is called after every committed import (the app starts the new
    records' small-count release plan there, so the overview is ready sooner).
    """

    @app.callback(Output(ids.IMPORT_TEMPLATE, "href"), Input(ids.IMPORT_KIND, "value"),
                  State("page-lang", "data"))
    def template_link(kind, lang):
        return template_url(choice(kind, tuple(KINDS), "incidents"), _lang(lang))

    @app.callback(
        Output(ids.IMPORT_PREVIEW, "children"),
        Output(ids.IMPORT_PENDING, "data"),
        Output(ids.IMPORT_CONFIRM, "disabled"),
        Output(ids.IMPORT_CONFIRM, "children"),
        Output(ids.IMPORT_CANCEL, "disabled"),
        Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
        Input(ids.IMPORT_UPLOAD, "contents"),
        Input(ids.IMPORT_KIND, "value"),
        Input(ids.IMPORT_SOURCE, "value"),
        Input(ids.IMPORT_STRICT, "value"),
        State(ids.IMPORT_UPLOAD, "filename"),
        State(ids.IMPORT_PENDING, "data"),
        State("page-lang", "data"),
        prevent_initial_call=True,
    )
    def preview(contents, kind, source, strict, filename, pending, lang):
        lang = _lang(lang)
        none = translate("import.confirm", lang, n=0)
        if not contents or not isinstance(contents, str):
            return [], None, True, none, True, no_update
        old = _pending_path(ctx, pending)
        if old is not None:
            old.unlink(missing_ok=True)
        pending = {"kind": choice(kind, tuple(KINDS), "incidents"),
                   "source": text(source, "default").strip()[:80] or "default",
                   "strict": "strict" in choices(strict, ("strict",)),
                   "filename": text(filename, "", length=255)}
        try:
            path = _save_upload(ctx, contents, pending["filename"])
            pending["token"] = path.name
            report = _run(ctx, path, pending, preview=True)
        except FileRefused as err:
            return [_error(err.describe(lang), lang)], None, True, none, True, ""
        except (StoreError, ValueError) as err:
            return [_error(str(err), lang)], None, True, none, True, ""
        can = report.accepted > 0 and not (pending["strict"] and report.rejected)
        label = translate("import.confirm", lang, n=format_number(report.accepted, lang))
        return _preview(ctx, report, lang), pending, not can, label, False, ""

    @app.callback(
        Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
        Output(ids.IMPORT_PENDING, "data", allow_duplicate=True),
        Output(ids.IMPORT_CONFIRM, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_CANCEL, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_PREVIEW, "children", allow_duplicate=True),
        Input(ids.IMPORT_CONFIRM, "n_clicks"),
        State(ids.IMPORT_PENDING, "data"),
        State("page-lang", "data"),
        prevent_initial_call=True,
    )
    def confirm(n_clicks, pending, lang):
        lang = _lang(lang)
        path = _pending_path(ctx, pending)
        if not n_clicks or path is None:
            return no_update, no_update, True, True, no_update
        try:
            report = _run(ctx, path, pending, preview=False)
        except FileRefused as err:
            return _error(err.describe(lang), lang), None, True, True, no_update
        except (StoreError, ValueError) as err:
            return _error(str(err), lang), None, True, True, no_update
        finally:
            path.unlink(missing_ok=True)
        if report.status == "committed" and on_import is not None:
            on_import()
        if report.status == "refused":
            text = translate("import.refused_strict", lang, rejected=report.rejected)
        else:
            text = translate("import.done", lang, accepted=format_number(report.accepted, lang),
                             file=report.file_name, id=report.import_id,
                             rejected=format_number(report.rejected, lang))
        result = html.Div([html.P(text), dcc.Link(translate("import.see_map", lang),
                                                  href=f"/?lang={lang}")],
                          className="success" if report.status == "committed" else "error")
        return result, None, True, True, _preview(ctx, report, lang)

    @app.callback(
        Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
        Output(ids.IMPORT_PENDING, "data", allow_duplicate=True),
        Output(ids.IMPORT_CONFIRM, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_CANCEL, "disabled", allow_duplicate=True),
        Output(ids.IMPORT_PREVIEW, "children", allow_duplicate=True),
        Input(ids.IMPORT_CANCEL, "n_clicks"),
        State(ids.IMPORT_PENDING, "data"),
        State("page-lang", "data"),
        prevent_initial_call=True,
    )
    def cancel(n_clicks, pending, lang):
        path = _pending_path(ctx, pending)
        if path is not None:
            path.unlink(missing_ok=True)
        return translate("import.cancelled", _lang(lang)), None, True, True, []
