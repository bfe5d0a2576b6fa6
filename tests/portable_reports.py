"""A pytest plugin: every test report can cross from an xdist worker to the controller.

The worker sends each report over execnet, which refuses a string that UTF-8 cannot
hold (a lone surrogate: ``DumpError``). The fuzz tests draw such text on purpose, so a
failing example would print it in the failure's message; the refusal then ends the
worker (``INTERNALERROR``, "no active workers") instead of failing the one test. The
serialised report's strings are written with ``backslashreplace`` here (``\\udc80``
shows as those six characters), so the failure is reported like any other.
"""

from __future__ import annotations

import pytest

__all__ = ["portable", "pytest_report_to_serializable"]


def portable(value):
    """``value`` (the JSON-like data of a serialised report) with every string UTF-8 can
    hold: a string with a lone surrogate is written with ``backslashreplace``.

    Examples
    --------
    >>> portable({"longrepr": ["x == 'a\\udc80'"], "n": 1})
    {'longrepr': ["x == 'a\\\\udc80'"], 'n': 1}
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {portable(k): portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(portable(v) for v in value)
    return value


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config, report):
    """The report as pytest serialises it, every string made UTF-8 (:func:`portable`)."""
    data = yield
    return portable(data) if data is not None else data
