"""The one configuration of every ``dcc.Graph``: a toolbar with nothing that leaves the machine,
in the page's language.

Plotly's default toolbar has a "Share chart" button that uploads the figure to
a cloud service (``plotlyServerURL``) and the Plotly logo links out: both go,
and the cloud URL is emptied so that no button added later has anywhere to send.

The toolbar's tooltips and notices ("Zoom in", "Download plot as a PNG" …) are
plotly.js's English source strings, translated by a locale dictionary. plotly.js
ships a ``vi`` locale with month and day names but an empty dictionary, so each
graph carries its own (``config.locales``), made from the catalogue's
``plotly.*`` messages; month and day names and the number separators come from
Babel's locale data, as everywhere else (1.835; 05/08/2024).
"""

from __future__ import annotations

from types import MappingProxyType

from babel.dates import get_day_names, get_month_names

from dashboard.i18n import LANGUAGES, translate

__all__ = ["CLOUD_BUTTONS", "PLOTLY_MESSAGES", "graph_config", "plotly_locale"]

#: plotly.js names of the buttons that send a figure to Plotly's cloud or Chart Studio.
CLOUD_BUTTONS = ("sendChartToCloud", "sendDataToCloud", "editInChartStudio")

#: plotly.js's English source strings (the keys of its locale dictionaries) that our graphs
#: can show, and the catalogue message each one is said with.
PLOTLY_MESSAGES = MappingProxyType({
    "Autoscale": "plotly.autoscale",
    "Box Select": "plotly.box_select",
    "Compare data on hover": "plotly.compare_hover",
    "Double-click on legend to isolate one trace": "plotly.legend_isolate",
    "Double-click to zoom back out": "plotly.double_click_out",
    "Download plot": "plotly.download",
    "Download plot as a PNG": "plotly.download_png",
    "Image download succeeded": "plotly.download_done",
    "Lasso Select": "plotly.lasso_select",
    "Pan": "plotly.pan",
    "Preparing image - this may take a few seconds": "plotly.preparing_image",
    "Reset": "plotly.reset",
    "Reset axes": "plotly.reset_axes",
    "Reset view": "plotly.reset_view",
    "Reset views": "plotly.reset_view",
    "Show closest data on hover": "plotly.closest_hover",
    "Sorry, there was a problem downloading your image!": "plotly.download_failed",
    "Toggle Spike Lines": "plotly.spikelines",
    "Toggle show closest data on hover": "plotly.toggle_hover",
    "Zoom": "plotly.zoom",
    "Zoom in": "plotly.zoom_in",
    "Zoom out": "plotly.zoom_out",
})

#: Babel's locale of each language, for month and day names and number separators.
_BABEL = {"vi": "vi", "en": "en_GB"}

_OFFLINE = MappingProxyType({
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": CLOUD_BUTTONS,
})


def _names(names) -> list[str]:
    return [names[k] for k in sorted(names)]


def plotly_locale(lang: str) -> dict:
    """A plotly.js locale for ``lang``: the toolbar's dictionary and the date/number format.

    Examples
    --------
    >>> vi = plotly_locale("vi")
    >>> vi["dictionary"]["Zoom in"], vi["format"]["shortDays"][1], vi["format"]["thousands"]
    ('Phóng to', 'Th 2', '.')
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {LANGUAGES}")
    locale = _BABEL[lang]
    monday_first = (_names(get_day_names("wide", locale=locale)),
                    _names(get_day_names("abbreviated", locale=locale)))
    days, short_days = ([d[6], *d[:6]] for d in monday_first)  # plotly.js starts on Sunday
    return {
        "dictionary": {source: translate(key, lang) for source, key in PLOTLY_MESSAGES.items()},
        "format": {
            "days": days, "shortDays": short_days,
            "months": _names(get_month_names("wide", context="stand-alone", locale=locale)),
            "shortMonths": _names(get_month_names("abbreviated", context="stand-alone",
                                                  locale=locale)),
            "date": "%d/%m/%Y",
            "decimal": "," if lang == "vi" else ".",
            "thousands": "." if lang == "vi" else ",",
        },
    }


def graph_config(lang: str, **changes) -> dict:
    """A new ``config`` dict for a ``dcc.Graph`` on a page in ``lang``: the offline toolbar,
    its tooltips in ``lang``, plus ``changes``.

    Examples
    --------
    >>> config = graph_config("vi", scrollZoom=True)
    >>> config["showSendToCloud"], config["scrollZoom"], "sendChartToCloud" in \\
    ...     config["modeBarButtonsToRemove"]
    (False, True, True)
    >>> config["locale"], config["locales"]["vi"]["dictionary"]["Reset view"]
    ('vi', 'Về khung nhìn ban đầu')
    """
    if "modeBarButtonsToRemove" in changes:
        changes["modeBarButtonsToRemove"] = [*CLOUD_BUTTONS, *changes["modeBarButtonsToRemove"]]
    config = {**_OFFLINE, "locale": lang, "locales": {lang: plotly_locale(lang)}, **changes}
    config["modeBarButtonsToRemove"] = list(config["modeBarButtonsToRemove"])
    return config
