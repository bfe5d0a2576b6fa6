"""What a statistical map means, in words shown with the map.

Each statistical layer names the message that says what it shows
(``params["about_key"]``: Gi* of the counts or of the rate, emerging hot
spots, the key-area score). A Gi* map also says how its confidence levels
were read (the FDR-adjusted p-value each level asks, or that the classes are
not corrected and how many communes chance alone can colour), and, when no
commune is a hot spot after the correction, why the map is grey and what can
be said instead: the uncorrected 90 % classes, or four quarters instead of
one. The page offers both as choices (:mod:`dashboard.pages.commander`).

The numbers come from the layer's own ``params`` (:mod:`layers.hotspots`);
nothing is recomputed here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from dashboard.i18n import format_date, format_number, translate
from layers.layer import Layer

__all__ = ["GiAdvice", "about_text", "gi_advice", "is_gi"]

#: A period at least this long is not offered a longer one (four quarters).
_LONG_DAYS = 360


def is_gi(layer: Layer) -> bool:
    """Whether ``layer`` is a Gi* hot-spot map (of counts or of rates, corrected or not)."""
    return layer.params.get("statistic") == "gi_star" and "significant" in layer.params


def _p(value: float, lang: str) -> str:
    """A p threshold to three significant digits (0,00625; 0,000104): rounded to fewer, a
    p-value printed beside it could seem to pass when it does not."""
    digits = max(2, 2 - math.floor(math.log10(value))) if value > 0 else 2
    return format_number(value, lang, digits)


def _fdr_text(layer: Layer, lang: str) -> str:
    """How the confidence levels of a Gi* map were read."""
    p = layer.params
    n = format_number(p.get("n_features", 0) - len(p.get("islands", ())), lang)
    if not p.get("alpha_fdr", True):
        expected = format_number(round(0.10 * (p.get("n_features", 0) - len(p.get("islands", ())))),
                                 lang)
        return translate("map.about.gi_uncorrected", lang, n=n, expected=expected)
    thresholds = p.get("fdr_thresholds") or {}
    if not thresholds:
        return ""
    return translate("map.about.gi_fdr", lang, n=n, t90=_p(thresholds[0.10], lang),
                     t95=_p(thresholds[0.05], lang), t99=_p(thresholds[0.01], lang))


def about_text(layer: Layer, lang: str) -> str:
    """What the map shows (its ``about_key`` message) and, for Gi*, how its levels were read;
    empty for a layer that names no message."""
    parts = []
    key = layer.params.get("about_key")
    if key:
        parts.append(translate(key, lang))
    if is_gi(layer):
        parts.append(_fdr_text(layer, lang))
    return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class GiAdvice:
    """Why a corrected Gi* map shows no hot spot, and what the page may offer instead.

    Attributes
    ----------
    text : str
        The explanation, in ``lang`` (what the numbers allow, and what is offered).
    uncorrected : bool
        Whether the uncorrected 90 % classes have something to show (a hot or
        cold spot); the choice is offered then.
    longer : tuple of date or None
        The four quarters up to the period's end (:func:`layers.periods.four_quarters`),
        offered when the period is shorter than a year.
    """

    text: str
    uncorrected: bool
    longer: tuple[dt.date, dt.date] | None


def gi_advice(layer: Layer, start: dt.date, end: dt.date, lang: str) -> GiAdvice | None:
    """What to say under a Gi* map with no hot spot after the FDR correction, else None.

    None for other layers, for the uncorrected classes (already the fallback), for a
    period without any incident (every value equal: nothing was tested) and for a map
    with a hot spot.

    Examples
    --------
    >>> params = {"statistic": "gi_star", "alpha_fdr": True, "n_features": 96,
    ...           "islands": (), "significant": {"fdr": {"hot": 0, "cold": 0},
    ...                                          "uncorrected": {"hot": 9, "cold": 14}}}
    >>> import pandas as pd
    >>> layer = Layer(frame=pd.DataFrame({"gi_bin": [0.0]}), value="gi_bin", unit_set="2025",
    ...               title_key="layer.hotspots.title", legend_key="layer.hotspots.legend",
    ...               units_key="layer.hotspots.legend", params=params)
    >>> advice = gi_advice(layer, dt.date(2025, 4, 1), dt.date(2025, 6, 30), "en")
    >>> advice.uncorrected, advice.longer
    (True, (datetime.date(2024, 7, 1), datetime.date(2025, 6, 30)))
    """
    from layers.periods import four_quarters

    p = layer.params
    if not is_gi(layer) or not p.get("alpha_fdr", True) or p.get("constant_values"):
        return None
    fdr, raw = p["significant"].get("fdr", {}), p["significant"].get("uncorrected", {})
    if not fdr or fdr.get("hot", 0) > 0:
        return None
    n = lambda v: format_number(v, lang)  # noqa: E731
    key = "map.gi.none" if fdr.get("cold", 0) == 0 else "map.gi.no_hot"
    parts = [translate(key, lang, cold=n(fdr.get("cold", 0)))]
    if "count" in layer.frame:
        parts.append(translate("map.gi.incidents", lang,
                               n=n(int(layer.frame["count"].fillna(0).sum()))))
    uncorrected = raw.get("hot", 0) + raw.get("cold", 0) > 0
    longer = four_quarters(end) if (end - start).days + 1 < _LONG_DAYS else None
    if uncorrected:
        parts.append(translate("map.gi.offer_uncorrected", lang, hot=n(raw.get("hot", 0)),
                               cold=n(raw.get("cold", 0))))
    if longer:
        parts.append(translate("map.gi.offer_longer", lang,
                               start=format_date(longer[0], lang),
                               end=format_date(longer[1], lang)))
    return GiAdvice(text=" ".join(parts), uncorrected=uncorrected, longer=longer)
