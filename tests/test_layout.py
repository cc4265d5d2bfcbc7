"""The README's Layout table names every top-level entry of the tree and every script."""

from __future__ import annotations

import re
import subprocess
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not code: what the table would say of them is their name.
UNLISTED = {".gitignore", ".dockerignore", "README.md", "scripts/__init__.py"}


def layout_paths() -> list[str]:
    """The paths in the first column of the README's Layout table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [path for row in rows for path in re.findall(r"`([^`]+)`", row.split(" | ")[0])]


def tracked() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [f for f in listing.stdout.split() if (ROOT / f).exists()]


def entry_of(path: str, depth: int) -> str:
    """`scripts/histories/x.py` at depth 2 is the folder `scripts/histories/`."""
    parts = path.split("/")
    return "/".join(parts[:depth]) + ("/" if len(parts) > depth else "")


def named(entry: str, rows: list[str]) -> bool:
    """A row names the file or folder, a folder holding it, a pattern matching it, or (for a
    folder) something inside it."""
    path = entry.rstrip("/")
    return any(
        path == row.rstrip("/")
        or path.startswith(row.rstrip("/") + "/")
        or fnmatch(path, row)
        or (entry.endswith("/") and row.startswith(entry))
        for row in rows
    )


def test_every_top_level_entry_and_script_is_in_the_layout_table() -> None:
    rows = layout_paths()
    files = tracked()
    entries = {entry_of(f, 1) for f in files} - {"scripts/"}
    entries |= {entry_of(f, 2) for f in files if f.startswith("scripts/")}
    missing = sorted(e for e in entries - UNLISTED if not named(e, rows))
    assert not missing, f"not in the README's Layout table: {missing}"


def test_every_path_the_table_names_is_in_the_tree() -> None:
    files = tracked()
    for row in layout_paths():
        assert any(named(f, [row]) for f in files), f"the Layout table names {row}: not in the tree"
