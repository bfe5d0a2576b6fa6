"""The Standing Office's report as a Word document (DOCX), laid out as Decree 30/2020 asks.

The committee PDF (:mod:`dashboard.exports.report`) is made for the screen;
this is the document the Standing Office of Steering Committee 138 sends and
edits in Word: A4, Times New Roman 14 pt, margins 20 mm (top, bottom), 30 mm
(left), 15 mm (right); the header block as a two-column borderless table
(the issuing body at the left, the national motto at the right, then "Số:
…/BC-…" with its number left blank to fill, and the place and date in
italics); the title "BÁO CÁO / Kết quả công tác phòng, chống mua bán người
<kỳ>"; then

I.  the results in the seeds' words (:mod:`dashboard.exports.report_text`):
    trafficking cases and their stages, illegal crossings and how they were
    handled, tips, victims received and supported, outreach per agency with
    its figures, prevention models by type, the plan's targets (each with its
    definition, :mod:`dashboard.kpi_text`);
II. the maps and tables of the committee PDF (the same layers and the same
    map images: :func:`dashboard.exports.report.report_maps`): hot spots,
    risk × coverage, the priority communes, the changes on a year before.

Numbers are the layers' own: the cases of each type are the change layer's
totals (as on the PDF's cover and in its section 5), outreach the reach
layer's (with its sums of sessions, sites, groups and members per agency and format),
models the coverage layer's. The persons, victims and outcomes of
the cases (no layer carries them) are counted from the same records (the
period's records placed in the communes of the unit set), for the commander
only. Below commander the document is made from a
:class:`dashboard.released.Released` view: case counts are the released
ones ("< 5", "x"), over the release grid's period (said when it differs),
no all-types total; persons, victims and outcomes are not in the release
table, so the document says they are left out rather than print them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from dashboard.context import AppContext
from dashboard.exports.chromium import chromium_path
from dashboard.exports.report import FORECAST_WAIT, report_maps
from dashboard.exports.report_sections import (
    PRIORITY_TOP,
    change_layer,
    coverage_gaps,
    gi_layer,
    hotspot_counts,
    is_released,
    report_forecast,
    priority_rows,
    priority_table,
    province_total,
    risk_coverage_layer,
    type_row,
)
from dashboard.exports.report_text import (
    ReportPeriod,
    crossings_sentence,
    date_line,
    models_sentence,
    num,
    outreach_clause,
    outreach_sentence,
    tips_sentence,
    trafficking_sentence,
    victims_sentence,
)
from dashboard.i18n import choice_label, format_date, format_number, translate
from dashboard.kpi_text import kpi_details, kpi_value
from geo.kinds import KINDS, OUTCOMES
from geo.units import NEW, OLD, code_column
from layers.counts import INCIDENT_TYPES
from layers.periods import within
from layers.targets import PlanError, status_stage

__all__ = ["FONT", "MARGINS_MM", "Letterhead", "report_docx", "results_paragraphs"]

#: Decree 30/2020/NĐ-CP, appendix I: Times New Roman; body 13–14 pt.
FONT = "Times New Roman"
_BODY_PT = 14
_SMALL_PT = 12
#: Margins (mm): top and bottom 20–25, left 30–35, right 15–20.
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
_TEXT_WIDTH_MM = 210 - MARGINS_MM["left"] - MARGINS_MM["right"]


@dataclass(frozen=True)
class Letterhead:
    """Who issues the report and how its header and closing read (all editable).

    ``issuer`` are the lines of the issuing body, the governing body first
    (regular) and the issuer itself last (bold); ``symbol`` follows the blank
    number ("Số: …/BC-BCĐ138"); ``name`` the issuer in a sentence; ``signer`` the
    signature block's lines. :meth:`standing_office` is the province's, in the
    catalogue's words.
    """

    issuer: tuple[str, ...]
    symbol: str
    place: str
    name: str
    signer: tuple[str, ...]
    recipients: tuple[str, ...]

    @classmethod
    def standing_office(cls, lang: str = "vi") -> Letterhead:
        """The Standing Office of the provincial Steering Committee 138 (``report.docx.*``).

        >>> Letterhead.standing_office().issuer
        ('BAN CHỈ ĐẠO 138 TỈNH TÂY NINH', 'CƠ QUAN THƯỜNG TRỰC')
        """
        def t(key: str) -> str:
            return translate(f"report.docx.{key}", lang)

        return cls(issuer=(t("issuer.1"), t("issuer.2")), symbol=t("symbol"),
                   place=t("place"), name=t("name"), signer=(t("signer"),),
                   recipients=tuple(t(f"recipient.{i}") for i in range(1, 5)))


def _t(key: str, lang: str, **params) -> str:
    """The catalogue's ``report.docx.<key>`` in ``lang``."""
    return translate(f"report.docx.{key}", lang, **params)


