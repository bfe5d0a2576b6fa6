"""Layers: pure functions from joined records and filters to map-ready data.

A layer is a table keyed by commune code plus a small description (title,
legend, units, colour scale, caveats). The live map, the HTML export, the
static image and the spreadsheet all render the same layer.
"""

from layers.compare import campaign_comparison, compare_periods
from layers.counts import incident_counts
from layers.coverage import model_coverage, uncovered_key_areas
from layers.density import hexagon_counts, kernel_density
from layers.emerging import emerging_hotspots, emerging_layer
from layers.gaps import gap_classes, gap_layer, priority_list
from layers.hotspots import HotSpots, gi_star, hotspot_layer, local_moran
from layers.key_areas import key_area_layer, key_area_scores
from layers.layer import Caveat, Layer
from layers.profile import commune_profile
from layers.proximity import band_shares, border_distance, gate_distances, proximity_layer
from layers.rates import commune_rates
from layers.reach import outreach_reach
from layers.reporting import period_status, reporting_rate
from layers.suppression import (
    PointDataRefused, ReleasePlan, ReleaseRefused, Role, for_role, release_plan, snap_period,
    suppress,
)
from layers.targets import load_plan, load_plans, track

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
