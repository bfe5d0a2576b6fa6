"""Layers: pure functions from joined records and filters to map-ready data.

A layer is a table keyed by commune code plus a small description (title,
legend, units, colour scale, caveats). The live map, the HTML export, the
static image and the spreadsheet all render the same layer.
"""

from layers.counts import incident_counts
from layers.layer import Caveat, Layer

__all__ = ["Caveat", "Layer", "incident_counts"]
