"""The report's sentences in the province's words: numbers in, Vietnamese sentences out.

The Standing Office of Steering Committee 138 writes its results like this
(seed 004, a border province's 2022 report)::

    phát hiện, xử lý 41 vụ, 117 đối tượng có hành vi xuất, nhập cảnh trái phép.
    Qua đó, xử lý hành chính 27 vụ, 68 đối tượng; cảnh cáo, giáo dục 29 đối
    tượng; trục xuất 6 đối tượng; đồng thời, khởi tố 6 vụ, 12 đối tượng…

and per agency: "Sở Lao động – Thương binh và Xã hội cấp 28.000 tờ rơi; tổ
chức 12 lớp tập huấn cho 350 cán bộ…". Every function here is pure: it takes
the figures (counted elsewhere, by the layers or from the records) and
returns the sentence, so the phrasing is tested on its own. A figure that is
not known is never written as a number: a sentence says what the records
hold instead ("hồ sơ chưa ghi hình thức xử lý"). A figure withheld below
commander is passed as its label ("< 5", "x") and written as it is.

Numbers are written the Vietnamese way (1.835), dates dd/mm/yyyy; the date
line of the header follows Decree 30/2020/NĐ-CP (a day below 10 and the
months 1 and 2 take a leading zero: "ngày 05 tháng 02 năm 2024",
"ngày 15 tháng 7 năm 2024").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.i18n import format_date, format_number, translate
from layers.periods import quarter_number

__all__ = [
    "CROSSING_OUTCOMES",
    "Figure",
    "QUARTER_NUMERALS",
    "ReportPeriod",
    "crossings_sentence",
    "date_line",
    "models_sentence",
    "num",
    "outreach_clause",
    "outreach_sentence",
    "report_period",
    "tips_sentence",
    "trafficking_sentence",
    "victims_sentence",
]

#: A count as written: an integer, or the label of a withheld count ("< 5", "x").
Figure = int | str

#: The quarters as Vietnamese documents number them (Quý I … Quý IV).
QUARTER_NUMERALS = ("I", "II", "III", "IV")
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
_HALF = re.compile(r"^\s*(\d{4})\s*-?\s*(?:[Hh]([12])|(6)\s*(?:[Tt]|[Mm]|th(?:ang)?))\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


def _t(key: str, lang: str, **params) -> str:
    """The catalogue's ``report.text.<key>`` in ``lang``."""
    return translate(f"report.text.{key}", lang, **params)


# --------------------------------------------------------------------------- numbers, dates


def num(value: Figure, lang: str = "vi") -> str:
    """A count as the report writes it: 1835 → "1.835"; a label ("< 5", "x") unchanged.

    >>> num(1835), num(70815), num(0), num("< 5"), num(1835, "en")
    ('1.835', '70.815', '0', '< 5', '1,835')
    """
    if isinstance(value, str):
        return value
    return format_number(int(value), lang)


def _count(unit: str, value: Figure, lang: str) -> str:
    """A count with its noun: "41 vụ", "1 case", "41 cases" (the catalogue's
    ``report.text.unit.<unit>``, its ``.one`` form for exactly one)."""
    one = not isinstance(value, str) and int(value) == 1
    return _t(f"unit.{unit}" + (".one" if one else ""), lang, n=num(value, lang))


