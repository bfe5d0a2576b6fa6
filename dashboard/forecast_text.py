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

__all__ = ["METHODS", "method_name", "track_record", "track_rows"]

#: The methods of the track record, in the order they are listed.
METHODS = ("model", "model_without_lag1", "last_period", "kde", "gi", "key_areas")
#: The baselines named in the sentence beside the map (the model first, apart).
_BASELINES = ("last_period", "kde", "gi", "key_areas")


def method_name(method: str, lang: str) -> str:
    """"Mô hình dự báo", "Số vụ của quý trước" … (unknown methods by their own name)."""
    key = f"forecast.method.{method}"
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
    problem = params.get("problem")
    if problem:
        return translate(problem, lang, periods=format_number(params.get("n_periods", 0), lang),
                         incidents=format_number(params.get("n_incidents", 0), lang),
                         min_periods=format_number(params.get("min_periods", 0), lang),
                         needed=format_number(params.get("min_periods", 0) + 1, lang),
                         min_incidents=format_number(params.get("min_incidents", 0), lang))
    share = 0.10
    model = _value(params, "model", share)
    others = "; ".join(
        translate("forecast.track.other", lang, method=_lower(method_name(m, lang)),
                  hit=_percent(_value(params, m, share), lang))
        for m in _BASELINES if _value(params, m, share) is not None)
    parts = [translate("forecast.track", lang, n=format_number(params["origins"], lang),
                       share=format_number(100 * share, lang),
                       hit=_percent(model, lang),
                       pai=format_number(_value(params, "model", share, "pai"), lang, 1),
                       others=others)]
    best = params.get("best", "model")
    if best == "model":
        parts.append(translate("forecast.model_best", lang))
    else:
        parts.append(translate("forecast.model_not_best", lang,
                               best=_lower(method_name(best, lang)),
                               hit=_percent(_value(params, best, share), lang)))
    without = _value(params, "model_without_lag1", share)
    if without is not None:
        parts.append(translate("forecast.lag1", lang,
                               rho=format_number(params["lag1_correlation"], lang, 2),
                               hit=_percent(without, lang)))
    return " ".join(parts)


def track_rows(params: dict, lang: str, shares=(0.05, 0.10, 0.20)) -> list[list[str]]:
    """The backtest table: one row per method, hit rate and PAI at each share of the area,
    then PEI at 10 %."""
    rows = []
    for method in METHODS:
        if _value(params, method, shares[0]) is None:
            continue
        row = [method_name(method, lang)]
        for share in shares:
            row.append(_percent(_value(params, method, share), lang))
            row.append(format_number(_value(params, method, share, "pai"), lang, 1))
        row.append(format_number(_value(params, method, 0.10, "pei"), lang, 2))
        rows.append(row)
    return rows