# --------------------------------------------------------------------------- the document


def report_docx(
    ctx: AppContext,
    an,
    *,
    period: ReportPeriod,
    unit_set: str = NEW,
    document_date: dt.date | None = None,
    letterhead: Letterhead | None = None,
    maps: Sequence[bytes] | None = None,
    browser: str | Path | None = None,
    lang: str = "vi",
    forecast_wait: float | None = FORECAST_WAIT,
) -> bytes:
    """The report of ``period`` as DOCX bytes.

    Parameters
    ----------
    ctx : AppContext
    an : Analyses or Released
        The commander's analyses, or the view of a role below commander
        (:func:`dashboard.released.analyses_for`).
    period : ReportPeriod
        The period and how it is named (:func:`dashboard.exports.report_text.report_period`).
    unit_set : {"2025", "legacy"}
    document_date : date, optional
        The date of the header; default today.
    letterhead : Letterhead, optional
        Default the province's Standing Office (:meth:`Letterhead.standing_office`).
    maps : sequence of bytes, optional
        The PNGs of :func:`dashboard.exports.report.report_maps` (hot spots,
        risk × coverage); drawn here when None, left out when empty.
    browser : path, optional
        The Chromium that draws the maps (kaleido).
    lang : {"vi", "en"}
        The document's language: Vietnamese, the Standing Office's; English, a
        reader's who chose it (the same figures, the catalogue's English).
    forecast_wait : float, optional
        The commander's document: how long its forecast section waits for the forecast
        being built in the background (seconds), as the quarterly report's section 6;
        ``None`` builds it here if need be (the command line, tests).

    Examples
    --------
    >>> raw = report_docx(ctx, an, period=report_period(year=2024))  # doctest: +SKIP
    >>> raw[:2]  # doctest: +SKIP
    b'PK'
    """
    unit_set = {"new": NEW, "old": OLD}.get(unit_set, unit_set)
    if unit_set not in (NEW, OLD):
        raise ValueError(f"unknown unit set {unit_set!r}; choose {NEW!r} or {OLD!r}")
    start, end = period.start, period.end
    document_date = document_date or dt.date.today()
    letterhead = letterhead or Letterhead.standing_office(lang)
    if maps is None:
        from dashboard.exports.static import export_figures

        figures = report_maps(ctx, an, start=start, end=end, unit_set=unit_set, lang=lang)
        maps = export_figures(figures, fmt="png", size="a4", browser=chromium_path(browser))
    images = list(maps) + [b""] * (2 - len(maps))

    doc = Document()
    _page_setup(doc)
    _styles(doc, lang)
    _footer(doc, ctx, an, period, lang)
    _header_block(doc, letterhead, document_date, lang)
    _title(doc, period, lang)
    _caveats(doc, ctx, an, lang)
    _para(doc, _t("opening", lang, name=letterhead.name, period=period.words(lang)),
          indent=True)

    _heading(doc, _t("part1", lang))
    for heading, paragraphs in results_paragraphs(ctx, an, period, unit_set, lang).items():
        _heading(doc, heading, level=2)
        for text in paragraphs:
            _para(doc, text, indent=True)
    _heading(doc, _t("s5", lang), level=2)
    _kpi_section(doc, an, start, end, lang)

    _heading(doc, _t("part2", lang), page_break=True)
    _maps_section(doc, an, unit_set, start, end, images, lang)
    _priority_section(doc, an, unit_set, start, end, lang)
    _changes_section(doc, an, unit_set, start, end, lang)
    _forecast_section(doc, an, unit_set, end, lang, forecast_wait)
    _closing(doc, letterhead, lang)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- I. results


