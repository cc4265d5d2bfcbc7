"""The one way the API, the worker and the `chaser` CLI reach Temporal: a local server, a TLS
cluster with a client certificate, or Temporal Cloud with an API key (settings.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from settings import Settings
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)

# Waits between connection attempts while Temporal is down: quick at first, then every 30 s.
FIRST_RETRY, LONGEST_RETRY = 1.0, 30.0


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS from the certificate files; plain TLS for an API key (Temporal Cloud); else none."""
    cert, key, ca = settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca
    if cert is None and key is None and ca is None:
        return settings.temporal_api_key is not None
    if (cert is None) != (key is None):
        raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together")
    return TLSConfig(
        client_cert=cert.read_bytes() if cert else None,
        client_private_key=key.read_bytes() if key else None,
        server_root_ca_cert=ca.read_bytes() if ca else None,
    )


async def connect(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls_config(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        runtime=runtime,
        interceptors=interceptors,
    )


async def connect_with_retry(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """Connect, waiting for Temporal as long as it takes: a process started while Temporal is
    down comes up and serves once it is back."""
    wait = FIRST_RETRY
    while True:
        try:
            client = await connect(settings, runtime=runtime, interceptors=interceptors)
        except RuntimeError as error:  # the SDK's "failed client connect"
            log.warning(
                "Temporal at %s unreachable, retrying in %.0f s: %s",
                settings.temporal_address,
                wait,
                error,
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_RETRY)
        else:
            log.info("connected to Temporal at %s", settings.temporal_address)
            return client


async def register_search_attributes(client: Client) -> list[str]:
    """Add the chases' search attributes that the namespace lacks; the names added."""
    operator = client.operator_service
    namespace = client.namespace
    try:
        listed = await operator.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(listed.custom_attributes)
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()  # Temporal's Java test server cannot list them, only add them
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known
    }
    if missing:
        await operator.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


# A worker long-polls for about a minute; one not seen for two is gone.
POLLER_SEEN_WITHIN = timedelta(minutes=2)


async def worker_polling(client: Client, task_queue: str) -> bool:
    """From DescribeTaskQueue: whether a worker polled the workflow task queue lately."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    since = datetime.now(UTC) - POLLER_SEEN_WITHIN
    return any(p.last_access_time.ToDatetime(UTC) > since for p in described.pollers)
