"""The ``borderwatch`` command: serve the dashboard, make the demo data, import boundaries.

Examples
--------
borderwatch serve                      # the dashboard on http://127.0.0.1:8050
borderwatch serve --host 0.0.0.0 --port 8080 --lang en
borderwatch demo                       # (re)generate the synthetic demo dataset
borderwatch boundaries import xa.shp --crs VN2000-TM3-105.5
borderwatch units --set legacy         # list the registry's units
borderwatch gates                      # list the border gates and how each is placed
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from geo.config import Settings
from geo.units import NEW, OLD

__all__ = ["build_parser", "main"]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        language=getattr(args, "lang", None),
        unit_set=getattr(args, "units", None),
    )


def ensure_demo(settings: Settings, *, seed: int | None = None, force: bool = False) -> Path:
    """Write the synthetic demo dataset to ``settings.demo_dir`` unless it is already there."""
    from data.demo import DEFAULT_SEED, generate_demo, write_demo
    from geo.boundaries import load_border, load_communes
    from geo.gates import load_gates
    from geo.units import load_registry

    out = settings.demo_dir
    if (out / "manifest.json").exists() and not force:
        return out
    dataset = generate_demo(
        load_registry(),
        load_communes(settings, NEW),
        load_communes(settings, OLD),
        load_gates(settings),
        load_border(settings),
        seed=DEFAULT_SEED if seed is None else seed,
    )
    write_demo(dataset, out)
    return out


def _cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.app import create_app

    settings = _settings(args)
    if not args.no_demo:
        ensure_demo(settings)
    app = create_app(settings)
    print(f"Borderwatch: http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    app.run(host=args.host, port=args.port, debug=False)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    out = ensure_demo(settings, seed=args.seed, force=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    print(f"Synthetic demo data written to {out}")
    print(json.dumps(manifest, ensure_ascii=False, indent=2))
    return 0


def _cmd_boundaries_import(args: argparse.Namespace) -> int:
    from geo.boundary_import import BoundaryImportError, import_boundaries

    settings = _settings(args)
    try:
        report = import_boundaries(
            Path(args.file),
            settings,
            args.set,
            code_field=args.code_field,
            name_field=args.name_field,
            district_field=args.district_field,
            crs=args.crs,
            layer=args.layer,
            allow_missing=args.allow_missing,
        )
    except BoundaryImportError as err:
        print(f"error: {err}", file=sys.stderr)
        if err.report is not None:
            print("\n".join(err.report.summary_lines()), file=sys.stderr)
        return 2
    print("\n".join(report.summary_lines()))
    return 0


def _cmd_units(args: argparse.Namespace) -> int:
    from geo.units import load_registry

    units = load_registry().units(args.set)
    cols = ["name", "district", "new_code"] if args.set == OLD else ["name", "kind", "area_km2"]
    print(units[cols].to_csv(sep="\t"), end="")
    return 0


def _cmd_gates(args: argparse.Namespace) -> int:
    from geo.gates import load_gates

    gates = load_gates(_settings(args))
    gates["lon"] = gates.geometry.x.round(5)
    gates["lat"] = gates.geometry.y.round(5)
    cols = ["name", "gate_class", "commune", "new_code", "position", "lat", "lon", "blo",
            "counterpart"]
    print(gates[cols].to_csv(sep="\t", index=False), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="borderwatch",
        description="Anti-trafficking monitoring dashboard for Tây Ninh province.",
    )
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: $BORDERWATCH_DATA_DIR or ./var)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--lang", choices=["vi", "en"], default=None)
    serve.add_argument("--units", choices=[NEW, OLD], default=None,
                       help="unit set shown first (default 2025)")
    serve.add_argument("--no-demo", action="store_true",
                       help="do not generate the synthetic demo data when it is missing")
    serve.set_defaults(func=_cmd_serve)

    demo = sub.add_parser("demo", help="(re)generate the synthetic demo dataset")
    demo.add_argument("--seed", type=int, default=None)
    demo.set_defaults(func=_cmd_demo)

    bnd = sub.add_parser("boundaries", help="official boundary files")
    bsub = bnd.add_subparsers(dest="action", required=True)
    imp = bsub.add_parser("import", help="import commune boundaries (SHP, GPKG, GeoJSON)")
    imp.add_argument("file")
    imp.add_argument("--set", choices=[NEW, OLD], default=NEW, help="unit set of the file")
    imp.add_argument("--crs", default=None,
                     help="CRS when the file has none: EPSG code, PROJ string, or "
                          "VN2000-TM3-105.5 / VN2000-TM3-105.75 / VN2000-UTM48")
    imp.add_argument("--layer", default=None, help="layer of a GeoPackage")
    imp.add_argument("--code-field", default=None)
    imp.add_argument("--name-field", default=None)
    imp.add_argument("--district-field", default=None)
    imp.add_argument("--allow-missing", action="store_true",
                     help="accept a file that lacks some registry units")
    imp.set_defaults(func=_cmd_boundaries_import)

    units = sub.add_parser("units", help="list the registry's units")
    units.add_argument("--set", choices=[NEW, OLD], default=NEW)
    units.set_defaults(func=_cmd_units)

    gates = sub.add_parser("gates", help="list the border gates")
    gates.set_defaults(func=_cmd_gates)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