def results_paragraphs(ctx: AppContext, an, period: ReportPeriod,
                       unit_set: str = NEW, lang: str = "vi") -> dict[str, list[str]]:
    """Section I's paragraphs under their headings (1–4): the figures of the period in the
    seeds' phrasing, as the role of ``an`` may read them."""
    start, end = period.start, period.end
    incidents = _incident_figures(ctx, an, unit_set, start, end, lang)
    return {
        _t("s1", lang): _crime_paragraphs(incidents, an, period, lang),
        _t("s2", lang): _victim_paragraphs(incidents, lang),
        _t("s3", lang): _outreach_paragraphs(an, unit_set, start, end, lang),
        _t("s4", lang): [_models_paragraph(an, unit_set, start, end, lang)],
    }


def _incident_figures(ctx: AppContext, an, unit_set: str, start: dt.date,
                      end: dt.date, lang: str) -> dict:
    """Per type: ``cases`` (the change layer's total, or its released label), and for the
    commander ``persons``, ``victims``, ``statuses`` ({status: (cases, persons, victims)});
    ``period`` the days the counts cover (the release grid's below commander)."""
    out: dict = {}
    for t in INCIDENT_TYPES:
        params = change_layer(an, unit_set, start, end, (t,)).params
        total = params["total"]
        out[t] = {"cases": int(total) if total is not None
                  else province_total(params, lang)}
        out["period"] = (params["start"], params["end"])
    if is_released(an):
        return out
    records = ctx.records.current().incidents
    column = code_column(unit_set)
    chosen = records[within(records["date"], start, end)
                     & records[column].isin(ctx.unit_table(unit_set).index)]
    for t in INCIDENT_TYPES:
        rows = chosen[chosen["type"] == t]
        status = rows["status"].astype("string").str.strip().str.lower().fillna("")
        persons = pd.to_numeric(rows["persons"], errors="coerce").fillna(0).astype(int)
        victims = pd.to_numeric(rows["victims"], errors="coerce").fillna(0).astype(int)
        table = pd.DataFrame({"status": status, "persons": persons, "victims": victims})
        grouped = table.groupby("status").agg(cases=("status", "size"),
                                              persons=("persons", "sum"),
                                              victims=("victims", "sum"))
        out[t].update(
            persons=int(persons.sum()), victims=int(victims.sum()),
            statuses={s: (int(r.cases), int(r.persons), int(r.victims))
                      for s, r in grouped.iterrows()},
            stages=status_stage(rows["status"]).value_counts().to_dict(),
        )
    return out


def _outcomes(statuses: dict, allowed: Sequence[str], which: int) -> dict:
    """``{code: (cases, persons|victims)}`` of ``statuses``, codes outside ``allowed`` as ""
    (no outcome recorded) so that the parts add up to the whole."""
    out: dict[str, tuple[int, int]] = {}
    for code, figures in statuses.items():
        key = code if code in allowed else ""
        cases, count = out.get(key, (0, 0))
        out[key] = (cases + figures[0], count + figures[which])
    return out


def _crime_paragraphs(incidents: dict, an, period: ReportPeriod, lang: str) -> list[str]:
    released = is_released(an)
    traffic, crossing, tips = (incidents[t] for t in ("trafficking_case", "illegal_crossing",
                                                      "tip"))

    def lead(sentence: str) -> str:
        return _t("lead", lang, period=period.words(lang), sentence=_lower_first(sentence))

    paragraphs = []
    if released:
        paragraphs.append(lead(trafficking_sentence(traffic["cases"], lang=lang)))
        paragraphs.append(crossings_sentence(crossing["cases"], continued=True, lang=lang))
        paragraphs.append(tips_sentence(tips["cases"], lang=lang))
        first, last = incidents["period"]
        if (first, last) != (period.start, period.end):
            paragraphs.append(_t("released.period", lang, start=format_date(first, lang),
                                 end=format_date(last, lang)))
        paragraphs.append(_t("released.left_out", lang))
        return paragraphs
    paragraphs.append(lead(trafficking_sentence(
        traffic["cases"], traffic["persons"], traffic["victims"],
        stages=_stages(traffic["stages"]), lang=lang)))
    paragraphs.append(crossings_sentence(
        crossing["cases"], crossing["persons"],
        outcomes=_outcomes(crossing["statuses"], OUTCOMES["illegal_crossing"], 1),
        continued=True, lang=lang))
    paragraphs.append(tips_sentence(tips["cases"], stages=_stages(tips["stages"]), lang=lang))
    return paragraphs


