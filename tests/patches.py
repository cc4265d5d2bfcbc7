"""Which `workflow.patched` / `workflow.deprecate_patch` ids the workflow code uses, read from
the source: the versioning test runs for each live patch, and frozen histories name theirs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS_DIR = ROOT / "workflows"
# tests/histories/frozen/<path>.before-<patch id>.json: a history recorded before a patch.
FROZEN_NAME = re.compile(r"^(?P<path>[\w-]+)\.before-(?P<patch>[\w.-]+)\.json$")


def string_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


def patches_in(source: str) -> dict[str, str]:
    """{patch id: "patched" or "deprecated"} for `workflow.patched(ID)` and
    `workflow.deprecate_patch(ID)` calls; ID is a string literal, a module-level constant or a
    name from workflows/patch_ids.py."""
    tree = ast.parse(source)
    ids = ast.parse((WORKFLOWS_DIR / "patch_ids.py").read_text(encoding="utf-8"))
    constants = string_constants(ids) | string_constants(tree)
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("patched", "deprecate_patch")
            and node.args
        ):
            continue
        argument = node.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            patch_id = argument.value
        elif isinstance(argument, ast.Name) and argument.id in constants:
            patch_id = constants[argument.id]
        else:
            raise ValueError(f"patch id not a literal or module constant: {ast.unparse(node)}")
        found[patch_id] = "patched" if node.func.attr == "patched" else "deprecated"
    return found


def workflow_patches(module: str | None = None) -> dict[str, str]:
    """The patches of one workflow module (`order_chase`) or of all of them."""
    files = [WORKFLOWS_DIR / f"{module}.py"] if module else sorted(WORKFLOWS_DIR.glob("*.py"))
    found: dict[str, str] = {}
    for file in files:
        found.update(patches_in(file.read_text(encoding="utf-8")))
    return found