def date_line(place: str, day: dt.date, lang: str = "vi") -> str:
    """The place and date of the header (Decree 30/2020: leading zero for days 1–9 and the
    months 1 and 2).

    >>> date_line("Tây Ninh", dt.date(2024, 7, 5))
    'Tây Ninh, ngày 05 tháng 7 năm 2024'
    >>> date_line("Tây Ninh", dt.date(2024, 2, 19))
    'Tây Ninh, ngày 19 tháng 02 năm 2024'
    >>> date_line("Tây Ninh", dt.date(2024, 2, 19), "en")
    'Tây Ninh, 19/02/2024'
    """
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return _t("date_line", lang, place=place, day=f"{day.day:02d}", month=month,
              year=day.year, date=format_date(day, lang))


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class ReportPeriod:
    """A reporting period: its days and how the offices name it.

    ``kind`` is "quarter", "half", "year", "campaign" (the peak campaign of
    01/7–30/9, seed 001) or "range".
    """

    start: dt.date
    end: dt.date
    kind: str = "range"

    def phrase(self, lang: str = "vi") -> str:
        """The period in the title: "quý III năm 2025", "6 tháng đầu năm 2025", "năm 2024",
        "đợt cao điểm … từ ngày 01/07/2024 đến ngày 30/09/2024", "từ ngày … đến ngày …".

        >>> ReportPeriod(dt.date(2025, 7, 1), dt.date(2025, 9, 30), "quarter").phrase()
        'quý III năm 2025'
        >>> ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 6, 30), "half").phrase()
        '6 tháng đầu năm 2025'
        >>> ReportPeriod(dt.date(2025, 7, 1), dt.date(2025, 9, 30), "quarter").phrase("en")
        'Q3 2025'
        """
        year = self.start.year
        if self.kind == "quarter":
            n = quarter_number(self.start)
            return _t("period.quarter", lang, n=n, roman=QUARTER_NUMERALS[n - 1], year=year)
        if self.kind == "half":
            return _t(f"period.half.{1 if self.start.month == 1 else 2}", lang, year=year)
        if self.kind == "year":
            return _t("period.year", lang, year=year)
        if self.kind == "campaign":
            return _t("period.campaign", lang, span=self.span(lang))
        return self.span(lang)

    def span(self, lang: str = "vi") -> str:
        """"từ ngày 01/07/2025 đến ngày 30/09/2025"."""
        return _t("span", lang, start=format_date(self.start, lang),
                  end=format_date(self.end, lang))

    def words(self, lang: str = "vi") -> str:
        """The period in a sentence: its name and its days, "quý III năm 2025 (từ ngày
        01/07/2025 đến ngày 30/09/2025)"; a campaign or a bare span as its name says it."""
        if self.kind in ("range", "campaign"):
            return self.phrase(lang)
        return _t("period.with_span", lang, phrase=self.phrase(lang), span=self.span(lang))

    @property
    def code(self) -> str:
        """A file-name stem: "2025Q3", "2025H1", "2024", "2024_cao_diem", "20250701_20250814"."""
        if self.kind == "quarter":
            return f"{self.start.year}Q{quarter_number(self.start)}"
        if self.kind == "half":
            return f"{self.start.year}H{1 if self.start.month == 1 else 2}"
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "campaign":
            return f"{self.start.year}_cao_diem"
        return f"{self.start:%Y%m%d}_{self.end:%Y%m%d}"


def report_period(*, quarter: str | None = None, half: str | None = None,
                  year: str | int | None = None, campaign: str | int | None = None,
                  start: dt.date | None = None, end: dt.date | None = None
                  ) -> ReportPeriod | None:
    """The period asked for by exactly one of its names (None when none is given).

    ``quarter`` "2025Q3"; ``half`` "2025H1"/"2025H2" (also "2025-6T": the
    first six months, the 6-month report); ``year`` 2024; ``campaign`` 2024 →
    01/07/2024–30/09/2024; ``start`` and ``end`` together, any span.

    Raises
    ------
    ValueError
        For a text that is not such a period, two names at once, or ``end``
        before ``start``.

    Examples
    --------
    >>> report_period(half="2025H2")
    ReportPeriod(start=datetime.date(2025, 7, 1), end=datetime.date(2025, 12, 31), kind='half')
    >>> report_period(campaign=2024).phrase()
    'đợt cao điểm tấn công, trấn áp tội phạm mua bán người (từ ngày 01/07/2024 đến ngày 30/09/2024)'
    """
    given = [n for n, v in (("quarter", quarter), ("half", half), ("year", year),
                            ("campaign", campaign)) if v is not None]
    if start is not None or end is not None:
        given.append("start/end")
    if len(given) > 1:
        raise ValueError(f"choose one period, not {' and '.join(given)}")
    if quarter is not None:
        match = _QUARTER.match(str(quarter))
        if not match:
            raise ValueError(f"not a quarter: {quarter!r} (e.g. 2025Q3)")
        y, q = int(match.group(1)), int(match.group(2))
        period = pd.Period(f"{y}Q{q}", "Q")
        return ReportPeriod(period.start_time.date(), period.end_time.date(), "quarter")
    if half is not None:
        match = _HALF.match(str(half))
        if not match:
            raise ValueError(f"not a half-year: {half!r} (e.g. 2025H1, 2025H2)")
        y, h = int(match.group(1)), int(match.group(2) or 1)
        return (ReportPeriod(dt.date(y, 1, 1), dt.date(y, 6, 30), "half") if h == 1
                else ReportPeriod(dt.date(y, 7, 1), dt.date(y, 12, 31), "half"))
    if year is not None or campaign is not None:
        text = str(year if year is not None else campaign)
        match = _YEAR.match(text)
        if not match:
            raise ValueError(f"not a year: {text!r} (e.g. 2024)")
        y = int(match.group(1))
        if year is not None:
            return ReportPeriod(dt.date(y, 1, 1), dt.date(y, 12, 31), "year")
        return ReportPeriod(dt.date(y, 7, 1), dt.date(y, 9, 30), "campaign")
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValueError("give both the first and the last day")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return ReportPeriod(start, end, _kind_of(start, end))


