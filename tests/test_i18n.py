"""Messages and formats: Vietnamese first, English complete, dd/mm/yyyy and 1.835."""

import datetime as dt
import json
from pathlib import Path

import pytest

from dashboard.i18n import LANGUAGES, format_date, format_number, translate

LOCALES = Path(__file__).resolve().parents[1] / "dashboard" / "locales"


def test_catalogues_have_the_same_keys_and_no_empty_message():
    keys = {lang: json.loads((LOCALES / f"{lang}.json").read_text("utf-8")) for lang in LANGUAGES}
    assert set(keys["vi"]) == set(keys["en"])
    assert all(v.strip() for cat in keys.values() for v in cat.values())


def test_vietnamese_number_and_date_formats():
    assert format_number(1835) == "1.835"
    assert format_number(70815, "vi") == "70.815"
    assert format_number(1835, "en") == "1,835"
    assert format_number(12.345, "vi", digits=1) == "12,3"
    assert format_date(dt.date(2024, 8, 5)) == "05/08/2024"


def test_translate_fills_parameters_and_defaults_to_vietnamese():
    assert translate("period.range", start="01/07/2024", end="30/09/2024") == "01/07/2024 – 30/09/2024"
    assert translate("type.victim") == "Nạn nhân được tiếp nhận"
    assert translate("type.victim", "en") == "Victim received"


def test_unknown_language_and_key_fail_loudly():
    with pytest.raises(ValueError, match="unsupported language"):
        translate("app.title", "fr")
    with pytest.raises(KeyError):
        translate("no.such.key")
