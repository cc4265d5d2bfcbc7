"""The OpenAPI document tells the truth (issue 9, defect 11): schemathesis generates requests
for every operation from the schema the app serves, sends them over real HTTP with the
backend's token and a manager's, and checks that no answer is a 5xx and that every status,
content type and body is the one the schema declares."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scripts.devstack.walk import backend_auth, register_manager
from settings import Settings

# Per operation and token: enough to reach every declared status, few enough for the suite.
EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(base_url: str, callers: dict[str, dict[str, str]]) -> list[str]:
    """Every operation, as every caller: the failures, one line each. Synchronous (requests),
    so it runs in a thread while the test's event loop serves the API."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        # An operation the schema cannot describe fails here, with the schema's own error.
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        # Valid requests, and requests that break the schema on purpose (a 4xx is due).
        modes = schemathesis.GenerationMode
        for (caller, headers), mode in itertools.product(callers.items(), modes):
            try:
                check(operation, mode, base_url, headers)
            except hypothesis.errors.Unsatisfiable:
                pass  # no way to break this operation's schema (it takes no input)
            except Exception as error:  # a check's failure, reported with the operation
                failures.append(f"{operation.label} as {caller}, {mode.value}: {error}")
    return failures


def check(operation: Any, mode: Any, base_url: str, headers: dict[str, str]) -> None:
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.slow(80)
async def test_every_answer_of_every_operation_is_in_the_schema(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    olga = await register_manager(api, backend_auth(settings), "olga")
    callers = {"backend": backend_auth(settings), "manager": olga}
    failures = await asyncio.to_thread(fuzz, str(api.base_url).rstrip("/"), callers)
    assert not failures, "\n\n".join(failures)


async def test_every_error_is_one_sentence_in_one_shape(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    document = (await api.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = {int(code) for code in operation["responses"] if code[0] in "45"}
            assert {401, 403, 413, 422, 503} <= statuses, f"{method} {path}: {statuses}"
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
    order = document["components"]["schemas"]["OrderOut"]["properties"]
    assert order["status"] == {"$ref": "#/components/schemas/OrderStatus"}
    malformed = await api.post("/v1/orders", json={"id": 1}, headers=backend_auth(settings))
    assert malformed.status_code == 422 and isinstance(malformed.json()["detail"], str)