def _kind_of(start: dt.date, end: dt.date) -> str:
    """A start/end pair that is a calendar quarter, half or year is named as one."""
    if start.day == 1 and start.month in (1, 4, 7, 10):
        q = pd.Period(start, "Q")
        if q.end_time.date() == end:
            return "quarter"
    if start.day == 1 and start.month in (1, 7):
        last = dt.date(start.year, 6, 30) if start.month == 1 else dt.date(start.year, 12, 31)
        if end == last:
            return "half"
    if start == dt.date(start.year, 1, 1) and end == dt.date(start.year, 12, 31):
        return "year"
    return "range"


# --------------------------------------------------------------------------- incidents


def _zero(value: Figure) -> bool:
    return not isinstance(value, str) and int(value) == 0


def _join(parts: Sequence[str], sep: str = "; ") -> str:
    return sep.join(p for p in parts if p)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


#: The decided outcomes of illegal crossings in the seeds' order (seed 004): status codes of
#: the incident records (:data:`geo.kinds.OUTCOMES`), each said by the catalogue's
#: ``report.text.crossing.outcome.<code>``. ``verified`` is a case still being verified;
#: ``received`` or no status, one whose handling is not recorded.
CROSSING_OUTCOMES = ("administrative_sanction", "warning_education", "deportation",
                     "prosecuted")
_VERIFYING, _UNRECORDED = "verified", ("received", "")


