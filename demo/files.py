"""The demo's files: the four interchange CSV tables and ``manifest.json``, written all or nothing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["TABLES", "write_csv", "write_demo"]

#: The tables of the demo, in the order they are written and imported.
TABLES = ("incidents", "outreach", "models", "population")


def write_demo(dataset, out_dir: Path) -> Path:
    """Write the four CSV files and ``manifest.json`` to ``out_dir``, all or nothing.

    The files are written to a staging folder beside ``out_dir`` and swapped
    in whole, so a reader sees the old folder or the new one, never a mix,
    and nothing left over from an earlier run survives.

    Parameters
    ----------
    dataset : DemoDataset
    out_dir : Path
        The demo folder (``Settings.demo_dir``); created or replaced.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-new-", dir=out_dir.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a data folder is not
        for name in TABLES:
            write_csv(getattr(dataset, name), staging / f"{name}.csv")
        text = json.dumps(dataset.manifest, ensure_ascii=False, indent=2) + "\n"
        (staging / "manifest.json").write_text(text, encoding="utf-8", newline="\n")
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write one table as the demo's files are written: UTF-8, no index, ``\\n`` line ends."""
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames; the old folder is then removed."""
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
    os.replace(out_dir, retired / out_dir.name)
    os.replace(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)
