"""Messages and formats: Vietnamese first, English complete, dd/mm/yyyy and 1.835."""

import ast
import datetime as dt
import re
import json
from pathlib import Path

import pytest

from dashboard.i18n import LANGUAGES, format_date, format_number, known_language, translate

LOCALES = Path(__file__).resolve().parents[1] / "data" / "locales"


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


def _entries(lang: str) -> list[tuple[str, str]]:
    """The catalogue's (key, message) pairs as written, duplicates included (``json.loads``
    keeps the last of two equal keys silently: a merge can leave one behind)."""
    return json.loads((LOCALES / f"{lang}.json").read_text("utf-8"), object_pairs_hook=list)



def test_a_language_sent_by_the_browser_is_one_of_the_catalogues_or_the_default():
    assert [known_language(x) for x in ("vi", "en")] == list(LANGUAGES)
    for bad in ("fr", "EN", "", None, 3, ["en"]):
        assert known_language(bad) == "vi"
    assert known_language("xx", "en") == "en"
    assert known_language("vi", "en") == "vi"


def test_the_language_and_its_store_have_one_home():
    # the languages are i18n.LANGUAGES (read through known_language), the page's language
    # store is ids.PAGE_LANG: no dashboard module spells either out again
    root = Path(__file__).resolve().parents[1] / "dashboard"
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "ids.py":
            assert '"page-lang"' not in text, path
        assert '("vi", "en")' not in text, path

def test_each_key_once_in_each_language_with_the_same_placeholders():
    import string

    fields = {}
    for lang in LANGUAGES:
        pairs = _entries(lang)
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
        fields[lang] = {k: {f for _, f, _, _ in string.Formatter().parse(v) if f}
                        for k, v in pairs}
    only_vi, only_en = set(fields["vi"]) - set(fields["en"]), set(fields["en"]) - set(fields["vi"])
    assert not only_vi and not only_en, (only_vi, only_en)
    differ = {k for k in fields["vi"] if fields["vi"][k] != fields["en"][k]}
    assert differ == _OWN_PLACEHOLDERS


#: Messages whose languages fill in different values (quý IV/2025, Q4 2025; a record type by
#: its Vietnamese label or its code): the caller passes both.
_OWN_PLACEHOLDERS = {"report.quarter.name", "report.quarter.option", "ingest.status.not_for_type",
                     "report.text.period.quarter", "report.text.date_line"}


#: Vietnamese letters (with their marks): a literal holding one is a Vietnamese string.
_VIETNAMESE = re.compile("[ăâđêôơư" "àáảãạằắẳẵặầấẩẫậ" "èéẻẽẹềếểễệ" "ìíỉĩị"
                         "òóỏõọồốổỗộờớởỡợ" "ùúủũụừứửữự" "ỳýỷỹỵ]", re.I)
#: The floors whose code is read: every module of the product.
_FLOORS = ("geo", "layers", "dashboard")
_NAME_TOKEN = "matched, not read: names are compared with and without it"
_TECHNICAL = ("an English technical message for the GIS or data officer, naming the "
              "province's projection zone or a header as it is written")
