"""The words shown with the forecast: its track record, on the commander's page and in the report.

A forecast is read as it deserves only beside what it achieved: in each of
the last quarters, the share of incidents that the flagged tenth of the area
held, for the model and for the simple methods it must beat; which method the
map shows when the model does not beat them; and how much of the ranking
last quarter's counts alone carry. One home for that text, so the page and
the report say the same (the numbers come from the layer's ``params``,
:func:`layers.forecast.forecast_layer`).
"""

from __future__ import annotations

from dashboard.i18n import format_number, translate
from geo.catalogue import catalogue

__all__ = ["METHODS", "SHARES", "method_name", "period_key", "track_header", "track_record",
           "track_rows", "track_values"]

#: The methods of the track record, in the order they are listed.
METHODS = ("model", "model_without_lag1", "last_period", "kde", "gi", "key_areas")
#: The baselines named in the sentence beside the map (the model first, apart).
_BASELINES = ("last_period", "kde", "gi", "key_areas")
#: The shares of the area in the table (hit rate and PAI at each; PEI at 10 %).
SHARES = (0.05, 0.10, 0.20)


def period_key(key: str, freq: str | None) -> str:
    """The message ``key`` for a forecast of months (``key.M``) or of quarters (``key``).

    The quarterly words are the keys' own ("quý"); a monthly forecast says "tháng" where
    the catalogue has a ``.M`` variant of the key.

    Examples
    --------
    >>> period_key("forecast.track", "M"), period_key("forecast.track", "Q")
    ('forecast.track.M', 'forecast.track')
    """
    if freq == "M" and f"{key}.M" in catalogue("vi"):
        return f"{key}.M"
    return key


def method_name(method: str, lang: str, freq: str | None = "Q") -> str:
    """"Mô hình dự báo", "Số vụ của quý trước" (of the month before, for months) …
    (unknown methods by their own name)."""
    key = period_key(f"forecast.method.{method}", freq)
    try:
        return translate(key, lang)
    except KeyError:
        return method


def _lower(name: str) -> str:
    """A method's name inside a sentence: its first letter small ("điểm nóng Gi* …")."""
    return name[:1].lower() + name[1:]


def _percent(value: float, lang: str) -> str:
    return format_number(100 * value, lang, 0) + " %"


def _value(params: dict, method: str, share: float, metric: str = "hit_rate") -> float | None:
    for row in params.get("table", ()):
        if row["method"] == method and abs(row["share"] - share) < 1e-9:
            return row[metric]
    return None


def track_record(params: dict, lang: str) -> str:
    """The sentence beside the forecast map: the track record at 10 % of the area, whether
    the model beats the baselines (else which one the map shows), what last quarter's counts
    carry; or why there is no forecast.

    Parameters
    ----------
    params : dict
        The forecast layer's ``params``.
    lang : {"vi", "en"}
    """
    freq = params.get("freq", "Q")
    problem = params.get("problem")
    if problem:
        return translate(period_key(problem, freq), lang,
                         rate=format_number(params.get("min_rate", 0), lang, 1),
                         cell_rate=format_number(params.get("cell_rate", 0), lang, 2),
                         periods=format_number(params.get("n_periods", 0), lang),
                         incidents=format_number(params.get("n_incidents", 0), lang),
                         min_periods=format_number(params.get("min_periods", 0), lang),
                         needed=format_number(params.get("min_periods", 0) + 1, lang),
                         min_incidents=format_number(params.get("min_incidents", 0), lang))
    share = 0.10
    model = _value(params, "model", share)
    others = "; ".join(
        translate("forecast.track.other", lang, method=_lower(method_name(m, lang, freq)),
                  hit=_percent(_value(params, m, share), lang))
        for m in _BASELINES if _value(params, m, share) is not None)
    parts = [translate(period_key("forecast.track", freq), lang, n=format_number(params["origins"], lang),
                       share=format_number(100 * share, lang),
                       hit=_percent(model, lang),
                       pai=format_number(_value(params, "model", share, "pai"), lang, 1),
                       others=others)]
    best = params.get("best", "model")
    if best == "model":
        parts.append(translate("forecast.model_best", lang))
    else:
        parts.append(translate("forecast.model_not_best", lang,
                               best=_lower(method_name(best, lang, freq)),
                               hit=_percent(_value(params, best, share), lang)))
    without = _value(params, "model_without_lag1", share)
    if without is not None:
        parts.append(translate(period_key("forecast.lag1", freq), lang,
                               rho=format_number(params["lag1_correlation"], lang, 2),
                               hit=_percent(without, lang)))
    return " ".join(parts)


def track_header(lang: str, shares=SHARES, *, short: bool = False) -> list[str]:
    """The backtest table's header: method, hit rate and PAI at each share, PEI at 10 %
    (``short``: "Trúng 5 %" for a narrow table beside a map, with the sentence above it)."""
    header = [translate("report.forecast.method", lang)]
    hit = "export.forecast.hit" if short else "report.forecast.hit"
    for share in shares:
        pct = format_number(100 * share, lang)
        header += [translate(hit, lang, share=pct),
                   translate("report.forecast.pai", lang, share=pct)]
    header.append(translate("report.forecast.pei", lang))
    return header


def track_values(params: dict, lang: str, shares=SHARES) -> list[list]:
    """The backtest table as numbers (a spreadsheet's cells): the method's name, then the
    hit rate (a fraction) and PAI at each share, then PEI at 10 %; the rows of
    :func:`track_rows`."""
    freq = params.get("freq", "Q")
    rows = []
    for method in METHODS:
        if _value(params, method, shares[0]) is None:
            continue
        row = [method_name(method, lang, freq)]
        for share in shares:
            row += [_value(params, method, share), _value(params, method, share, "pai")]
        row.append(_value(params, method, 0.10, "pei"))
        rows.append(row)
    return rows


def track_rows(params: dict, lang: str, shares=SHARES) -> list[list[str]]:
    """The backtest table as text: one row per method, hit rate and PAI at each share of
    the area, then PEI at 10 % (:func:`track_header` names the columns)."""
    rows = []
    for values in track_values(params, lang, shares):
        row = [values[0]]
        for i in range(len(shares)):
            row.append(_percent(values[1 + 2 * i], lang))
            row.append(format_number(values[2 + 2 * i], lang, 1))
        row.append(format_number(values[-1], lang, 2))
        rows.append(row)
    return rows
