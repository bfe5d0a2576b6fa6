"""Who may see what: accounts, sessions, roles, and the audit log of the dashboard.

- :mod:`dashboard.auth.roles` — the four roles and what each may open;
- :mod:`dashboard.auth.accounts` — users with argon2 password hashes, sessions,
  sign-in throttling, the audit log (one SQLite file beside the store);
- :mod:`dashboard.auth.web` — the Flask side: sign-in page, session cookie,
  CSRF check and the role check of every request and every Dash callback.
"""

from dashboard.auth.accounts import Accounts, AccountError
from dashboard.auth.roles import ROLES, may_open, may_update

__all__ = ["ROLES", "AccountError", "Accounts", "may_open", "may_update"]
