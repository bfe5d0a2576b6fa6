"""Gate rings are geodesic circles of the stated radius."""

import numpy as np
import pyproj

from dashboard.figures.rings import gate_rings, ring_coordinates
from geo.gates import load_gates


def test_ring_points_are_at_the_radius():
    xs, ys = ring_coordinates(106.16, 11.07, 15)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(np.full(len(xs), 106.16),
                                                 np.full(len(xs), 11.07), xs, ys)
    assert np.allclose(dist, 15_000, atol=0.01)


def test_rings_of_the_international_gates(settings):
    gates = load_gates(settings)
    trace = gate_rings(gates, "vi")
    international = int((gates["gate_class"] == "international").sum())
    assert sum(1 for v in trace.lon if v is None) == international * 3
    assert "15 km từ Mộc Bài" in set(t for t in trace.text if t)
    assert trace.visible is False