#: The literals with Vietnamese letters allowed outside the catalogue, each with its reason:
#: data-like tokens (names, headers the files carry), never a sentence a user reads.
_ALLOWED: dict[str, dict[str, str]] = {
    "geo/names.py": {"Đ": "folded to D when names are compared",
                     "đ": "folded to d when names are compared",
                     "thị trấn": _NAME_TOKEN, "phường": _NAME_TOKEN, "xã": _NAME_TOKEN},
    "geo/units.py": {"Xã": "a unit's kind as the official registry writes it",
                     "Phường": "a unit's kind as the official registry writes it",
                     "Thị trấn": "a unit's kind as the official registry writes it"},
    "geo/approx_boundaries.py": {
        "Tỉnh Tây Ninh": "the name of a feature of the bundled boundary data",
        "Biên giới Việt Nam – Campuchia (gần đúng)":
            "the name of a feature of the bundled boundary data"},
    "geo/ingest/template.py": {
        "Danh mục": "the lists sheet's name, which the importer recognises and skips"},
    "geo/boundary_import.py": dict.fromkeys((
        "The CRS is probably wrong: a TM-3 zone with another central meridian (Tây Ninh "
        "VN2000-TM3-105.5, Long An VN2000-TM3-105.75), UTM instead of TM-3, metres declared "
        "as degrees, or swapped axes (northing first).",
        ", no feature lies in Tây Ninh province (lon ",
        " does not say which coordinate system it is in (no .prj?). Pass it: --crs "
        "VN2000-TM3-105.5 for Tây Ninh's VN-2000 TM-3 zone, VN2000-TM3-105.75 for Long An's, "
        "VN2000-UTM48, or an EPSG code such as EPSG:4326 (crs= in Python)"), _TECHNICAL),
    "geo/projections.py": dict.fromkeys((
        "expected VN2000-TM3-105.5 (Tây Ninh), VN2000-TM3-105.75 (Long An), VN2000-UTM48, an "
        "EPSG code such as EPSG:9209, WKT, or a PROJ string",), _TECHNICAL),
    "geo/key_area_list.py": dict.fromkeys((
        "unknown column; expected code (Mã xã), name (Xã/Phường), note (Ghi chú)",
        "the header has neither a code (Mã xã) nor a name (Xã/Phường) column"), _TECHNICAL),
    "dashboard/cli.py": {
        "Anti-trafficking monitoring dashboard for Tây Ninh province.":
            "the command line's English help, naming the province",
        "6 months: 2025H1 (6 tháng đầu năm) or 2025H2":
            "the command line's English help, quoting the Vietnamese name of a period"},
}
#: The record schema (:mod:`geo.kinds`): the Vietnamese headers and category labels of
#: its ``Field``, ``Choice`` and ``Kind`` are what the files carry and the importer matches
#: word for word (changing one changes what imports), so they are data, not messages.
_SCHEMA = ("geo/kinds.py", {"Field", "Choice", "Kind"})
#: Arguments of Dash components that a person reads.
_READ = {"children", "label", "placeholder", "title", "start_date_placeholder_text",
         "end_date_placeholder_text", "alt", "aria-label"}
ROOT = LOCALES.parents[1]


def _not_docstrings(tree):
    """String constants of ``tree`` except docstrings and bare string statements."""
    skip = {id(n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and
            isinstance(n.value, str) and id(n) not in skip]


def _schema_words(tree) -> set[int]:
    """The ids of the literals given to the schema's constructors (positional arguments)."""
    return {id(a) for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name) and n.func.id in _SCHEMA[1]
            for a in n.args if isinstance(a, ast.Constant)}


def _sources(folders=("dashboard", "layers")):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text("utf-8"))


def _vietnamese_outside(sources) -> list[str]:
    found = []
    for name, tree in sources:
        allowed = _ALLOWED.get(name, {})
        schema = _schema_words(tree) if name == _SCHEMA[0] else set()
        found += [f"{name}:{n.lineno}: {n.value[:60]!r}" for n in _not_docstrings(tree)
                  if _VIETNAMESE.search(n.value) and n.value not in allowed
                  and id(n) not in schema]
    return found


def test_no_vietnamese_string_outside_the_catalogue():
    """Every Vietnamese word a person reads, on every floor (geo/, layers/, dashboard/), is in
    the catalogue (``data/locales``, and so has its English); the only exceptions are
    data-like tokens listed with their reason in :data:`_ALLOWED` and the record schema's
    headers and labels (:data:`_SCHEMA`)."""
    assert _vietnamese_outside(_sources(_FLOORS)) == []


def test_every_allowed_literal_is_still_there():
    """An allow-list entry whose literal is gone is removed, so the list stays the truth."""
    present = {name: {n.value for n in _not_docstrings(tree)}
               for name, tree in _sources(_FLOORS) if name in _ALLOWED}
    stale = [(name, v) for name, values in _ALLOWED.items() for v in values
             if v not in present.get(name, set())]
    assert stale == []


def test_the_vietnamese_check_catches_a_sentence_and_spares_the_schema():
    tree = ast.parse('MESSAGES = {"vi": "Ngày ở tương lai", "en": "a future date"}\n'
                     'F = Field("date", "Ngày", "date")\n')
    # the schema's words are spared in the schema's module only
    assert _vietnamese_outside([("geo/ingest/messages.py", tree)]) == [
        "geo/ingest/messages.py:1: 'Ngày ở tương lai'", "geo/ingest/messages.py:2: 'Ngày'"]
    assert _vietnamese_outside([("geo/kinds.py", tree)]) == [
        "geo/kinds.py:1: 'Ngày ở tương lai'"]


