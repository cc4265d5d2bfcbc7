"""`chaser search-attributes register` adds what the namespace lacks, once."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

from scripts.devstack.servers import dev_server, temporal_cli
from tests.cli.helpers import chaser


async def test_register_adds_the_missing_attributes_and_then_nothing(tmp_path: Path) -> None:
    binary = temporal_cli()
    assert binary is not None
    async with dev_server(binary, tmp_path / "t.db", search_attributes=False) as client:
        address = client.service_client.config.target_host
        first = await chaser("search-attributes", "register", "--address", address)
        assert first.status == 0, first.err
        assert first.out == (
            "added: AssigneeId, ChaseStage, LeadStatus, OrderAmount, OrderStatus, ProductId\n"
        )
        again = await chaser("search-attributes", "register", "--address", address)
        assert (again.status, again.out) == (0, "all registered already\n")
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
    types = listed.custom_attributes
    assert types["OrderAmount"] == IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE
    assert types["ChaseStage"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
