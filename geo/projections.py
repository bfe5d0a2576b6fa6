"""VN-2000, the Vietnamese national datum, as pyproj CRSs with one fixed shift to WGS 84.

Hệ tọa độ quốc gia VN-2000. Vietnamese survey and cadastral files are in
VN-2000 projected coordinates: the local TM-3 zone (3° transverse Mercator,
k0 = 0.9999, false easting 500 000 m, false northing 0, WGS 84 ellipsoid) with
the province's central meridian (kinh tuyến trục: Tây Ninh 105°30', Long An
105°45'), or UTM zone 48N (k0 = 0.9996, central meridian 105°).

The shift to WGS 84
-------------------
Circular 973/2001/TT-TCĐC publishes seven parameters from VN-2000 to WGS 84:
dX = -191.90441429 m, dY = -39.30318279 m, dZ = -111.45032835 m,
rX = -0.00928836", rY = +0.01975479", rZ = -0.00427372", dS = +0.252906278 ppm.

EPSG holds them as transformation EPSG:6960 "VN-2000 to WGS 84 (2)" (version
DoSM-Vnm, area "Vietnam - onshore") with the **coordinate-frame** method
(EPSG:9607), as does Decision 05/2007/QĐ-BTNMT. PROJ's ``+towgs84`` takes the
**position-vector** convention (EPSG:9606), so the PROJ string of the same
shift has the three rotations negated::

    +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278

The string often copied with the published signs unchanged
(``...,-0.00928836,0.01975479,-0.00427372,...``) applies the rotations the
other way. Measured over the province (PROJ 9.5.1, grid of 728 points):
**0.54-0.58 m** from EPSG:6960 (0.556 m at the Mộc Bài gate). This module
follows EPSG:6960: every CRS here is a ``BoundCRS`` whose transformation is the
EPSG operation itself, read from PROJ's database, so no parameter is retyped.

EPSG codes and what PROJ does with them
---------------------------------------
EPSG has VN-2000 geographic (EPSG:4756), VN-2000 / UTM zone 48N (EPSG:3405),
and the TM-3 zones, among them EPSG:9209 "VN-2000 / TM-3 105-30" (Tây Ninh)
and EPSG:9210 "VN-2000 / TM-3 105-45" (Long An). A bare EPSG code carries no
shift of its own: PROJ then chooses between two EPSG transformations point by
point, EPSG:6960 (all of Vietnam) and EPSG:5194 "VN-2000 to WGS 84 (1)"
(Total's Mekong delta parameters, area "DBSCL 02 and 03", 9.35-11.04°N). South
of 11.04°N (the former Long An and the south of the former Tây Ninh) PROJ
picks EPSG:5194, which differs from EPSG:6960 by up to 0.81 m, so a bare code
gives a 0.8 m step across the province. :func:`resolve_crs` and :func:`bind_vn2000` therefore pin
every VN-2000 CRS to EPSG:6960.

The shift itself is about 225 m at Mộc Bài (the same point has VN-2000
latitude/longitude about 225 m north-west of its WGS 84 ones); a file read
without it is wrong by that much, which no check on commune positions can see.
Shapefiles lose it: an ESRI ``.prj`` has no TOWGS84, so a layer written from a
``+towgs84`` string comes back with a datum named
"D_Unknown_based_on_WGS_84_ellipsoid_using_towgs84_-191_90441429_...".
:func:`bind_vn2000` recognises that name, and "Vietnam 2000" / "D_Vietnam_2000",
and binds the shift again.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyproj
from pyproj.crs import BoundCRS, CoordinateOperation, ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.database import query_crs_info
from pyproj.enums import PJType
from pyproj.exceptions import CRSError

__all__ = [
    "LONG_AN_MERIDIAN",
    "TAY_NINH_MERIDIAN",
    "VN2000",
    "VN2000_GEOGRAPHIC_EPSG",
    "VN2000_TO_WGS84_EPSG",
    "VN2000_UTM48",
    "VN2000_UTM48_EPSG",
    "bind_vn2000",
    "is_vn2000",
    "resolve_crs",
    "vn2000_tm3",
]

#: Central meridians (kinh tuyến trục) of the TM-3 zones of the two former provinces.
TAY_NINH_MERIDIAN = 105.5
LONG_AN_MERIDIAN = 105.75
#: EPSG codes: VN-2000 geographic, VN-2000 / UTM 48N, and the Circular 973 shift.
VN2000_GEOGRAPHIC_EPSG = 4756
VN2000_UTM48_EPSG = 3405
VN2000_TO_WGS84_EPSG = 6960

_TM3_SCALE = 0.9999
_FALSE_EASTING = 500_000.0
_WGS84_AXES = (6378137.0, 298.257223563)
# Meridians a VN-2000 TM-3 zone can have (Vietnam spans about 102°-110° E).
_MERIDIAN_RANGE = (102.0, 110.0)
# Datum names meaning VN-2000 once folded (EPSG, ESRI, GDAL spellings).
_VN2000_DATUMS = {"vietnam2000", "dvietnam2000", "vn2000", "dvn2000"}
# GDAL's name for a datum whose +towgs84 was dropped (ESRI .prj): the dX of VN-2000.
_LOST_TOWGS84 = re.compile(r"towgs84_-191_9044")
_TM3_ALIAS = re.compile(
    r"^vn-?2000[-_ /]*tm-?3[-_ /]*(?:(\d{3})-(\d{2})|(\d{2,3}(?:\.\d+)?))$", re.IGNORECASE
)
_UTM48_ALIAS = re.compile(r"^vn-?2000[-_ /]*utm[-_ ]*48n?$", re.IGNORECASE)
_GEOGRAPHIC_ALIAS = re.compile(r"^vn-?2000$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _vn2000_to_wgs84() -> CoordinateOperation:
    """EPSG:6960, the Circular 973/2001 parameters, from PROJ's database."""
    return CoordinateOperation.from_epsg(VN2000_TO_WGS84_EPSG)


