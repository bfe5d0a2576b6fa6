"""The four roles and what each may open, decided on the server.

- **commander** (chỉ huy): every page and layer, incident points included; imports
  every kind of record, incidents included;
- **planner** (kế hoạch): the overview, coverage planning and imports of outreach,
  models and population; commune aggregates only, small counts suppressed;
- **viewer** (xem / ủy ban): the overview only; aggregates, small counts suppressed;
- **admin** (quản trị): users and plan files (command line), imports of outreach,
  models and population, the overview with small counts suppressed — an
  administrator manages the system, not cases;
- the reporting page (who has sent its report, :mod:`dashboard.pages.reporting`) is
  for the commander, the planner (the Standing Office) and the admin; not the viewer.

Incident records are imported only by the roles that may read them
(:data:`SEES_POINTS`): a role that sees suppressed counts could otherwise plant
records in a commune and read the true small count as the difference
(:func:`may_import`).

A Dash callback belongs to the page whose components it writes: its output
ids carry the page's prefix (``cmd-`` commander, ``plan-`` planner, ``import-``
import, ``ov-`` and the overview's map/filters/cards). :func:`may_update` refuses
a callback request unless every output belongs to a page the role may open,
so hiding a control is never the only barrier.
"""

from __future__ import annotations

import json
from typing import Iterable

from layers.suppression.roles import UNRESTRICTED_ROLES, Role

__all__ = ["PAGES", "POINT_KINDS", "ROLES", "SEES_POINTS", "declared_output_ids",
           "importable_kinds", "may_import",
           "may_open", "may_update", "output_ids", "page_of_output", "suppressed_for"]

#: The roles, as their names are stored with an account (one home: :class:`Role`).
ROLES = tuple(role.value for role in Role)

#: Path → the roles that may open it.
PAGES = {
    "/": frozenset(ROLES),
    "/commander": frozenset({"commander"}),
    "/planner": frozenset({"commander", "planner"}),
    "/import": frozenset({"commander", "planner", "admin"}),
    # who has reported: the Standing Office (planner) and the data officer (admin); no record
    "/reporting": frozenset({"commander", "planner", "admin"}),
}

#: Roles that see incident points and unsuppressed counts (the release's own rule).
SEES_POINTS = frozenset(role.value for role in UNRESTRICTED_ROLES)

#: Record kinds only the roles of :data:`SEES_POINTS` may import (they read them anyway).
POINT_KINDS = frozenset({"incidents"})

_PREFIXES = (("cmd-", "/commander"), ("plan-", "/planner"), ("import-", "/import"),
             ("rep-", "/reporting"),
             ("ov-", "/"), ("commune-map", "/"), ("filter-", "/"), ("kpi-", "/"))
#: Components of the frame every signed-in user has (page body, language links, presentation).
_FRAME = frozenset({"page", "rendered-view", "app-alert", "lang-link", "present-map",
                    "present-exit", "present-fullscreen", "present-wait", "present-reload"})


def may_open(role: str | None, path: str) -> bool:
    """Whether ``role`` may open the page at ``path`` (unknown paths fall back to "/")."""
    return role in PAGES.get(path, PAGES["/"])


def may_import(role: str | None, kind: str) -> bool:
    """Whether ``role`` may import records of ``kind`` (incidents: only roles that read them)."""
    return may_open(role, "/import") and (kind not in POINT_KINDS or role in SEES_POINTS)


def importable_kinds(role: str | None, kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds among ``kinds`` that ``role`` may import, in their order."""
    return tuple(k for k in kinds if may_import(role, k))


def suppressed_for(role: str | None) -> bool:
    """Whether counts shown to ``role`` go through small-count suppression."""
    return role not in SEES_POINTS


def page_of_output(component_id: str) -> str | None:
    """The page a component id belongs to; ``None`` for the frame's own components."""
    if component_id in _FRAME:
        return None
    for prefix, path in _PREFIXES:
        if component_id.startswith(prefix):
            return path
    return "/commander"  # unknown components: the strictest page


def output_ids(body: dict) -> list[str]:
    """The component ids a Dash callback request writes (its ``outputs``, any shape)."""
    outputs = body.get("outputs")
    items = outputs if isinstance(outputs, list) else [outputs]
    ids: list[str] = []
    for item in items:
        for one in (item if isinstance(item, list) else [item]):
            if not isinstance(one, dict):
                continue
            cid = one.get("id")
            if isinstance(cid, dict):  # pattern-matching id: its "type" names it
                cid = cid.get("type", "")
            elif isinstance(cid, str) and cid.startswith("{"):
                try:
                    cid = json.loads(cid).get("type", "")
                except (ValueError, AttributeError):
                    cid = ""
            ids.append(str(cid or ""))
    return ids


def declared_output_ids(key: str) -> list[str]:
    """The component ids a callback writes, read from its key in Dash's callback map
    (``"id.prop"``, ``"..id1.prop1...id2.prop2.."``, ``"id.prop@hash"``; a pattern id as
    its ``type``): what the server runs, whatever a request's ``outputs`` claim."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    ids: list[str] = []
    for part in parts:
        ident = part.rsplit(".", 1)[0]
        if ident.startswith("{"):
            try:
                ident = json.loads(ident).get("type", "")
            except (ValueError, AttributeError):
                ident = ""
        ids.append(str(ident))
    return ids


def may_update(role: str | None, component_ids: Iterable[str]) -> bool:
    """Whether ``role`` may run a callback writing ``component_ids``."""
    if role not in ROLES:
        return False
    ids = list(component_ids)
    if not ids:
        return False
    return all(page is None or may_open(role, page)
               for page in (page_of_output(c) for c in ids))
