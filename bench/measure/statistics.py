"""Area 4: the spatial statistics over all communes, through the product's layer functions.

- Gi* with 999 permutations over every 2025 commune (:func:`layers.hotspots.gi_star`:
  weights, esda's ``G_Local``, two-sided p-values, classes, FDR); baseline:
  esda's default path (``libpysal.weights.Queen.from_dataframe`` +
  ``esda.G_Local(star=True, permutations=999)``, its defaults otherwise).
- Kernel density (:func:`layers.density.kernel_density`, quartic, 5 km, the
  dashboard's 2 km cells, edge-corrected) for one province (Tây Ninh's
  synthetic communes) and for the country; baseline: scikit-learn's
  ``KernelDensity`` (Epanechnikov, 5 km, k-d tree, no edge correction)
  evaluated at the same cell centres.
- The next-quarter forecast (:func:`layers.forecast.fit_forecast`: ridge Poisson GLM
  on 16 quarters of rows, all 2025 communes); baseline: statsmodels' unpenalised
  ``GLM(...).fit()`` (IRLS) on the same design matrix.
- Emerging hot spots over 20 quarters (:func:`layers.emerging.emerging_layer`,
  999 permutations); baseline: the straightforward loop, weights rebuilt and
  esda's default ``G_Local`` every quarter, then ``scipy.stats.kendalltau``
  per commune.
"""

from __future__ import annotations

import datetime as dt
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bench.context import Run
from bench.national import FIRST_DAY, LAST_DAY
from bench.results import Spec
from bench.timing import median, timed
from geo.units import NEW
from layers.counts import incident_counts
from layers.density import METRIC_CRS, kernel_density
from layers.emerging import emerging_layer
from layers.hotspots import gi_star

__all__ = ["EMERGING", "FORECAST", "GI", "GI_DASHBOARD", "KDE_COUNTRY", "KDE_PROVINCE", "SPECS",
           "measure_statistics"]

GI = Spec("gi_star", 4, "Gi*, 999 permutations, all 2025 communes", "s", target=1.0,
          baseline_title="esda default: Queen.from_dataframe + G_Local")
GI_DASHBOARD = Spec("gi_star_9999", 4, "Gi* as the commander's page runs it (9,999 perm.)", "s",
                    baseline_title="Gi* with 999 permutations")
KDE_PROVINCE = Spec("kde_province", 4, "KDE surface, one province (Tây Ninh, 2 km cells)", "s",
                    baseline_title="scikit-learn KernelDensity")
KDE_COUNTRY = Spec("kde_country", 4, "KDE surface, the country (2 km cells)", "s",
                   baseline_title="scikit-learn KernelDensity")
EMERGING = Spec("emerging", 4, "emerging hot spots, 20 quarters, all 2025 communes", "s",
                target=10.0, baseline_title="per-quarter esda default + kendalltau")
FORECAST = Spec("forecast_fit", 4, "forecast fit, ridge Poisson GLM, 20 quarters, all 2025 "
                "communes", "s", target=10.0,
                baseline_title="statsmodels GLM Poisson fit() (IRLS), same design")
SPECS = [GI, GI_DASHBOARD, KDE_PROVINCE, KDE_COUNTRY, EMERGING, FORECAST]
#: Tây Ninh (2025 code): the province the product was built for.
PROVINCE = "80"
BANDWIDTH_KM = 5.0
CELL_KM = 2.0  # layers.catalogue.DENSITY_CELL_KM


def measure_statistics(run: Run) -> None:
    communes = run.units.communes_new
    incidents = run.incidents
    counts = incident_counts(incidents, pd.DataFrame(communes.drop(columns="geometry")),
                             unit_set=NEW).frame["count"]
    _gi(run, counts, communes)
    _kde(run, incidents, communes)
    _emerging(run, incidents, communes)
    _forecast(run, incidents, communes)


