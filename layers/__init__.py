"""Layers: pure functions from joined records and filters to map-ready data.

A layer is a table keyed by commune code plus a small description (title,
legend, units, colour scale, caveats). The live map, the HTML export, the
static image and the spreadsheet all render the same layer.

Each name below is imported from its module on first use (:func:`__getattr__`), not
with the package: ``import layers.counts`` then loads that module alone, and a server
starts without the statistics libraries the other layers use.
"""

from __future__ import annotations

import importlib

#: The module of each name the package gives (imported on first use).
_HOMES = {
    "campaign_comparison": "layers.compare",
    "compare_periods": "layers.compare",
    "incident_counts": "layers.counts",
    "model_coverage": "layers.coverage",
    "uncovered_key_areas": "layers.coverage",
    "hexagon_counts": "layers.density",
    "kernel_density": "layers.density",
    "emerging_hotspots": "layers.emerging",
    "emerging_layer": "layers.emerging",
    "gap_classes": "layers.gaps",
    "gap_layer": "layers.gaps",
    "priority_list": "layers.gaps",
    "HotSpots": "layers.hotspots",
    "gi_star": "layers.hotspots",
    "hotspot_layer": "layers.hotspots",
    "local_moran": "layers.hotspots",
    "key_area_layer": "layers.key_areas",
    "key_area_scores": "layers.key_areas",
    "Caveat": "layers.layer",
    "Layer": "layers.layer",
    "commune_profile": "layers.profile",
    "band_shares": "layers.proximity",
    "border_distance": "layers.proximity",
    "gate_distances": "layers.proximity",
    "proximity_layer": "layers.proximity",
    "commune_rates": "layers.rates",
    "outreach_reach": "layers.reach",
    "period_status": "layers.reporting",
    "reporting_rate": "layers.reporting",
    "PointDataRefused": "layers.suppression",
    "ReleasePlan": "layers.suppression",
    "ReleaseRefused": "layers.suppression",
    "Role": "layers.suppression",
    "for_role": "layers.suppression",
    "release_plan": "layers.suppression",
    "snap_period": "layers.suppression",
    "suppress": "layers.suppression",
    "load_plan": "layers.targets",
    "load_plans": "layers.targets",
    "track": "layers.targets",
}


__all__ = [
    "Caveat", "HotSpots", "Layer", "band_shares", "border_distance", "campaign_comparison",
    "commune_profile", "commune_rates", "compare_periods", "emerging_hotspots", "emerging_layer",
    "gate_distances", "gi_star", "hexagon_counts", "hotspot_layer", "incident_counts",
    "kernel_density", "key_area_layer", "key_area_scores", "local_moran", "proximity_layer",
    "gap_classes", "gap_layer", "priority_list", "model_coverage", "uncovered_key_areas",
    "outreach_reach", "load_plan", "load_plans", "track", "period_status", "reporting_rate",
    "PointDataRefused", "ReleasePlan", "ReleaseRefused", "Role", "for_role", "release_plan",
    "snap_period", "suppress",
]


def __getattr__(name: str):
    """``layers.NAME``: the name from its module, imported now (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
