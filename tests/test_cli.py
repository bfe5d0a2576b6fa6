"""The ``borderwatch`` command: parser defaults and the listing subcommands' output."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.cli import build_parser, main


def test_serve_defaults_to_localhost_8050():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.no_demo) == ("127.0.0.1", 8050, False)
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)


def test_unknown_subcommand_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["explode"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _tsv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_units_lists_both_sets(capsys):
    assert main(["units"]) == 0
    rows = _tsv(capsys.readouterr().out)
    assert len(rows) == 96
    assert {"code": "25681", "name": "Xã Bến Cầu"}.items() <= rows[[r["code"] for r in rows].index("25681")].items()
    assert main(["units", "--set", "legacy"]) == 0
    legacy = _tsv(capsys.readouterr().out)
    assert len(legacy) == 280
    loi_thuan = next(r for r in legacy if r["code"] == "25699")
    assert (loi_thuan["name"], loi_thuan["new_code"]) == ("Xã Lợi Thuận", "25681")


def test_gates_lists_moc_bai_first_with_its_sourced_position(capsys, tmp_path):
    assert main(["--data-dir", str(tmp_path), "gates"]) == 0
    rows = _tsv(capsys.readouterr().out)
    assert [r["name"] for r in rows[:2]] == ["Mộc Bài", "Xa Mát"]
    assert rows[0]["position"] == "sourced"
    assert (float(rows[0]["lat"]), float(rows[0]["lon"])) == pytest.approx((11.07722, 106.17528))
    assert all(r["position"] == "approximate" for r in rows[1:])