def _stages(counts: dict) -> dict:
    return {k: int(v) for k, v in counts.items() if v}


def _victim_paragraphs(incidents: dict, lang: str) -> list[str]:
    victim = incidents["victim"]
    if "statuses" not in victim:
        return [victims_sentence(victim["cases"], lang=lang)]
    return [victims_sentence(victim["cases"], victim["victims"],
                             outcomes=_outcomes(victim["statuses"], OUTCOMES["victim"], 2),
                             lang=lang)]


def _outreach_paragraphs(an, unit_set: str, start: dt.date, end: dt.date,
                         lang: str) -> list[str]:
    reach = an.planner_layer("reach", unit_set=unit_set, start=start, end=end)
    province = reach.params["province"]
    if not province["events"]:
        return [_t("outreach.none", lang)]
    paragraphs = [_t("outreach.province", lang, events=num(province["events"], lang),
                     communes=num(province["communes_reached"], lang),
                     participants=num(province["participants"], lang),
                     materials=num(province["materials"], lang))]
    labels = {c.code: choice_label("outreach", "format", c.code, lang)
              for c in KINDS["outreach"].field("format").choices}
    for row in reach.params["by_agency"]:
        agency = row["agency"]
        if agency is None:
            continue
        by_format = an.planner_layer("reach", unit_set=unit_set, start=start, end=end,
                                     agencies=(agency,)).params["by_format"]
        clauses = []
        for f in by_format:  # sessions, sites, groups, members: the reach layer's sums
            clauses.append(outreach_clause(
                f["format"], sessions=f.get("sessions") or f["events"],
                participants=f["participants"], materials=f["materials"],
                sites=f.get("sites", 0), groups=f.get("groups", 0),
                members=f.get("members", 0), label=labels.get(f["format"]), lang=lang))
        paragraphs.append(outreach_sentence(agency, clauses, lang))
    unnamed = next((r for r in reach.params["by_agency"] if r["agency"] is None), None)
    if unnamed:
        paragraphs.append(_t("outreach.unnamed", lang, events=num(unnamed["events"], lang),
                             participants=num(unnamed["participants"], lang)))
    return paragraphs


def _models_paragraph(an, unit_set: str, start: dt.date, end: dt.date, lang: str) -> str:
    coverage = an.planner_layer("coverage", unit_set=unit_set, start=start, end=end).params
    by_type = sorted(((choice_label("models", "model_type", code, lang), n)
                      for code, n in coverage["by_type"].items() if n),
                     key=lambda pair: -pair[1])
    return models_sentence(end, total=coverage["total"], communes_with=coverage["n_with_model"],
                           communes=coverage["n_communes"], by_type=by_type,
                           intensive=coverage["by_class"].get("intensive", 0),
                           integrated=coverage["by_class"].get("integrated", 0), lang=lang)


def _kpi_section(doc, an, start: dt.date, end: dt.date, lang: str) -> None:
    try:
        now, _ = an.kpis(start=start, end=end)
        plans = {plan.id: plan for plan in an.plans()}
    except PlanError as err:
        _para(doc, translate("report.kpi.error", lang, error=str(err)), indent=True)
        return
    said: dict[str, None] = {}
    for plan_id, rows in now.groupby("plan", sort=False):
        plan = plans.get(plan_id)
        name = f"{plan.source.document}: {plan.title}" if plan else plan_id
        _para(doc, name, bold=True, italic=True)
        body = []
        for r in rows.itertuples():
            text = kpi_details(r, lang)
            said.update(dict.fromkeys(x for x in (text.cohort, text.key_areas) if x))
            status = translate(f"status.{r.status}", lang)
            if r.status == "no_data" and isinstance(r.reason, str) and r.reason:
                status = f"{status}: {translate(f'nodata.{r.reason}', lang)}"
            sign = "≥" if r.direction == "at_least" else "≤"
            target = f"{sign} {_pct(r.target, lang)} %" if r.target == r.target else "–"
            value = kpi_value(r, lang)
            if text.counts:
                value += f" ({text.counts})"
            label = r.label_vi if lang == "vi" else r.label_en
            body.append([(label, text.definition or ""), (value, text.interval or ""),
                         target, status])
        _table(doc, [_t(f"kpi.col.{c}", lang) for c in ("target", "result", "plan",
                                                          "assessment")],
               body, widths=(85, 28, 22, 30), numeric=(1, 2))
    # the PDF's note less its "by quarter" column, which this table has not
    note = " ".join([_t("kpi.note", lang, period=_span(start, end, lang)),
                     translate("plan.kpi.ci_note", lang), *(f"{x}." for x in said)])
    _para(doc, note, size=_SMALL_PT, italic=True)
    if is_released(an):
        _para(doc, translate("suppress.kpi_note", lang, threshold=an.threshold),
              size=_SMALL_PT, italic=True)