def crossings_sentence(cases: Figure, persons: Figure | None = None, *,
                       outcomes: Mapping[str, tuple[int, int]] | None = None,
                       continued: bool = False, lang: str = "vi") -> str:
    """The illegal crossings of the period, as seed 004 writes them.

    Parameters
    ----------
    cases, persons : int or str
        Cases (vụ) and persons (đối tượng); the label of a withheld count;
        ``persons`` None when not given (below commander).
    outcomes : mapping, optional
        ``{status code: (cases, persons)}`` of the period's crossings: the
        codes of :data:`CROSSING_OUTCOMES`, ``"verified"`` (still being
        verified), ``"received"`` or ``""`` (no outcome recorded). Cases and
        persons of all codes add up to ``cases`` and ``persons``. None below
        commander (the outcomes are not released).
    continued : bool
        The sentence follows the trafficking cases: "Đồng thời, lực lượng chức
        năng đã phát hiện, xử lý …" (seed 004's "Tuy nhiên, đã phát hiện, xử lý …").
    lang : {"vi", "en"}

    Examples
    --------
    >>> print(crossings_sentence(41, 117, outcomes={"administrative_sanction": (27, 68),
    ...       "warning_education": (0, 29), "deportation": (0, 6), "prosecuted": (6, 12),
    ...       "verified": (8, 2)}))
    Phát hiện, xử lý 41 vụ, 117 đối tượng có hành vi xuất, nhập cảnh trái phép. Qua đó, \
xử lý hành chính 27 vụ, 68 đối tượng; cảnh cáo, giáo dục 29 đối tượng; trục xuất 6 đối \
tượng; đồng thời, khởi tố 6 vụ, 12 đối tượng. Các trường hợp còn lại (8 vụ, 2 đối tượng) \
tiếp tục xác minh, làm rõ.
    >>> print(crossings_sentence(633, 1753, outcomes={"verified": (540, 1500),
    ...                                               "received": (93, 253)}))
    Phát hiện, xử lý 633 vụ, 1.753 đối tượng có hành vi xuất, nhập cảnh trái phép. Trong đó, \
540 vụ, 1.500 đối tượng đang xác minh, làm rõ; 93 vụ, 253 đối tượng mới tiếp nhận, chưa ghi \
kết quả xử lý. Hồ sơ của kỳ chưa ghi hình thức xử lý (xử lý hành chính, cảnh cáo, giáo dục, \
trục xuất, khởi tố).
    >>> print(crossings_sentence(41, 117, outcomes={"administrative_sanction": (27, 68),
    ...       "warning_education": (0, 29), "prosecuted": (1, 1), "verified": (13, 19)},
    ...       lang="en"))
    Detected and handled 41 cases, 117 persons of illegal exit or entry. Of these: \
administrative sanctions: 27 cases, 68 persons; warnings and education: 29 persons; and \
prosecution: 1 case, 1 person. The remaining cases (13 cases, 19 persons) are still being \
verified.
    """
    if _zero(cases):
        return _t("crossing.none", lang)
    who = _count("case", cases, lang) + (
        f", {_count('person', persons, lang)}" if persons is not None else "")
    head = _t("crossing.head_continued" if continued else "crossing.head", lang, who=who)
    if not outcomes:
        return head
    decided = [code for code in CROSSING_OUTCOMES if any(outcomes.get(code, (0, 0)))]
    verifying = outcomes.get(_VERIFYING, (0, 0))
    unrecorded = tuple(sum(outcomes.get(c, (0, 0))[i] for c in _UNRECORDED) for i in (0, 1))
    if not decided:
        said = _join([_t("crossing.verifying", lang, who=_who(*verifying, lang=lang))
                      if any(verifying) else "",
                      _t("crossing.unrecorded", lang, who=_who(*unrecorded, lang=lang))
                      if any(unrecorded) else ""])
        return _t("crossing.undecided", lang, head=head, said=said)
    parts = []
    for code in decided:
        part = _t("crossing.part", lang, label=_t(f"crossing.outcome.{code}", lang),
                  who=_who(*outcomes[code], persons_only=True, lang=lang))
        parts.append(_t("crossing.also", lang, part=part) if code == "prosecuted" and parts
                     else part)
    sentence = _t("crossing.handled", lang, head=head, parts="; ".join(parts))
    if any(verifying):
        sentence += " " + _t("crossing.rest_verifying", lang, who=_who(*verifying, lang=lang))
    if any(unrecorded):
        sentence += " " + _upper_first(_t("crossing.rest_unrecorded", lang,
                                          who=_who(*unrecorded, lang=lang)))
    return sentence


def _who(cases: int, persons: int, *, persons_only: bool = False, lang: str = "vi") -> str:
    """"27 vụ, 68 đối tượng"; "29 đối tượng" when only persons are counted (``persons_only``
    and no case: seed 004's warnings and deportations)."""
    if persons_only and not cases:
        return _count("person", persons, lang)
    return f"{_count('case', cases, lang)}, {_count('person', persons, lang)}"


#: The procedural stages of trafficking cases, furthest first (``report.text.trafficking
#: .stage.<stage>``).
_TRAFFICKING_STAGES = ("tried", "prosecuted", "verified", "open")


