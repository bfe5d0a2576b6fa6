"""Small-count suppression: what roles below commander may see of incident counts.

Bảo mật thông tin nạn nhân. Commanders see everything; every other role sees
incident counts only through a *release plan* built here, so that a renderer
cannot show what the released layer does not hold. The policy, its reasons,
its measured effect on the demo data and its limits are in
``docs/confidentiality.md``. The package, from the bottom up:

- :mod:`~layers.suppression.roles`: who asks, who sees counts as they are
  (:data:`UNRESTRICTED_ROLES`), and the refusals (the release fails closed);
- :mod:`~layers.suppression.tables`: count tables, their cells and the
  additive relations a reader knows;
- :mod:`~layers.suppression.engine` and :mod:`~layers.suppression.audit`:
  the generic cell suppression (primary, complementary to a fixpoint) and
  the attacker's linear programs that check it; they know nothing of
  incidents;
- :mod:`~layers.suppression.dimensions`: units, the period grid and types,
  and the one incident table over them;
- :mod:`~layers.suppression.national`: a registry of several provinces
  released province by province, the province totals as the margins of a
  national table;
- :mod:`~layers.suppression.plan`: :class:`ReleasePlan`, that table
  suppressed once per data version;
- :mod:`~layers.suppression.release`: the role gate :func:`for_role` and the
  release rule of each layer;
- :mod:`~layers.suppression.indicators`: the plan indicators drawn from
  incident records, released under the same rule.

Usage, once per data version (after each import) and per request::

    plan = release_plan(incidents, registry)              # threshold=5
    period = plan.snap(start, end)                        # maybe rounded: say so
    layer = incident_counts(incidents, communes, unit_set="2025",
                            types=["victim"], start=period.start, end=period.end)
    shown = for_role(layer, role, plan=plan)
"""

from layers.suppression.dimensions import (
    SnappedPeriod, incident_table, orphan_communes, period_hierarchy, snap_period, stray_pieces,
    type_hierarchy, unit_hierarchy, unit_key,
)
from layers.suppression.engine import (
    COMPLEMENTARY, COMPLEMENTARY_LABEL, DEFAULT_THRESHOLD, HIDDEN, PRIMARY, PUBLISHED,
    Suppression, cell_labels, disclosure_bounds, suppress, suppressed_label,
)
from layers.suppression.indicators import IndicatorRelease, indicator_release
from layers.suppression.national import (
    NATION, NationalRelease, national_release, province_codes, province_of, province_registry,
)
from layers.suppression.plan import ReleasePlan, release_plan
from layers.suppression.release import for_role, release_layer
from layers.suppression.roles import UNRESTRICTED_ROLES, PointDataRefused, ReleaseRefused, Role
from layers.suppression.tables import CountTable, Hierarchy, hierarchy_table, margins_table

__all__ = [
    "COMPLEMENTARY",
    "COMPLEMENTARY_LABEL",
    "DEFAULT_THRESHOLD",
    "HIDDEN",
    "NATION",
    "PRIMARY",
    "PUBLISHED",
    "UNRESTRICTED_ROLES",
    "CountTable",
    "Hierarchy",
    "IndicatorRelease",
    "NationalRelease",
    "PointDataRefused",
    "ReleasePlan",
    "ReleaseRefused",
    "Role",
    "SnappedPeriod",
    "Suppression",
    "cell_labels",
    "disclosure_bounds",
    "for_role",
    "hierarchy_table",
    "incident_table",
    "indicator_release",
    "margins_table",
    "national_release",
    "orphan_communes",
    "period_hierarchy",
    "province_codes",
    "province_of",
    "province_registry",
    "release_layer",
    "release_plan",
    "snap_period",
    "stray_pieces",
    "suppress",
    "suppressed_label",
    "type_hierarchy",
    "unit_hierarchy",
    "unit_key",
]