def _pct(value: float, lang: str) -> str:
    return format_number(value, lang, 1)


# --------------------------------------------------------------------------- II. maps, tables


def _maps_section(doc, an, unit_set: str, start, end, images: Sequence[bytes],
                  lang: str) -> None:
    gi = gi_layer(an, unit_set, start, end)
    classes = gi.frame["gi_class"].fillna("")
    _heading(doc, _t("maps.hot", lang), level=2)
    _picture(doc, images[0])
    if gi.params.get("constant_values"):
        _para(doc, translate("report.hot.constant", lang), indent=True)
    else:
        _para(doc, hotspot_counts(classes, lang), indent=True)
    gaps = risk_coverage_layer(an, unit_set, start, end).frame
    _heading(doc, _t("maps.coverage", lang), level=2)
    _picture(doc, images[1])
    _para(doc, translate("report.cov.method", lang), indent=True)
    _para(doc, coverage_gaps(gaps, lang), indent=True)


def _priority_section(doc, an, unit_set: str, start, end, lang: str) -> None:
    _heading(doc, _t("maps.priority", lang), level=2)
    full = priority_table(an, unit_set, start, end)
    if full.empty:
        _para(doc, translate("report.priority.none", lang), indent=True)
        return
    shown = full.head(PRIORITY_TOP)
    _para(doc, translate("report.priority.intro", lang, n=num(len(full), lang),
                         shown=num(len(shown), lang)), indent=True)
    rows = priority_rows(shown, lang)
    # the agency of the commune's latest outreach: the planner's column, in its words
    headers = [_t("priority.col.rank", lang), _t("priority.col.commune", lang),
               _t("priority.col.gap", lang), translate("plan.col.last_agency", lang),
               _t("priority.col.reasons", lang)]
    _table(doc, headers, rows, widths=(10, 30, 35, 30, 60), numeric=(0,), size=11)


def _changes_section(doc, an, unit_set: str, start, end, lang: str) -> None:
    _heading(doc, _t("maps.change", lang), level=2)
    released = is_released(an)
    total = change_layer(an, unit_set, start, end,
                         (INCIDENT_TYPES[0],) if released else INCIDENT_TYPES)
    params = total.params
    other = _span(params["other_start"], params["other_end"], lang)
    _para(doc, translate("report.change.intro_yoy", lang, period=_span(start, end, lang),
                         other=other), indent=True)
    if not params["comparable"]:
        first = params["records_start"]
        _para(doc, translate("report.change.no_base", lang, other=other,
                             first=format_date(first, lang) if first else "–"), indent=True)
    rows = [type_row(translate(f"type.{t}", lang), change_layer(an, unit_set, start, end, (t,)),
                     lang) for t in INCIDENT_TYPES]
    if not released:  # the all-types total is not published below commander
        rows.append(type_row(translate("report.change.total", lang), total, lang))
    headers = [_t("change.col.type", lang)] + [
        translate(f"report.change.col.{c}", lang)
        for c in ("now", "before_yoy", "diff", "assessment")]
    _table(doc, headers, rows, widths=(50, 25, 30, 25, 35), numeric=(1, 2, 3),
           bold_last=not released)
    if released:
        _para(doc, translate("report.change.released", lang), size=_SMALL_PT, italic=True)


