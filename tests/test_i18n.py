"""Messages and formats: Vietnamese first, English complete, dd/mm/yyyy and 1.835."""

import ast
import datetime as dt
import re
import json
from pathlib import Path

import pytest

from dashboard.i18n import LANGUAGES, format_date, format_number, known_language, translate

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


#: Messages whose languages fill in different values (quý IV/2025, Q4 2025): the caller
#: passes both.
_OWN_PLACEHOLDERS = {"report.quarter.name", "report.quarter.option"}


#: Vietnamese letters (with their marks): a literal holding one is a Vietnamese string.
_VIETNAMESE = re.compile("[ăâđêôơư" "àáảãạằắẳẵặầấẩẫậ" "èéẻẽẹềếểễệ" "ìíỉĩị"
                         "òóỏõọồốổỗộờớởỡợ" "ùúủũụừứửữự" "ỳýỷỹỵ]", re.I)
#: Files allowed to hold Vietnamese literals, and why. The Word report (report_text,
#: report_docx) is a Vietnamese-only administrative document whose sentences are built from
#: numbers by pure, tested functions; the command line's English help names Tây Ninh.
_ALLOWED = {
    "dashboard/exports/report_text.py": None,
    "dashboard/exports/report_docx.py": None,
    "dashboard/cli.py": {"Anti-trafficking monitoring dashboard for Tây Ninh province.",
                         "6 months: 2025H1 (6 tháng đầu năm) or 2025H2",
                         "Báo cáo kết quả công tác phòng, chống mua bán người "},
}
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


def _sources():
    for folder in ("dashboard", "layers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text("utf-8"))


def test_no_vietnamese_string_outside_the_catalogue():
    """Every Vietnamese word a person reads is in ``dashboard/locales`` (and so has its
    English); the exceptions are listed with their reason in :data:`_ALLOWED`."""
    found = []
    for name, tree in _sources():
        allowed = _ALLOWED.get(name, set())
        if allowed is None:
            continue
        found += [f"{name}:{n.lineno}: {n.value[:60]!r}" for n in _not_docstrings(tree)
                  if _VIETNAMESE.search(n.value) and n.value not in allowed]
    assert found == []


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
