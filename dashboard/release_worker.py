"""The release plan of the current records, built in a background thread.

Building the small-count suppression (:func:`layers.suppression.release_plan`) and the
plan indicators' release (:func:`layers.suppression.indicator_release`) solves the whole
incident table once: seconds to a minute. So it runs in a thread, started at the app's
start and on the first question after each import; the built plan is kept on disk
(:mod:`dashboard.plan_cache`) for the other workers and the next start. Until it is
ready, roles below commander see no count at all (fail closed); if it cannot be built,
they see none either, and a message saying so (:meth:`ReleaseWorker.failed`).
"""

from __future__ import annotations

import logging
import threading

from dashboard.context import AppContext

__all__ = ["ReleaseWorker"]


class ReleaseWorker:
    """The release of the current records of ``ctx``: one build per store revision."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self._lock = threading.Lock()
        self._state: dict | None = None

    def plan(self, wait: float = 0.0):
        """The :class:`layers.suppression.ReleasePlan`, or ``None`` while it is built
        (waiting up to ``wait`` seconds for it)."""
        return self._current(wait)["plan"]

    def indicators(self, wait: float = 0.0):
        """The :class:`layers.suppression.IndicatorRelease`, or ``None`` until built."""
        return self._current(wait)["indicators"]

    def failed(self) -> str | None:
        """Why the release of the current records could not be built (its error, one
        line), or None while it builds or once it is built."""
        state = self._current(0.0)
        error = state["error"] if state["done"].is_set() else None
        return None if error is None else f"{type(error).__name__}: {error}"[:300]

    def _current(self, wait: float) -> dict:
        records = self.ctx.records.current()
        with self._lock:
            state = self._state
            if state is None or state["revision"] != records.revision:
                state = {"revision": records.revision, "plan": None, "indicators": None,
                         "done": threading.Event(), "error": None}
                self._state = state
                threading.Thread(target=self._build, args=(state, records), daemon=True,
                                 name="release-plan").start()
        state["done"].wait(wait)
        return state

    def _build(self, state: dict, records) -> None:
        from dashboard.plan_cache import cached, plan_key
        from layers.suppression import indicator_release, release_plan

        threshold = self.ctx.settings.small_count
        incidents = records.incidents
        # no record yet (a new installation): every count is 0, over the extraction year
        years = {} if len(incidents) else {"first_year": self.ctx.extracted.year,
                                           "last_year": self.ctx.extracted.year}

        def build() -> dict:
            plan = release_plan(incidents, self.ctx.registry, threshold=threshold, **years)
            return {"plan": plan, "indicators": indicator_release(incidents, plan)}

        try:
            key = plan_key(incidents, self.ctx.registry.composition, threshold,
                           modules=("layers.suppression", "layers.targets"))
            built = cached(self.ctx.settings.cache_dir, key, build)
            state["plan"], state["indicators"] = built["plan"], built["indicators"]
        except Exception as err:  # noqa: BLE001 — kept for the log; callers stay closed
            state["error"] = err
            logging.getLogger("borderwatch").exception("release plan failed")
        finally:
            state["done"].set()
