"""Numbers written for a person (geo/catalogue.py): exactly as Babel writes them, faster."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.catalogue import format_number

LOCALES = {"vi": "vi_VN", "en": "en_GB"}


def _babel(value, lang: str, digits: int) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=LOCALES[lang])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                 st.integers(-10 ** 15, 10 ** 15),
                 st.decimals(allow_nan=False, allow_infinity=False, places=4,
                             min_value=-10 ** 9, max_value=10 ** 9)),
       st.sampled_from(["vi", "en"]), st.integers(0, 3))
def test_the_same_text_as_babel(value, lang, digits):
    try:
        expected = _babel(value, lang, digits)
    except Exception as err:  # noqa: BLE001 - beyond Decimal's precision (1e28): the same error
        with pytest.raises(type(err)):
            format_number(value, lang, digits)
        return
    assert format_number(value, lang, digits) == expected


@pytest.mark.parametrize(("value", "lang", "digits", "text"), [
    (1835, "vi", 0, "1.835"), (1835, "en", 0, "1,835"),
    (1234567.25, "vi", 1, "1.234.567,2"),  # half to even, as Babel
    (0.35, "vi", 1, "0,4"),  # the decimal 0.35 (as written), not the binary 0.34999…
    (-0.04, "en", 1, "-0.0"),  # the sign of the value before rounding, as Babel
    (np.float64(12.345), "vi", 2, "12,34"), (np.int64(-7), "en", 0, "-7"),
    (Decimal("2.5"), "en", 0, "2"),
])
def test_known_texts(value, lang, digits, text):
    assert format_number(value, lang, digits) == text == _babel(value, lang, digits)


def test_what_is_not_a_finite_number_is_written_or_refused_as_babel_does():
    assert format_number(math.nan, "vi") == _babel(math.nan, "vi", 0)
    assert format_number(-math.inf, "en", 1) == _babel(-math.inf, "en", 1)
    with pytest.raises(Exception) as ours:
        format_number("mười", "vi")
    with pytest.raises(Exception) as theirs:
        _babel("mười", "vi", 0)
    assert type(ours.value) is type(theirs.value)


# -- many numbers at once (format_numbers): the text of format_number, value by value --------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.integers(-10 ** 12, 10 ** 12),
                          st.sampled_from([0.05, 0.15, 0.25, 0.35, 2.5, -0.05, -0.0, 1e9 + 0.5,
                                           123456789.95, 0.1 + 0.2])),
                min_size=0, max_size=40),
       st.sampled_from(["vi", "en"]), st.integers(0, 3))
def test_format_numbers_writes_what_format_number_writes(values, lang, digits):
    from geo.catalogue import format_numbers

    try:
        expected = [format_number(v, lang, digits) for v in values]
    except Exception as err:  # noqa: BLE001 - beyond Decimal's precision: the same error
        with pytest.raises(type(err)):
            format_numbers(values, lang, digits)
        return
    assert format_numbers(values, lang, digits) == expected


def test_format_numbers_takes_digits_per_value_and_numpy_arrays():
    from geo.catalogue import format_numbers

    rates = np.random.default_rng(3).gamma(1.0, 3.0, 3321)
    places = np.arange(3321) % 3
    assert format_numbers(rates, "vi", places) == [format_number(v, "vi", int(d))
                                                   for v, d in zip(rates.tolist(), places)]
    assert format_numbers(np.array([1835, 7]), "en") == ["1,835", "7"]
    assert format_numbers([], "vi", 1) == []
