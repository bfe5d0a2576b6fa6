"""The layer: a table keyed by commune code and the description every renderer needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import pandas as pd

__all__ = ["Caveat", "Layer"]


class Caveat(str, Enum):
    """Notes a map must carry whenever they apply (shown and exported with the layer)."""

    SYNTHETIC = "synthetic"  #: built from the synthetic demo dataset
    APPROXIMATE_BOUNDARIES = "approximate_boundaries"  #: bundled, not official, polygons
    SMALL_COUNTS_SUPPRESSED = "small_counts_suppressed"
    #: significance from random permutations (not the exact enumeration): a class near
    #: its cut-off may change with the seed
    PERMUTATION_INFERENCE = "permutation_inference"


@dataclass(frozen=True)
class Layer:
    """One map layer: values per commune plus how to present them.

    Text fields are message keys (``title_key`` …) with their parameters, so
    each renderer speaks the user's language; numbers stay numbers.

    Attributes
    ----------
    frame : DataFrame
        Indexed by commune ``code`` (every unit of ``unit_set``, zero-filled),
        with ``name`` and the ``value`` column.
    value : str
        The column the map colours by.
    unit_set : {"2025", "legacy"}
    title_key, legend_key, units_key : str
        Message keys of the title, legend title and units.
    params : dict
        Parameters of the title (period, types …), already plain values.
    colorscale : list
        Plotly colour scale, colour-blind safe and legible in grey print.
    caveats : tuple of Caveat
    kind : str
        What the layer is, by its one name in :mod:`layers.catalogue` (``"counts"``,
        ``"gi"``, ``"change"`` …): pages and the release rules below commander test the
        kind, never the title's message key. Empty for a table built outside the
        catalogue (then no release rule applies: it is refused below commander).
    """

    frame: pd.DataFrame
    value: str
    unit_set: str
    title_key: str
    legend_key: str
    units_key: str
    params: dict = field(default_factory=dict)
    colorscale: tuple = ()
    caveats: tuple[Caveat, ...] = ()
    kind: str = ""

    @property
    def total(self) -> float:
        return float(self.frame[self.value].sum())
