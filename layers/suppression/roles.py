"""Who asks: the roles, which of them see counts as they are, and the refusals."""

from __future__ import annotations

from enum import Enum



__all__ = [
    "PointDataRefused",
    "ReleaseRefused",
    "Role",
    "UNRESTRICTED_ROLES",
]


class Role(str, Enum):
    """Who is asking (the dashboard's roles; authentication is not done here)."""

    COMMANDER = "commander"  #: incident points and every layer, unsuppressed
    PLANNER = "planner"  #: commune aggregates, coverage, imports
    VIEWER = "viewer"  #: committee presenter: aggregates only
    ADMIN = "admin"  #: accounts and configuration

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str) and value.strip().lower() == "committee":
            return cls.VIEWER
        if isinstance(value, str) and value.strip().lower() != value:
            return cls(value.strip().lower())
        return None


#: Roles that see counts as they are. Every other role gets suppressed aggregates only.
UNRESTRICTED_ROLES = frozenset({Role.COMMANDER})


class ReleaseRefused(PermissionError):
    """This object has no release rule for a role below commander (the release fails closed)."""


class PointDataRefused(ReleaseRefused):
    """Record-level or point-derived data asked for a role below commander."""