def _forecast_section(doc, an, unit_set: str, end, lang: str,
                      forecast_wait: float | None = None) -> None:
    """The next quarter's forecast and its track record, as section 6 of the quarterly
    report has them (:mod:`dashboard.forecast_text`: the page's sentence, the backtest table
    of the model and each baseline, hit rate and PAI at 5/10/20 % of the area, PEI): the
    commander's document only, as the forecast is not released below commander
    (``docs/confidentiality.md``)."""
    from dashboard.forecast_text import track_header, track_record, track_rows

    if is_released(an):
        return
    layer = report_forecast(an, unit_set, end, forecast_wait)
    params = layer.params
    _heading(doc, _t("maps.forecast", lang), level=2)
    _para(doc, track_record(params, lang), indent=True)
    if params.get("problem"):
        return
    _table(doc, track_header(lang), track_rows(params, lang),
           widths=(40, 14, 10, 14, 10, 14, 10, 10), numeric=tuple(range(1, 8)), size=10)
    flagged = layer.frame[layer.frame["flagged"] > 0].sort_values("rank")
    upcoming = translate("period.range", lang, start=format_date(params["period_start"], lang),
                         end=format_date(params["period_end"], lang))
    for note in (translate("report.forecast.terms", lang, n=num(params["origins"], lang)),
                 translate("report.forecast.flagged", lang,
                           names=", ".join(flagged["name"]) or "–", next=upcoming),
                 translate(params["about_key"], lang)):
        _para(doc, note, size=_SMALL_PT, italic=True)


# --------------------------------------------------------------------------- words


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _span(start: dt.date, end: dt.date, lang: str) -> str:
    return f"{format_date(start, lang)} – {format_date(end, lang)}"


# --------------------------------------------------------------------------- layout


def _page_setup(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance, section.footer_distance = Mm(10), Mm(8)
    section.different_first_page_header_footer = True


def _styles(doc, lang: str) -> None:
    for name in ("Normal", "Table Grid"):
        style = doc.styles[name]
        style.font.name = FONT
        rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), FONT)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(_BODY_PT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.15
    lang = normal.element.get_or_add_rPr()
    tag = OxmlElement("w:lang")
    tag.set(qn("w:val"), "vi-VN" if lang == "vi" else "en-GB")
    lang.append(tag)


def _run(paragraph, text: str, *, bold=False, italic=False, size: float | None = None,
         underline=False):
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    run.font.name = FONT
    if size:
        run.font.size = Pt(size)
    return run


def _para(doc_or_cell, text: str = "", *, bold=False, italic=False, size: float | None = None,
          align=None, indent=False, space_after: float | None = None):
    paragraph = doc_or_cell.add_paragraph()
    if text:
        _run(paragraph, text, bold=bold, italic=italic, size=size)
    fmt = paragraph.paragraph_format
    fmt.alignment = align if align is not None else WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent:
        fmt.first_line_indent = Mm(10)
    if space_after is not None:
        fmt.space_after = Pt(space_after)
    return paragraph


def _heading(doc, text: str, *, level: int = 1, page_break: bool = False) -> None:
    paragraph = _para(doc, "", indent=level > 1)
    if page_break:
        paragraph.add_run().add_break(WD_BREAK.PAGE)
    _run(paragraph, text, bold=True)
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.keep_with_next = True


def _cell_text(cell, lines: Sequence[tuple[str, dict]], align) -> None:
    """Lines of (text, run options) in a table cell, each its own paragraph."""
    for i, (text, options) in enumerate(lines):
        paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        paragraph.paragraph_format.alignment = align
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.line_spacing = 1.0
        _run(paragraph, text, **options)


def _borderless(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _widths(table, widths_mm: Sequence[float]) -> None:
    """Fixed column widths (the grid for LibreOffice, each cell for Word)."""
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, widths_mm):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)


def _header_block(doc, letterhead: Letterhead, day: dt.date, lang: str) -> None:
    """Decree 30's header: issuing body | national motto; number | place and date."""
    table = doc.add_table(rows=2, cols=2)
    _borderless(table)
    _widths(table, (72, _TEXT_WIDTH_MM - 72))
    centre = WD_ALIGN_PARAGRAPH.CENTER
    body = [(line, {"size": 12, "bold": i == len(letterhead.issuer) - 1})
            for i, line in enumerate(letterhead.issuer)]
    _cell_text(table.cell(0, 0), body + [("───────", {"size": 10})], centre)
    _cell_text(table.cell(0, 1), [
        (_t("country", lang), {"size": 12, "bold": True}),
        (_t("motto", lang), {"size": 14, "bold": True}),
        ("──────────────", {"size": 10}),
    ], centre)
    _cell_text(table.cell(1, 0), [(_t("number", lang, symbol=letterhead.symbol),
                                   {"size": 13})], centre)
    _cell_text(table.cell(1, 1), [(date_line(letterhead.place, day, lang),
                                   {"size": 14, "italic": True})], centre)
    for cell in table.rows[1].cells:
        cell.paragraphs[0].paragraph_format.space_before = Pt(6)