def trafficking_sentence(cases: Figure, persons: Figure | None = None,
                         victims: Figure | None = None, *,
                         stages: Mapping[str, int] | None = None, lang: str = "vi") -> str:
    """The trafficking cases of the period and their procedural stages.

    ``stages`` counts the cases by the furthest stage their status reached
    (:func:`layers.targets.status_stage`: ``tried``, ``prosecuted``,
    ``verified``, ``open``).

    Examples
    --------
    >>> print(trafficking_sentence(12, 25, 30, stages={"tried": 5, "prosecuted": 4,
    ...                                                "verified": 2, "open": 1}))
    Phát hiện 12 vụ mua bán người, 25 đối tượng, 30 nạn nhân; trong đó đã đưa ra xét xử 5 \
vụ, đã khởi tố, đang điều tra, truy tố 4 vụ, đã xác minh, đang làm rõ 2 vụ, mới tiếp nhận 1 vụ.
    >>> trafficking_sentence(0)
    'Chưa phát hiện vụ mua bán người nào.'
    >>> trafficking_sentence(1, 2, 1, stages={"tried": 1}, lang="en")
    'Detected 1 human trafficking case, 2 persons, 1 victim; of these, 1 case brought to trial.'
    """
    if _zero(cases):
        return _t("trafficking.none", lang)
    who = _join([_count("trafficking_case", cases, lang),
                 _count("person", persons, lang) if persons is not None else "",
                 _count("victim", victims, lang) if victims is not None else ""], ", ")
    said = _join([_t(f"trafficking.stage.{k}", lang, n=_count("case", stages[k], lang))
                  for k in _TRAFFICKING_STAGES if stages and stages.get(k)], ", ")
    if said:
        return _t("trafficking.stages", lang, who=who, said=said)
    return _t("trafficking.head", lang, who=who)


def tips_sentence(tips: Figure, *, stages: Mapping[str, int] | None = None,
                  lang: str = "vi") -> str:
    """Tips and reports (tố giác, tin báo) received, and how many are verified.

    >>> print(tips_sentence(262, stages={"verified": 230, "open": 32}))
    Tiếp nhận 262 tin báo, tố giác về tội phạm mua bán người và xuất, nhập cảnh trái phép; \
đã xác minh, phân loại 230 tin, 32 tin đang xác minh.
    >>> print(tips_sentence(262, stages={"verified": 230, "open": 32}, lang="en"))
    Received 262 tips and reports on human trafficking and illegal exit or entry; 230 tips \
verified and classified, 32 tips being verified.
    """
    if _zero(tips):
        return _t("tips.none", lang)
    head = _t("tips.head", lang, n=_count("tip_report", tips, lang))
    if not stages:
        return _t("tips.plain", lang, head=head)
    done = sum(int(v) for k, v in stages.items() if k != "open")
    open_ = int(stages.get("open", 0))
    said = _join([_t("tips.done", lang, n=_count("tip", done, lang)) if done else "",
                  _t("tips.open", lang, n=_count("tip", open_, lang)) if open_ else ""], ", ")
    return _t("tips.stages", lang, head=head, said=said)


#: What was done for the victims, as their records' status says (codes of
#: :data:`geo.kinds.OUTCOMES`; "" for none, said ``none``), in the order to say it.
_VICTIM_OUTCOMES = ("returned_home", "supported", "verified", "received", "")


def victims_sentence(records: Figure, victims: Figure | None = None, *,
                     outcomes: Mapping[str, tuple[int, int]] | None = None,
                     lang: str = "vi") -> str:
    """Victims received (nạn nhân được tiếp nhận) and what was done for them.

    ``records`` are the victim records (trường hợp), ``victims`` the persons
    they name; ``outcomes`` ``{status code: (records, victims)}`` (codes
    ``received``, ``verified``, ``supported``, ``returned_home``; ``""`` for
    none), adding up to ``records`` and ``victims``; None below commander.

    Examples
    --------
    >>> print(victims_sentence(37, 52, outcomes={"supported": (20, 30),
    ...       "returned_home": (10, 12), "verified": (7, 10)}))
    Tiếp nhận 37 trường hợp với 52 nạn nhân bị mua bán trở về; trong đó hỗ trợ trở về địa \
phương 10 trường hợp (12 nạn nhân), hỗ trợ theo quy định 20 trường hợp (30 nạn nhân), đang \
xác minh, xác định 7 trường hợp (10 nạn nhân).
    >>> print(victims_sentence(37, 52, outcomes={"verified": (33, 47), "received": (4, 5)}))
    Tiếp nhận 37 trường hợp với 52 nạn nhân bị mua bán trở về; trong đó đang xác minh, xác \
định 33 trường hợp (47 nạn nhân), mới tiếp nhận 4 trường hợp (5 nạn nhân); hồ sơ của kỳ chưa \
ghi việc hỗ trợ nạn nhân.
    >>> victims_sentence(0)
    'Chưa tiếp nhận nạn nhân bị mua bán trở về.'
    >>> print(victims_sentence(3, 4, outcomes={"supported": (3, 4)}, lang="en"))
    Received 3 cases of trafficked persons returning, with 4 victims; of these, supported as \
the regulations provide: 3 cases (4 victims).
    """
    if _zero(records):
        return _t("victims.none", lang)
    head = (_t("victims.head", lang, records=_count("victim_case", records, lang),
               victims=_count("victim", victims, lang)) if victims is not None
            else _t("victims.head_records", lang, records=_count("victim_case", records, lang)))
    if not outcomes:
        return _t("victims.plain", lang, head=head)
    said = _join([_t("victims.part", lang, label=_t(f"victims.outcome.{code or 'none'}", lang),
                     records=_count("victim_case", outcomes[code][0], lang),
                     victims=_count("victim", outcomes[code][1], lang))
                  for code in _VICTIM_OUTCOMES if any(outcomes.get(code, (0, 0)))], ", ")
    helped = any(any(outcomes.get(c, (0, 0))) for c in ("supported", "returned_home"))
    return _t("victims.outcomes" if helped else "victims.outcomes_no_support", lang,
              head=head, said=said)


