"""Workflow modules stay deterministic: what they import, what they run at import, the sandbox.

The sandbox catches a workflow calling `datetime.now()` or `random` while it runs; these checks
catch earlier, by reading the source, what it cannot see: a module-level import that drags
I/O, clocks, randomness or the environment into workflow code, and a workflow taken out of the
sandbox.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import workflows
from tests.workflows.clock_readers import ReadsTheWallClock, ReadsWorkflowTime
from worker import SANDBOX_PASSTHROUGH, WORKFLOWS, workflow_runner

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_MODULES = sorted(Path(workflows.__file__).parent.glob("*.py"))
# Workflow code imports these shared modules too (the words, the timings, the calendar): the
# standard library only.
SHARED_MODULES = [ROOT / name for name in ("domain.py", "timings.py", "work_calendar.py")]

# Modules with no clock, randomness, I/O or environment of their own. Add one here only if that
# holds; anything else reaches workflow code through an activity.
ALLOWED = frozenset(
    {
        "__future__",
        "asyncio",  # the sandbox's deterministic event loop runs it
        "calendar",
        "collections",
        "collections.abc",
        "dataclasses",
        "datetime",  # types and arithmetic; `now()` is refused below and by the sandbox
        "decimal",
        "enum",
        "functools",
        "itertools",
        "math",
        "re",
        "typing",
        "zoneinfo",
        "temporalio.common",
        "temporalio.exceptions",
        "temporalio.workflow",
    }
)
# Why the usual suspects are refused, for the failure message.
REFUSED = {
    "random": "use workflow.random()",
    "uuid": "use workflow.uuid4()",
    "time": "use workflow.now() and workflow.sleep()",
    "os": "configuration comes in the workflow's input",
    "settings": "configuration comes in the workflow's input",
    "logging": "use workflow.logger",
    "temporalio.activity": "activities live in activities/",
    "temporalio.client": "workflows do not call the server",
    "temporalio.worker": "workflows do not build workers",
}
# First-party activity modules (their dataclasses and method references) are imported only
# through `workflow.unsafe.imports_passed_through()`: loaded once, outside the sandbox.
PASSED_THROUGH = ("activities",)
FIRST_PARTY = ("workflows", "domain", "timings", "work_calendar")
# Module-level calls that read the clock, randomness or the environment at import time.
IMPURE_CALLS = frozenset({"now", "utcnow", "today", "getenv", "uuid4", "random", "time"})


def _module_name(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    module = node.module or ""
    if module == "temporalio":  # `from temporalio import workflow` is temporalio.workflow
        return [f"temporalio.{alias.name}" for alias in node.names]
    return [module]


def _passes_through(node: ast.With) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr == "imports_passed_through"
        for item in node.items
    )


def _top_level(tree: ast.Module) -> list[tuple[ast.stmt, bool]]:
    """Module-level statements (class bodies included), each with: inside a pass-through block?"""
    found: list[tuple[ast.stmt, bool]] = []

    def visit(statements: list[ast.stmt], passed: bool) -> None:
        for statement in statements:
            found.append((statement, passed))
            if isinstance(statement, ast.With):
                visit(statement.body, passed or _passes_through(statement))
            elif isinstance(statement, ast.ClassDef | ast.If | ast.Try):
                # A class body runs at import; its methods' bodies do not (skipped below).
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(statement, block, []), passed)

    visit(tree.body, False)
    return found


def import_problems(source: str, filename: str) -> list[str]:
    """What a workflow module imports or runs at import time that it should not."""
    problems: list[str] = []
    tree = ast.parse(source, filename)
    for statement, passed in _top_level(tree):
        where = f"{filename}:{statement.lineno}"
        if isinstance(statement, ast.Import | ast.ImportFrom):
            for name in _module_name(statement):
                root = name.split(".")[0]
                if name in ALLOWED or root in FIRST_PARTY:
                    continue
                if root in PASSED_THROUGH:
                    if not passed:
                        problems.append(
                            f"{where} imports {name} outside "
                            "`with workflow.unsafe.imports_passed_through():`"
                        )
                    continue
                why = (
                    REFUSED.get(name)
                    or REFUSED.get(root)
                    or (
                        "not on the list of deterministic modules (ALLOWED in "
                        "tests/test_determinism.py); reach it through an activity"
                    )
                )
                problems.append(f"{where} imports {name}: {why}")
        elif not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for node in _run_at_import(statement):
                if _impure_call(node):
                    problems.append(f"{where} calls {ast.unparse(node)} at import time")
    # Imports inside functions run later but are imports all the same.
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    problems.append(
                        f"{filename}:{inner.lineno} imports inside {node.name}(): "
                        "import at module level so the checks above see it"
                    )
    return list(dict.fromkeys(problems))


def _run_at_import(statement: ast.stmt) -> list[ast.AST]:
    """The nodes of a statement that run when the module is imported: not function bodies."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        found.append(node)
        deferred = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
        pending += [
            child for child in ast.iter_child_nodes(node) if not isinstance(child, deferred)
        ]
    return found