def _bound(crs: pyproj.CRS) -> BoundCRS:
    """``crs`` with the Circular 973 shift to WGS 84 attached."""
    return BoundCRS(
        source_crs=crs,
        target_crs=pyproj.CRS.from_epsg(4326),
        transformation=_vn2000_to_wgs84(),
    )


#: VN-2000 geographic (EPSG:4756, latitude/longitude), shifted to WGS 84 by EPSG:6960.
VN2000: BoundCRS = _bound(pyproj.CRS.from_epsg(VN2000_GEOGRAPHIC_EPSG))
#: VN-2000 / UTM zone 48N (EPSG:3405), shifted to WGS 84 by EPSG:6960.
VN2000_UTM48: BoundCRS = _bound(pyproj.CRS.from_epsg(VN2000_UTM48_EPSG))


def vn2000_tm3(central_meridian: float) -> BoundCRS:
    """VN-2000 / TM-3 zone with this central meridian, shifted to WGS 84 by EPSG:6960.

    The projected part is the EPSG CRS of that meridian when EPSG has one
    (105.5 → EPSG:9209, 105.75 → EPSG:9210), else a transverse Mercator built
    on VN-2000 with k0 = 0.9999 and false easting 500 000 m.

    Parameters
    ----------
    central_meridian : float
        Kinh tuyến trục in decimal degrees east (Tây Ninh 105.5, Long An 105.75).

    Returns
    -------
    pyproj.crs.BoundCRS
        Easting, northing in metres; ``.source_crs`` is the projected CRS.

    Examples
    --------
    >>> crs = vn2000_tm3(105.5)
    >>> crs.source_crs.to_epsg(), crs.name
    (9209, 'VN-2000 / TM-3 105-30')
    """
    meridian = float(central_meridian)
    low, high = _MERIDIAN_RANGE
    if not low <= meridian <= high:
        raise ValueError(
            f"a VN-2000 TM-3 central meridian lies between {low}° and {high}° E, not {meridian}"
        )
    return _bound(_tm3_projected(meridian))


def is_vn2000(crs: pyproj.CRS) -> bool:
    """Whether a CRS is on the VN-2000 datum (by EPSG, ESRI or GDAL datum name).

    Also true for the datum GDAL names after an ESRI ``.prj`` lost a VN-2000
    ``+towgs84`` ("Unknown based on WGS 84 ellipsoid using towgs84=-191.90441429...").
    """
    crs = crs.source_crs if crs.is_bound else crs
    datum = crs.datum
    if datum is None or crs.ellipsoid is None:
        return False
    ellipsoid = (crs.ellipsoid.semi_major_metre, crs.ellipsoid.inverse_flattening)
    if any(abs(a - b) > 1e-6 for a, b in zip(ellipsoid, _WGS84_AXES, strict=True)):
        return False
    folded = re.sub(r"[^0-9a-z]", "", datum.name.lower())
    mangled = re.sub(r"[^0-9A-Za-z-]", "_", datum.name)
    return folded in _VN2000_DATUMS or bool(_LOST_TOWGS84.search(mangled))