# --------------------------------------------------------------------------- outreach

#: Each outreach format's optional tails (``report.text.outreach.<format>.<figure>``), in the
#: order seed 004 says them, from the figures of :data:`geo.kinds.OUTREACH_FIGURES`:
#: sessions {s}, participants {p}, sites {t}, materials {m}, groups {g}, members {c}. A tail
#: is said only with its figure; the main clause is ``report.text.outreach.<format>``.
_TAILS = {
    "meeting": ("sites", "participants", "materials"),
    "school_session": ("participants", "materials"),
    "broadcast": (),
    "leaflets": (),
    "social_media": ("groups", "members", "participants"),
    "training": ("participants", "materials"),
    "campaign": ("participants", "materials"),
    "law_books": ("sites",),
    "job_counselling": (),
    "contest": ("participants",),
}
#: The figure a format's main clause stands on; without it the clause counts the activities
#: (``report.text.outreach.<format>.fallback``).
_MAIN = {"leaflets": "materials", "law_books": "materials", "job_counselling": "participants"}


def outreach_clause(fmt: str, *, sessions: int, participants: int = 0, materials: int = 0,
                    sites: int = 0, groups: int = 0, members: int = 0,
                    label: str | None = None, lang: str = "vi") -> str:
    """One format of one agency's outreach: "tổ chức 12 lớp tập huấn cho 350 cán bộ".

    ``sessions`` are the activities (a record without a count of sessions is
    one). A figure the records do not hold (0) is left out of the clause; a
    clause that stands on a missing figure counts the sessions instead. A
    format this module does not know is said by its ``label``.

    Examples
    --------
    >>> outreach_clause("training", sessions=12, participants=350)
    'tổ chức 12 lớp tập huấn cho 350 cán bộ'
    >>> outreach_clause("leaflets", sessions=5, materials=28000)
    'cấp 28.000 tờ rơi, tờ gấp, áp phích tuyên truyền'
    >>> outreach_clause("leaflets", sessions=5)
    'tổ chức 5 đợt cấp phát tờ rơi, tờ gấp, áp phích tuyên truyền'
    >>> outreach_clause("meeting", sessions=1, sites=158, participants=1835)
    'tổ chức 1 cuộc hội nghị, nói chuyện chuyên đề tại 158 điểm cầu, có 1.835 lượt người tham dự'
    >>> outreach_clause("social_media", sessions=40, groups=359, members=7800)
    'tuyên truyền trên mạng xã hội (Zalo, Facebook) qua 359 nhóm với 7.800 tuyên truyền viên nòng cốt'
    >>> outreach_clause("radio_quiz", sessions=2, participants=40, label="Thi trên sóng")
    'thi trên sóng: 2 hoạt động, 40 lượt người tham gia'
    >>> outreach_clause("training", sessions=12, participants=350, lang="en")
    'held training courses (12) for 350 officials'
    """
    values = {"sessions": sessions, "participants": participants, "materials": materials,
              "sites": sites, "groups": groups, "members": members}
    figures = {"s": num(sessions, lang), "p": num(participants, lang),
               "m": num(materials, lang), "t": num(sites, lang), "g": num(groups, lang),
               "c": num(members, lang)}
    if fmt not in _TAILS:
        name = (label or fmt.replace("_", " ")).strip()
        name = name[:1].lower() + name[1:]
        parts = [_count("activity", sessions, lang),
                 _count("attendance", participants, lang) if participants else "",
                 _count("material", materials, lang) if materials else ""]
        return _t("outreach.other", lang, name=name, figures=_join(parts, ", "))
    main = f"outreach.{fmt}"
    if fmt in _MAIN and not values[_MAIN[fmt]]:
        main = f"outreach.{fmt}.fallback"
    if fmt == "social_media" and not groups and not members and not participants:
        main = "outreach.social_media.count"
    return _t(main, lang, **figures) + "".join(
        _t(f"outreach.{fmt}.{figure}", lang, **figures) for figure in _TAILS[fmt]
        if values[figure])


