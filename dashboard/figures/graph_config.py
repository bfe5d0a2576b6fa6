"""The one configuration of every ``dcc.Graph``: a toolbar with nothing that leaves the machine.

Plotly's default toolbar has a "Share chart" button that uploads the figure to
a cloud service (``plotlyServerURL``) and the Plotly logo links out: both go,
and the cloud URL is emptied so that no button added later has anywhere to send.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["CLOUD_BUTTONS", "graph_config"]

#: plotly.js names of the buttons that send a figure to Plotly's cloud or Chart Studio.
CLOUD_BUTTONS = ("sendChartToCloud", "sendDataToCloud", "editInChartStudio")

_OFFLINE = MappingProxyType({
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": CLOUD_BUTTONS,
})


def graph_config(**changes) -> dict:
    """A new ``config`` dict for a ``dcc.Graph``: the offline toolbar plus ``changes``.

    Examples
    --------
    >>> config = graph_config(scrollZoom=True)
    >>> config["showSendToCloud"], config["scrollZoom"], "sendChartToCloud" in \\
    ...     config["modeBarButtonsToRemove"]
    (False, True, True)
    """
    if "modeBarButtonsToRemove" in changes:
        changes["modeBarButtonsToRemove"] = [*CLOUD_BUTTONS, *changes["modeBarButtonsToRemove"]]
    config = {**_OFFLINE, **changes}
    config["modeBarButtonsToRemove"] = list(config["modeBarButtonsToRemove"])
    return config
