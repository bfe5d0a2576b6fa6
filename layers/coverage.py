"""Coverage of prevention models (mô hình phòng ngừa): which communes have which models, when.

The planner's question is "which communes have no model?", and the
programme's targets are shares of communes: ≥ 30 % of key communes with an
intensive model (mô hình chuyên sâu), 50 % of all communes with an integrated
one (mô hình lồng ghép), 100 % of key areas covered. Which models are active
(:func:`active_models`) is decided here for every page, layer and target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from geo.units import code_column
from geo.kinds import KINDS
from layers.layer import Caveat, Layer

__all__ = ["COVERAGE_SCALE", "MODEL_CLASSES", "MODEL_TYPES", "active_models",
           "model_coverage", "uncovered_key_areas"]

#: Model types of the interchange format, in its order (Zalo phòng, chống tội phạm, móc
#: khóa ANTT, khu nhà trọ văn hóa, camera ANTT, dân phòng xung kích, hỗ trợ nạn nhân, khác).
MODEL_TYPES = tuple(
    choice.code for f in KINDS["models"].fields if f.name == "model_type" for choice in f.choices
)
#: The two classes of the national programme (chuyên sâu, lồng ghép); a model may have neither.
MODEL_CLASSES = tuple(
    choice.code for f in KINDS["models"].fields if f.name == "class" for choice in f.choices
)

#: Sequential scale for the number of active models: 0 ("no model") is a light neutral
#: grey, every positive count a colour of ColorBrewer YlGnBu (colour-blind safe) from a
#: clearly darker green-blue; lightness falls monotonically, so it reads in grey print.
COVERAGE_SCALE = (
    (0.0, "#f0f0f0"),
    (0.001, "#a1dab4"),
    (0.33, "#41b6c4"),
    (0.66, "#2c7fb8"),
    (1.0, "#253494"),
)

_MODEL_COLUMNS = ("model_type", "model_class", "start_date", "end_date", "new_code", "old_code")


def active_models(models: pd.DataFrame, on: dt.date | None = None, *,
                  start: dt.date | None = None, end: dt.date | None = None) -> pd.Series:
    """Which prevention models are active on the day ``on``, or on some day from ``start``
    to ``end`` (both days included; a bound left out leaves that side open).

    A model is active on a day when it started on or before that day and has
    not ended before it: the end day itself counts, no end date means still
    running, and days are compared whole (a time of day is ignored). A model
    that ends before it starts is never active. A model with **no start
    date is not active**: the importer refuses one (``start_date`` is
    required), and the plans count a model from the day it was set up (xây
    dựng mô hình), so a model whose start is unknown earns no commune a
    target, a coverage or a place in the side panel.

    Parameters
    ----------
    models : DataFrame
        ``start_date`` and ``end_date`` (dates; missing allowed).
    on : date, optional
        One day; not with ``start`` or ``end``.
    start, end : date, optional
        A period.

    Returns
    -------
    Series of bool
        Indexed as ``models``.

    Examples
    --------
    >>> m = pd.DataFrame({"start_date": pd.to_datetime(["2024-01-01", "2025-01-01", None]),
    ...                   "end_date": pd.to_datetime(["2024-06-30", None, None])})
    >>> active_models(m, dt.date(2024, 6, 30)).tolist()
    [True, False, False]
    >>> active_models(m, dt.date(2024, 7, 1)).tolist()
    [False, False, False]
    >>> active_models(m, start=dt.date(2024, 6, 1), end=dt.date(2025, 1, 1)).tolist()
    [True, True, False]
    """
    if on is not None:
        if start is not None or end is not None:
            raise ValueError("give a day (on) or a period (start, end), not both")
        start = end = on
    begun = pd.to_datetime(models["start_date"]).dt.normalize()
    ended = pd.to_datetime(models["end_date"]).dt.normalize()
    active = begun.notna() & (ended.isna() | (ended >= begun))
    if end is not None:
        active &= begun <= pd.Timestamp(end)
    if start is not None:
        active &= ended.isna() | (ended >= pd.Timestamp(start))
    return active

def model_coverage(
    models: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    unit_set: str = "2025",
    on: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    model_types: Iterable[str] | None = None,
    caveats: Iterable[Caveat] = (),
) -> Layer:
    """Prevention models active per commune on a day, or at any time during a period.

    Parameters
    ----------
    models : DataFrame
        Joined model records: ``model_type``, ``model_class`` (``intensive``,
        ``integrated`` or missing), ``start_date``, ``end_date`` (datetime64;
        NaT = still running), ``new_code``, ``old_code``.
    communes : DataFrame
        The units of ``unit_set`` indexed by code with ``name``; every one
        appears in the result, with 0 where there is no model.
    unit_set : {"2025", "legacy"}
        Which code column to group by.
    on : date, optional
        Count the models active on this day (bounds inclusive: a model ending
        on ``on`` counts, one starting the day after does not).
    start, end : date, optional
        Instead of ``on``: count the models active on at least one day of the
        inclusive period ``start``–``end`` (started on or before ``end``, not
        ended before ``start``). One of them may be left out: the period is
        then open on that side.
    model_types : iterable of str, optional
        Model types to count (codes of :data:`MODEL_TYPES`); all when ``None``.
        Records of other types are ignored.
    caveats : iterable of Caveat
        Carried to every rendering (synthetic data, approximate boundaries).

    Returns
    -------
    Layer
        ``frame``: ``name``, ``total`` (the mapped value: active models), one
        count column per chosen type (named by its code), ``intensive``,
        ``integrated`` (models of that class) and ``has_model`` (bool).
        ``params``: ``on``, ``start``, ``end`` (dates or None),
        ``model_types``, ``total`` (active models in the communes),
        ``n_communes``, ``n_with_model``, ``n_without_model``,
        ``without_model`` (codes, in the communes' order), ``n_with_intensive``,
        ``n_with_integrated``, ``by_type`` and ``by_class`` (province-wide
        counts; ``by_class`` also counts ``unclassified`` models) and
        ``unplaced`` (active models whose code is not one of ``communes``).

    Raises
    ------
    ValueError
        For an unknown ``unit_set`` or model type, ``on`` given with a period,
        neither ``on`` nor a period given, ``end`` before ``start``, or missing
        columns.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"model_type": ["zalo_group", "security_camera"],
    ...                   "model_class": ["intensive", None],
    ...                   "start_date": pd.to_datetime(["2024-01-01", "2025-03-01"]),
    ...                   "end_date": pd.to_datetime(["2024-12-31", None]),
    ...                   "new_code": ["25681", "25681"], "old_code": ["25699", "25699"]})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập"]}, index=["25681", "25489"])
    >>> layer = model_coverage(m, com, on=dt.date(2024, 12, 31))
    >>> layer.frame[["total", "zalo_group", "intensive", "has_model"]].values.tolist()
    [[1, 1, 1, True], [0, 0, 0, False]]
    >>> layer.params["without_model"]
    ('25489',)
    >>> model_coverage(m, com, start=dt.date(2024, 6, 1), end=dt.date(2025, 6, 1)).total
    2.0
    """
    column = code_column(unit_set)
    chosen = _chosen_types(model_types)
    day, first, last = _when(on, start, end)
    _require(models, _MODEL_COLUMNS, "models")
    active = models.loc[active_models(models, day, start=first, end=last)
                        & models["model_type"].isin(chosen)]
    placed = active[active[column].isin(communes.index)]
    frame = _per_commune(placed, communes, column, chosen)
    without = tuple(frame.index[~frame["has_model"]])
    classes = placed["model_class"]
    return Layer(
        frame=frame,
        value="total",
        unit_set=unit_set,
        kind="coverage",
        title_key="layer.coverage.title",
        legend_key="layer.coverage.legend",
        units_key="unit.models",
        params={
            "on": day, "start": first, "end": last, "model_types": chosen,
            "total": len(placed),
            "n_communes": len(frame),
            "n_with_model": int(frame["has_model"].sum()),
            "n_without_model": len(without),
            "without_model": without,
            "n_with_intensive": int((frame["intensive"] > 0).sum()),
            "n_with_integrated": int((frame["integrated"] > 0).sum()),
            "by_type": {t: int(frame[t].sum()) for t in chosen},
            "by_class": {
                **{c: int((classes == c).sum()) for c in MODEL_CLASSES},
                "unclassified": int((~classes.isin(MODEL_CLASSES)).sum()),
            },
            "unplaced": int(len(active) - len(placed)),
        },
        colorscale=COVERAGE_SCALE,
        caveats=tuple(caveats),
    )


def uncovered_key_areas(coverage: Layer, key_codes: Iterable[str]) -> pd.DataFrame:
    """The key-area communes (địa bàn trọng điểm) with no intensive model, and what they have.

    Parameters
    ----------
    coverage : Layer
        A layer from :func:`model_coverage` (its date or period and type
        filter are those of the answer).
    key_codes : iterable of str
        Codes of the key-area communes, of the layer's unit set.

    Returns
    -------
    DataFrame
        Indexed by ``code``, one row per key commune without an intensive
        model: ``name``; ``gap``, ``"no_model"`` (nothing at all) or
        ``"no_intensive"`` (only integrated or unclassified models); ``total``,
        ``integrated``, one count column per model type of the layer, and
        ``types`` (the codes of the types present). Rows with no model come
        first, then in the order of ``key_codes``.

    Raises
    ------
    ValueError
        If ``coverage`` is not a coverage layer, or a code is not one of its
        communes.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"model_type": ["zalo_group", "hotline_keyring"],
    ...                   "model_class": ["integrated", "intensive"],
    ...                   "start_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
    ...                   "end_date": pd.NaT, "new_code": ["25681", "25522"],
    ...                   "old_code": ["25699", "25522"]})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập", "Xã Tân Đông"]},
    ...                    index=["25681", "25489", "25522"])
    >>> gaps = uncovered_key_areas(model_coverage(m, com, on=dt.date(2025, 1, 1)),
    ...                            ["25681", "25489", "25522"])
    >>> gaps[["gap", "total"]].to_dict("index")
    {'25489': {'gap': 'no_model', 'total': 0}, '25681': {'gap': 'no_intensive', 'total': 1}}
    >>> gaps.loc["25681", "types"]
    ('zalo_group',)
    """
    frame = coverage.frame
    types = tuple(coverage.params.get("model_types", ()))
    needed = {"name", "total", "intensive", "integrated", *types}
    if "model_types" not in coverage.params or not needed <= set(frame.columns):
        raise ValueError("uncovered_key_areas needs a layer from model_coverage")
    codes = list(dict.fromkeys(str(c) for c in key_codes))
    unknown = [c for c in codes if c not in frame.index]
    if unknown:
        raise ValueError(f"key-area codes not among the layer's {coverage.unit_set!r} communes: "
                         f"{unknown[:10]}")
    rows = frame.loc[codes]
    rows = rows[rows["intensive"] == 0]
    out = rows[["name"]].copy()
    out.insert(1, "gap", ["no_model" if n == 0 else "no_intensive" for n in rows["total"]])
    out["total"] = rows["total"].astype(int)
    out["integrated"] = rows["integrated"].astype(int)
    for t in types:
        out[t] = rows[t].astype(int)
    out["types"] = [tuple(t for t in types if row[t] > 0) for _, row in rows.iterrows()]
    out = out.sort_values("gap", key=lambda g: g != "no_model", kind="stable")
    out.index.name = "code"
    return out


# -- private helpers ---------------------------------------------------------


def _chosen_types(model_types: Iterable[str] | None) -> tuple[str, ...]:
    if isinstance(model_types, str):
        model_types = (model_types,)
    chosen = MODEL_TYPES if model_types is None else tuple(dict.fromkeys(model_types))
    unknown = [t for t in chosen if t not in MODEL_TYPES]
    if unknown:
        raise ValueError(f"unknown model types {unknown}; expected some of {list(MODEL_TYPES)}")
    return tuple(t for t in MODEL_TYPES if t in chosen)


def _as_date(value, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ValueError(f"{name} is not a date: {value!r}")
    return stamp.date()


def _when(on, start, end) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    """Check the date or period asked for: exactly one of ``on`` or a (half-open) period."""
    day, first, last = _as_date(on, "on"), _as_date(start, "start"), _as_date(end, "end")
    if day is not None and (first is not None or last is not None):
        raise ValueError("give either a date `on` or a period `start`–`end`, not both")
    if day is None and first is None and last is None:
        raise ValueError("give a date `on` or a period `start`–`end`")
    if first is not None and last is not None and last < first:
        raise ValueError(f"end {last} is before start {first}")
    return day, first, last


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing}")


def _per_commune(placed: pd.DataFrame, communes: pd.DataFrame, column: str,
                 types: tuple[str, ...]) -> pd.DataFrame:
    frame = communes[["name"]].copy()
    frame["total"] = placed.groupby(column).size().reindex(frame.index, fill_value=0).astype(int)
    by_type = (placed.groupby([column, "model_type"]).size().unstack(fill_value=0)
               if len(placed) else pd.DataFrame(index=pd.Index([], name=column)))
    by_type = by_type.reindex(index=frame.index, columns=list(types), fill_value=0)
    for t in types:
        frame[t] = by_type[t].fillna(0).astype(int)
    for c in MODEL_CLASSES:
        frame[c] = (placed.loc[placed["model_class"] == c].groupby(column).size()
                    .reindex(frame.index, fill_value=0).astype(int))
    frame["has_model"] = frame["total"] > 0
    return frame