def bind_vn2000(crs: pyproj.CRS) -> pyproj.CRS:
    """Pin a VN-2000 CRS that carries no shift of its own to EPSG:6960; return others unchanged.

    A CRS that already has an explicit shift (a ``BoundCRS``: a ``+towgs84``
    or a WKT ``TOWGS84``) is kept as the file's author gave it.

    Parameters
    ----------
    crs : pyproj.CRS

    Returns
    -------
    pyproj.CRS
        A ``BoundCRS`` to WGS 84 for an unbound VN-2000 CRS, else ``crs``.

    Examples
    --------
    >>> bind_vn2000(pyproj.CRS.from_epsg(9209)).is_bound
    True
    >>> bind_vn2000(pyproj.CRS.from_epsg(32648)).is_bound
    False
    """
    if crs.is_bound or crs.is_compound or not is_vn2000(crs):
        return crs
    return _bound(crs)


def resolve_crs(value: str | pyproj.CRS) -> pyproj.CRS:
    """A CRS from what a user types: our VN-2000 aliases, an EPSG code, WKT or a PROJ string.

    Aliases (case-insensitive): ``VN2000-TM3-105.5`` (Tây Ninh),
    ``VN2000-TM3-105.75`` (Long An), any ``VN2000-TM3-<meridian>`` in decimal
    degrees or as ``105-30``, ``VN2000-UTM48`` and ``VN2000`` (geographic).
    VN-2000 CRSs without a shift of their own (``EPSG:9209``, ``EPSG:3405``...)
    are pinned to EPSG:6960 by :func:`bind_vn2000`.

    Parameters
    ----------
    value : str or pyproj.CRS

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    ValueError
        When the text is neither an alias nor a CRS pyproj understands.

    Examples
    --------
    >>> resolve_crs("VN2000-TM3-105.75").name
    'VN-2000 / TM-3 105-45'
    >>> resolve_crs("EPSG:4326").to_epsg()
    4326
    """
    if isinstance(value, pyproj.CRS):
        return bind_vn2000(value)
    text = str(value).strip()
    if not text:
        raise ValueError(f"empty CRS; {_ALIAS_HELP}")
    if m := _TM3_ALIAS.match(text):
        degrees, minutes, decimal = m.groups()
        meridian = float(decimal) if decimal else int(degrees) + int(minutes) / 60
        return vn2000_tm3(meridian)
    if _UTM48_ALIAS.match(text):
        return VN2000_UTM48
    if _GEOGRAPHIC_ALIAS.match(text):
        return VN2000
    try:
        crs = pyproj.CRS.from_user_input(text)
    except CRSError as err:
        raise ValueError(f"not a coordinate reference system: {text!r}; {_ALIAS_HELP}") from err
    return bind_vn2000(crs)


_ALIAS_HELP = (
    "expected VN2000-TM3-105.5 (Tây Ninh), VN2000-TM3-105.75 (Long An), VN2000-UTM48, "
    "an EPSG code such as EPSG:9209, WKT, or a PROJ string"
)


# -- private helpers ---------------------------------------------------------


@lru_cache(maxsize=1)
def _epsg_tm3_zones() -> dict[float, int]:
    """EPSG's VN-2000 TM-3 CRSs by central meridian (k0 0.9999, FE 500 000 m)."""
    zones: dict[float, int] = {}
    for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS):
        if info.deprecated or not info.name.startswith("VN-2000 / TM-3"):
            continue
        crs = pyproj.CRS.from_epsg(info.code)
        params = {p.name: p.value for p in crs.coordinate_operation.params}
        if (
            params.get("Scale factor at natural origin") == _TM3_SCALE
            and params.get("False easting") == _FALSE_EASTING
            and params.get("False northing") == 0
        ):
            zones.setdefault(float(params["Longitude of natural origin"]), int(info.code))
    return zones


def _tm3_projected(meridian: float) -> pyproj.CRS:
    code = _epsg_tm3_zones().get(meridian)
    if code is not None:
        return pyproj.CRS.from_epsg(code)
    degrees, minutes = divmod(round(meridian * 60), 60)
    return ProjectedCRS(
        conversion=TransverseMercatorConversion(
            latitude_natural_origin=0,
            longitude_natural_origin=meridian,
            false_easting=_FALSE_EASTING,
            false_northing=0,
            scale_factor_natural_origin=_TM3_SCALE,
        ),
        name=f"VN-2000 / TM-3 {degrees}-{minutes:02d}",
        geodetic_crs=pyproj.CRS.from_epsg(VN2000_GEOGRAPHIC_EPSG),
    )