def _gi(run: Run, counts: pd.Series, communes: gpd.GeoDataFrame) -> None:
    import esda
    from libpysal.weights import Queen

    reps = run.sizes.repetitions
    run.log(f"Gi* over {len(communes):,} communes, 999 permutations × {reps}")
    ours = [timed(lambda: gi_star(counts, communes, permutations=999, seed=k))[0]
            for k in range(reps)]
    y = counts.reindex(communes.index).to_numpy(float)

    def esda_default(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = Queen.from_dataframe(communes, use_index=True, silence_warnings=True)
            esda.G_Local(y, w, star=True, permutations=999, seed=seed)

    base = [timed(lambda k=k: esda_default(k))[0] for k in range(reps)]
    spots = gi_star(counts, communes, permutations=999, seed=0)
    run.add(GI.make(median(ours), baseline=median(base), repetitions=reps, samples=ours,
                    detail={"communes": len(communes), "baseline_samples": base,
                            "hot": int((spots.frame["gi_bin"] > 0).sum()),
                            "cold": int((spots.frame["gi_bin"] < 0).sum())},
                    note="ours includes building the queen weights, the two-sided p-values, "
                         "the classes and the FDR correction"))
    seconds, _ = timed(lambda: gi_star(counts, communes, permutations=9999, seed=0))
    run.add(GI_DASHBOARD.make(seconds, baseline=median(ours), stat="single",
                              samples=[seconds],
                              note="dashboard.analysis runs Gi* with 9,999 permutations (so "
                                   "that FDR can reach the 99 % class): ten times the work, "
                                   "for each new filter state of the commander's page"))


def _cell_centres_km(cells: gpd.GeoDataFrame) -> np.ndarray:
    centres = shapely.centroid(cells.geometry.to_crs(METRIC_CRS).values)
    return np.column_stack([shapely.get_x(centres), shapely.get_y(centres)]) / 1000.0


def _sklearn_kde(points: pd.DataFrame, centres_km: np.ndarray) -> None:
    from pyproj import Transformer
    from sklearn.neighbors import KernelDensity

    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    x, y = to_metric.transform(points["lon"].to_numpy(float), points["lat"].to_numpy(float))
    model = KernelDensity(kernel="epanechnikov", bandwidth=BANDWIDTH_KM)
    model.fit(np.column_stack([x, y]) / 1000.0)
    np.exp(model.score_samples(centres_km)) * len(points)


def _kde(run: Run, incidents: pd.DataFrame, communes: gpd.GeoDataFrame) -> None:
    located = incidents[incidents["lat"].notna() & incidents["lon"].notna()]
    province = communes[communes["province_code"] == PROVINCE]
    in_province = located[located["new_code"].isin(province.index)]
    outline = gpd.GeoSeries([shapely.union_all(province.geometry.values)], crs=communes.crs)
    country = run.units.outline
    for spec, points, area, polys, reps in (
            (KDE_PROVINCE, in_province, outline, province, run.sizes.repetitions),
            (KDE_COUNTRY, located, country, communes, run.sizes.kde_country_repetitions)):
        run.log(f"{spec.title}: {len(points):,} located incidents × {reps}")

        def ours():
            return kernel_density(points, area, bandwidth_km=BANDWIDTH_KM, cell_km=CELL_KM,
                                  communes=polys, unit_set=NEW)

        samples, surface = [], None
        for _ in range(reps):
            seconds, surface = timed(ours)
            samples.append(seconds)
        centres = _cell_centres_km(surface.cells)
        base = [timed(lambda: _sklearn_kde(points, centres))[0] for _ in range(reps)]
        run.add(spec.make(median(samples), baseline=median(base), repetitions=reps,
                          samples=samples,
                          detail={"points": len(points), "cells": len(surface.cells),
                                  "integral": surface.integral, "baseline_samples": base},
                          note="quartic kernel, 5 km, edge-corrected to the outline, cells "
                               "given their commune; the baseline does neither"))


def _emerging(run: Run, incidents: pd.DataFrame, communes: gpd.GeoDataFrame) -> None:
    start, end = FIRST_DAY, LAST_DAY
    run.log(f"emerging hot spots, {len(communes):,} communes × 20 quarters, 999 permutations")
    seconds, layer = timed(lambda: emerging_layer(incidents, communes, unit_set=NEW, freq="Q",
                                                  start=start, end=end, permutations=999,
                                                  seed=0))
    quarters = len(layer.params["periods"])
    base, _ = timed(lambda: _naive_emerging(incidents, communes, start, end))
    categories = layer.frame["category"].value_counts().to_dict()
    run.add(EMERGING.make(seconds, baseline=base, stat="single", samples=[seconds],
                          detail={"quarters": quarters, "communes": len(communes),
                                  "categories": categories},
                          note="one esda G_Local (999 permutations) per quarter on the same "
                               "queen weights, Mann–Kendall per commune, 17 categories"))


def _naive_emerging(incidents: pd.DataFrame, communes: gpd.GeoDataFrame, start: dt.date,
                    end: dt.date) -> None:
    """The plain way: per quarter, weights from the polygons and esda's defaults; a trend per
    commune with scipy. No classification (that is cheap); the same statistics."""
    import esda
    from libpysal.weights import Queen
    from scipy.stats import kendalltau

    quarter = incidents["date"].dt.to_period("Q")
    kept = incidents[(incidents["date"] >= pd.Timestamp(start))
                     & (incidents["date"] <= pd.Timestamp(end))]
    table = kept.groupby([kept["new_code"], quarter[kept.index]]).size().unstack(fill_value=0)
    table = table.reindex(communes.index, fill_value=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zs = []
        for k, period in enumerate(table.columns):
            w = Queen.from_dataframe(communes, use_index=True, silence_warnings=True)
            g = esda.G_Local(table[period].to_numpy(float), w, star=True, permutations=999,
                             seed=k)
            zs.append(g.Zs)
        z = np.column_stack(zs)
        time_axis = np.arange(z.shape[1])
        for row in z:
            kendalltau(time_axis, row)


def _forecast(run: Run, incidents: pd.DataFrame, communes: gpd.GeoDataFrame) -> None:
    """The forecast's fit on every 2025 commune: the figure is the fit alone (the design
    rows, standardisation, the ridge optimisation, the next quarter's prediction); the
    counts, the closeness to the country's edge and the contiguity are prepared once, as the
    dashboard prepares them, and timed in ``detail``."""
    import statsmodels.api as sm

    from layers.emerging import period_counts
    from layers.forecast import design_matrix, fit_forecast
    from layers.inference import queen_contiguity
    from layers.proximity import border_distance

    run.log(f"forecast fit over {len(communes):,} communes × 20 quarters")
    units = pd.DataFrame(communes.drop(columns="geometry"))
    prep, (counts, static, graph) = timed(lambda: (
        period_counts(incidents, units, unit_set=NEW, freq="Q", start=FIRST_DAY, end=LAST_DAY),
        pd.DataFrame({"border": np.exp(-border_distance(
            communes, run.units.outline.boundary).to_numpy() / 10.0)}, index=communes.index),
        queen_contiguity(communes)))
    seconds, fit = timed(lambda: fit_forecast(counts, static, graph))

    def plain():
        rows = [design_matrix(counts, static, graph, p) for p in range(4, counts.shape[1])]
        x = sm.add_constant(pd.concat(rows, ignore_index=True).to_numpy(float))
        y = np.concatenate([counts.iloc[:, p].to_numpy(float) for p in range(4, counts.shape[1])])
        sm.GLM(y, x, family=sm.families.Poisson()).fit()

    base, _ = timed(plain)
    run.add(FORECAST.make(seconds, baseline=base, stat="single", samples=[seconds],
                          detail={"rows": fit.n_rows, "features": len(fit.features),
                                  "communes": len(communes), "quarters": counts.shape[1],
                                  "prepare_seconds": prep, "dispersion": fit.dispersion},
                          note="ridge (L2) on standardised features by BFGS; the baseline "
                               "fits the same rows without a penalty by IRLS"))