def outreach_sentence(agency: str, clauses: Sequence[str], lang: str = "vi") -> str:
    """One agency's outreach in one sentence: "<agency> <clause>; <clause>.".

    >>> outreach_sentence("Sở Lao động – Thương binh và Xã hội",
    ...     ["cấp 28.000 tờ rơi tuyên truyền", "tổ chức 12 lớp tập huấn cho 350 cán bộ"])
    'Sở Lao động – Thương binh và Xã hội cấp 28.000 tờ rơi tuyên truyền; tổ chức 12 lớp tập huấn cho 350 cán bộ.'
    >>> outreach_sentence("", [])
    'Đơn vị chưa ghi tên chưa có hoạt động truyền thông được ghi nhận.'
    """
    name = agency.strip() if agency and agency.strip() else _t("outreach.unnamed", lang)
    if not clauses:
        return _t("outreach.agency_none", lang, agency=name)
    return _t("outreach.agency", lang, agency=name, clauses="; ".join(clauses))


# --------------------------------------------------------------------------- models


def models_sentence(day: dt.date, *, total: int, communes_with: int, communes: int,
                    by_type: Sequence[tuple[str, int]], intensive: int = 0,
                    integrated: int = 0, lang: str = "vi") -> str:
    """The prevention models active on ``day``, by type and class (seeds 002, 004).

    ``by_type`` pairs the models' names (in ``lang``) with their counts, in the
    order to say them (types with no model are left out).

    Examples
    --------
    >>> print(models_sentence(dt.date(2025, 9, 30), total=12, communes_with=9, communes=96,
    ...       by_type=[("Zalo phòng, chống tội phạm", 7), ("Camera giám sát ANTT", 5)],
    ...       intensive=2, integrated=10))
    Đến ngày 30/09/2025, toàn tỉnh có 12 mô hình phòng ngừa đang hoạt động tại 9/96 xã, \
phường, gồm: 7 mô hình “Zalo phòng, chống tội phạm”; 5 mô hình “Camera giám sát ANTT”. \
Trong đó, 2 mô hình chuyên sâu, 10 mô hình lồng ghép; 87 xã, phường chưa có mô hình.
    """
    date = format_date(day, lang)
    if not total:
        return _t("models.none", lang, date=date, communes=num(communes, lang))
    kinds = "; ".join(_t("models.kind", lang, n=num(n, lang), name=name)
                      for name, n in by_type if n)
    classes = _join([_t("models.intensive", lang, n=num(intensive, lang)) if intensive else "",
                     _t("models.integrated", lang, n=num(integrated, lang)) if integrated
                     else ""], ", ")
    without = communes - communes_with
    tail = _join([classes, _t("models.without", lang, n=num(without, lang)) if without else ""],
                 "; ")
    return (_t("models.head", lang, date=date, total=num(total, lang),
               with_model=num(communes_with, lang), communes=num(communes, lang), kinds=kinds)
            + (_t("models.tail", lang, tail=tail) if tail else ""))
