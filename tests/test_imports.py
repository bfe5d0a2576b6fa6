"""The floors of the code run one way, with no cycles and no borrowed private names.

Read from the source with :mod:`ast` (every ``import``, at module level or inside a
function): ``geo/`` imports neither ``layers/`` nor ``dashboard/``; ``layers/`` does not
import ``dashboard/``; ``demo/`` (the demo generator) sits above both and below
``dashboard/``; ``data/`` holds bundled files and imports none of them; no two
modules import each other, directly or round a longer loop; no module takes another's
``_private`` name.

``KNOWN`` lists what the code does against these rules while it waits to be fixed: it
is empty since issue 15's restructuring. The test fails on anything new, and on a
listed item that no longer happens (so that the list only shrinks).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data", "geo", "layers", "demo", "dashboard")
#: A package may import those at its own floor or below.
FLOOR = {"data": 0, "geo": 1, "layers": 2, "demo": 2.5, "dashboard": 3}

KNOWN: set[tuple[str, str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str | None, str | None]]:
    """(imported module, imported name or None, attribute used on it or None) for each import."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES:
                    found.append((a.name, None, None))
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for a in node.names:
                full = f"{base}.{a.name}"
                if full in known:          # a submodule imported by name
                    found.append((full, None, None))
                    aliases[a.asname or a.name] = full
                else:
                    found.append((base, a.name, None))
    for node in ast.walk(tree):            # module._private, on a module imported above
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            found.append((aliases[node.value.id], None, node.attr))
    return found


def _graph() -> tuple[dict[str, set[str]], set[tuple[str, str, str]]]:
    modules = _modules()
    known = set(modules)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    problems = set()
    for name, path in modules.items():
        for target, imported, attribute in _imports(name, path, known):
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target == name or target not in known:
                continue
            edges[name].add(target)
            if FLOOR[target.split(".")[0]] > FLOOR[name.split(".")[0]]:
                problems.add(("upward", name, target))
            private = attribute or (imported if imported and imported.startswith("_") else None)
            if private and target != name:
                problems.add(("private", name, f"{target}.{private}"))
    return edges, problems


def _cycles(edges: dict[str, set[str]]) -> set[tuple[str, str, str]]:
    """Each strongly connected group of more than one module (Tarjan), as one problem."""
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return {("cycle", g[0], " ".join(g[1:])) for g in groups}


def _problems() -> set[tuple[str, str, str]]:
    edges, problems = _graph()
    # a package's __init__ re-exporting its own modules is not a cycle
    edges = {m: {t for t in ts if not (m.startswith(t + ".") or t.startswith(m + ".") and
                                       (ROOT / m.replace(".", "/") / "__init__.py").exists())}
             for m, ts in edges.items()}
    return problems | _cycles(edges)


def test_the_reader_sees_imports():
    # The reading itself can fail silently: known edges must be found.
    edges, _ = _graph()
    assert "geo.units" in edges["layers.hotspots"] or "layers.inference" in edges["layers.hotspots"]
    assert "layers.layer" in edges["layers.hotspots"]
    assert any(t.startswith("layers") for t in edges["dashboard.analysis"])


def test_no_new_upward_import_cycle_or_private_name():
    new = _problems() - KNOWN
    assert not new, "\n".join(sorted(map(str, new)))


def test_known_problems_still_exist():
    gone = KNOWN - _problems()
    assert not gone, "fixed, remove from KNOWN:\n" + "\n".join(sorted(map(str, gone)))


def test_a_server_starts_without_the_libraries_no_first_page_needs():
    """What ``borderwatch serve`` imports to build its app leaves out the statistics, the
    spreadsheet, the report and the map-export libraries (seconds of a start): each is
    imported where it is used."""
    import subprocess
    import sys

    heavy = ("esda", "libpysal", "statsmodels", "sklearn", "scipy", "folium", "openpyxl",
             "docx", "kaleido", "vietnamadminunits")
    code = ("import sys, dashboard.cli, dashboard.app, dashboard.context, dashboard.wsgi; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