def _title(doc, period: ReportPeriod, lang: str) -> None:
    centre = WD_ALIGN_PARAGRAPH.CENTER
    first = _para(doc, _t("kind", lang), bold=True, size=_BODY_PT, align=centre, space_after=0)
    first.paragraph_format.space_before = Pt(18)
    _para(doc, _t("title", lang, period=period.phrase(lang)), bold=True,
          size=_BODY_PT, align=centre, space_after=0)
    _para(doc, "──────────", size=10, align=centre, space_after=6)


def _caveats(doc, ctx: AppContext, an, lang: str) -> None:
    notes = [translate(f"caveat.{c.value}", lang) for c in ctx.caveats]
    if is_released(an):
        notes.append(translate("caveat.suppressed_note", lang, below=an.threshold - 1,
                               threshold=an.threshold))
    for note in notes:
        _para(doc, f"⚠ {note}", italic=True, size=_SMALL_PT, align=WD_ALIGN_PARAGRAPH.CENTER,
              space_after=0)
    if notes:
        doc.paragraphs[-1].paragraph_format.space_after = Pt(12)


def _field(paragraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) in ``paragraph``."""
    run = _run(paragraph, "", size=_SMALL_PT)
    for kind, text in (("begin", None), (None, code), ("separate", None), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
        run._r.append(element)


def _footer(doc, ctx: AppContext, an, period: ReportPeriod, lang: str) -> None:
    """Page numbers at the top centre from page 2 (Decree 30); the caveats in every footer."""
    section = doc.sections[0]
    number = section.header.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _field(number, "PAGE")
    notes = [translate(f"caveat.{c.value}", lang) for c in ctx.caveats]
    if is_released(an):
        notes.append(translate("caveat.small_counts_suppressed", lang))
    text = (_t("footer", lang, period=period.phrase(lang))
            + "".join(f" · ⚠ {n}" for n in notes))
    for footer in (section.footer, section.first_page_footer):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(paragraph, text, italic=True, size=9)


def _table(doc, headers: Sequence[str], rows: Sequence[Sequence], *, widths: Sequence[float],
           numeric: Sequence[int] = (), size: float = 12, bold_last: bool = False) -> None:
    """A bordered table; a cell given as (text, note) has its note in small type below."""
    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    scale = _TEXT_WIDTH_MM / sum(widths)
    _widths(table, [w * scale for w in widths])
    centre, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    for i, header in enumerate(headers):
        _cell_text(table.cell(0, i), [(header, {"bold": True, "size": size})], centre)
    for r, row in enumerate(rows, start=1):
        bold = bold_last and r == len(rows)
        for i, value in enumerate(row):
            text, note = value if isinstance(value, tuple) else (value, "")
            lines = [(str(text), {"size": size, "bold": bold})]
            if note:
                lines.append((note, {"size": 9, "italic": True}))
            _cell_text(table.cell(r, i), lines,
                       right if i in numeric else WD_ALIGN_PARAGRAPH.LEFT)
    _para(doc, "", space_after=0)


def _picture(doc, png: bytes) -> None:
    if not png:
        return
    paragraph = _para(doc, "", align=WD_ALIGN_PARAGRAPH.CENTER, space_after=3)
    paragraph.add_run().add_picture(io.BytesIO(png), width=Mm(_TEXT_WIDTH_MM))


def _closing(doc, letterhead: Letterhead, lang: str) -> None:
    """"Nơi nhận" at the left, the signature block at the right (borderless)."""
    _para(doc, "", space_after=0)
    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    _widths(table, (80, _TEXT_WIDTH_MM - 80))
    left = WD_ALIGN_PARAGRAPH.LEFT
    _cell_text(table.cell(0, 0), [(_t("recipients", lang), {"size": 12, "bold": True, "italic": True})]
               + [(f"- {r}", {"size": 11}) for r in letterhead.recipients], left)
    _cell_text(table.cell(0, 1), [(line, {"size": 13, "bold": True})
                                  for line in letterhead.signer]
               + [("", {}), ("", {}), ("", {})], WD_ALIGN_PARAGRAPH.CENTER)