def _is_component(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id in ("html", "dcc"))


def test_no_words_written_into_a_component_outside_the_catalogue():
    """A Dash component's text (its children, label, placeholder, title) and the labels of
    its options come from :func:`translate` (or from the data), never a literal with words:
    an English or Vietnamese literal there would be the same in both languages."""
    words = re.compile(r"[^\W\d_]{3,}")
    found = []
    for name, tree in _sources():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_component(n)):
            texts = [a for a in call.args[:1]]
            texts += [k.value for k in call.keywords if k.arg in _READ]
            texts += [v for k in call.keywords if k.arg == "options"
                      for d in ast.walk(k.value) if isinstance(d, ast.Dict)
                      for key, v in zip(d.keys, d.values, strict=True)
                      if isinstance(key, ast.Constant) and key.value == "label"]
            found += [f"{name}:{n.lineno}: {n.value!r}" for node in texts
                      for n in _literals(node) if words.search(n.value)]
    assert found == []


def _literals(node) -> list:
    """The string constants that are ``node``'s own text: itself, the items of a list, the
    fixed parts of an f-string or a concatenation; not what a nested call or a subscript
    computes (a translation, a component of its own, a value from the data)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [c for item in node.elts for c in _literals(item)]
    if isinstance(node, ast.JoinedStr):
        return [v for v in node.values if isinstance(v, ast.Constant)]
    if isinstance(node, ast.BinOp):
        return _literals(node.left) + _literals(node.right)
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def test_the_literal_checks_catch_a_literal():
    """The two checks above find what they look for (they could pass by finding nothing)."""
    tree = ast.parse('html.Button("Xuất bảng", title="Export")\n'
                     'dcc.RadioItems(options=[{"label": "Quarter", "value": "q"}])')
    assert [n.value for n in _not_docstrings(tree) if _VIETNAMESE.search(n.value)] == \
        ["Xuất bảng"]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_component(n)]
    assert [n.value for n in _literals(calls[0].args[0])] == ["Xuất bảng"]
    assert [n.value for n in _literals(calls[0].keywords[0].value)] == ["Export"]
    assert _literals(ast.parse('[t("x"), html.B("y")]', mode="eval").body) == []


def test_every_dropdown_and_date_picker_is_given_its_words():
    """Dash's dropdown and date picker write English by themselves ("Search", "Start Date"):
    each is given the catalogue's words (a dropdown its ``labels``; the one date picker of
    every page, :func:`dashboard.period_filter.period_picker`, its placeholders)."""
    missing = []
    for name, tree in _sources():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_component(n)):
            given = {k.arg for k in call.keywords}
            needs = {"Dropdown": {"labels"},
                     "DatePickerRange": {"start_date_placeholder_text",
                                         "end_date_placeholder_text"},
                     "DatePickerSingle": {"placeholder"}}.get(call.func.attr, set())
            if needs - given:
                missing.append(f"{name}:{call.lineno}: {call.func.attr} without {needs - given}")
    assert missing == []


def test_every_coded_value_reads_as_words_in_both_languages():
    """Each choice of the record kinds has its label in both catalogues; the Vietnamese one is
    the label the importer matches, and no English label is the bare code."""
    from dashboard.i18n import choice_key, choice_label
    from geo.kinds import KINDS

    seen = 0
    for kind, spec in KINDS.items():
        for field in spec.fields:
            for choice in field.choices:
                seen += 1
                assert choice_label(kind, field.name, choice.code, "vi") == choice.label_vi
                english = choice_label(kind, field.name, choice.code, "en")
                assert english != choice.code and english != choice.code.replace("_", " ")
                assert translate(choice_key(kind, field.name, choice.code), "en") == english
    assert seen == 32
    assert choice_label("models", "model_type", "security_camera", "en") == "Security cameras"
    assert choice_label("models", "model_type", "no_such_model", "en") == "no_such_model"
    assert choice_label("outreach", "format", None, "vi") == "–"