def _impure_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in IMPURE_CALLS or ast.unparse(func).startswith("os.environ")


@pytest.mark.parametrize("module", WORKFLOW_MODULES + SHARED_MODULES, ids=lambda path: path.name)
def test_workflow_module_imports_only_deterministic_modules(module: Path) -> None:
    problems = import_problems(module.read_text(encoding="utf-8"), str(module.relative_to(ROOT)))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import random\n", "imports random: use workflow.random()"),
        ("from datetime import datetime\nSTARTED = datetime.now()\n", "calls datetime.now()"),
        ("import sqlalchemy\n", "imports sqlalchemy: not on the list"),
        ("from temporalio import client\n", "imports temporalio.client"),
        ("from activities.orders import OrderEnd\n", "outside `with workflow.unsafe"),
        ("def f():\n    import uuid\n", "imports inside f()"),
        ("import os\nX = os.environ.get('A')\n", "imports os"),
    ],
)
def test_the_guard_catches(source: str, expected: str) -> None:
    assert any(expected in problem for problem in import_problems(source, "w.py"))


def test_the_guard_accepts_the_documented_pattern() -> None:
    source = (
        "from __future__ import annotations\n"
        "from datetime import timedelta\n"
        "from temporalio import workflow\n"
        "with workflow.unsafe.imports_passed_through():\n"
        "    from activities.orders import OrderActivities\n"
        "from workflows.tasks import TaskAnswer\n"
        "TIMEOUT = timedelta(seconds=60)\n"
    )
    assert import_problems(source, "w.py") == []


async def test_every_workflow_class_is_served_by_the_worker_in_the_sandbox() -> None:
    defined = {
        cls
        for path in WORKFLOW_MODULES
        for _, cls in inspect.getmembers(
            __import__(f"workflows.{path.stem}", fromlist=["_"]), inspect.isclass
        )
        if cls.__module__ == f"workflows.{path.stem}"
        and workflow._Definition.from_class(cls) is not None
    }
    assert defined <= set(WORKFLOWS), f"not in worker.WORKFLOWS: {defined - set(WORKFLOWS)}"
    for cls in WORKFLOWS:
        definition = workflow._Definition.must_from_class(cls)
        assert definition.sandboxed, f"{cls.__name__} runs outside the sandbox"
        assert definition.name == cls.__name__, f"{cls.__name__} is registered as {definition.name}"
        # The sandbox's own check: import the module afresh under its restrictions.
        SandboxedWorkflowRunner().prepare_workflow(definition)


@pytest.mark.parametrize("path", ["workflows", "worker.py", "cli"])
def test_nothing_switches_the_sandbox_off(path: str) -> None:
    files = [ROOT / path] if path.endswith(".py") else sorted((ROOT / path).rglob("*.py"))
    for file in files:
        text = file.read_text(encoding="utf-8")
        for escape in ("sandboxed=False", "UnsandboxedWorkflowRunner", "sandbox_unrestricted"):
            assert escape not in text, f"{file.relative_to(ROOT)} uses {escape}"


def _first_task_of(workflow_type: str) -> WorkflowHistory:
    """A history of `workflow_type` (no input) that returned from its first task."""
    recorded = json.loads((ROOT / "tests" / "histories" / "order-paid.json").read_text())
    events = recorded["events"][:3]  # started, task scheduled, task started
    started = events[0]["workflowExecutionStartedEventAttributes"]
    started["workflowType"]["name"] = workflow_type
    del started["input"]
    events += [
        {
            "eventId": "4",
            "eventType": "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
            "workflowTaskCompletedEventAttributes": {
                "scheduledEventId": "2",
                "startedEventId": "3",
            },
        },
        {
            "eventId": "5",
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
            "workflowExecutionCompletedEventAttributes": {"workflowTaskCompletedEventId": "4"},
        },
    ]
    return WorkflowHistory.from_json(f"{workflow_type}-1", {"events": events})


@pytest.mark.parametrize(
    ("workflow_class", "refused"), [(ReadsWorkflowTime, False), (ReadsTheWallClock, True)]
)
async def test_the_workers_sandbox_still_refuses_the_wall_clock_in_workflow_code(
    workflow_class: type, refused: bool
) -> None:
    replayer = Replayer(workflows=[workflow_class], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(
        _first_task_of(workflow_class.__name__), raise_on_replay_failure=False
    )
    if refused:
        assert "Cannot access datetime.datetime.now" in str(result.replay_failure)
    else:
        assert result.replay_failure is None


def test_modules_passed_through_the_sandbox_hold_no_clock_randomness_or_io() -> None:
    """The sandbox does not watch what a passed-through module runs: only data and pure
    helpers may go there, with the same imports as workflow code."""
    for name in SANDBOX_PASSTHROUGH:
        path = ROOT / (name.replace(".", "/") + ".py")
        source = path.read_text(encoding="utf-8")
        assert import_problems(source, name) == []
        calls = [ast.unparse(node) for node in ast.walk(ast.parse(source)) if _impure_call(node)]
        assert calls == [], f"{name} calls {calls}: keep it in the sandbox"
