"""Tracing (tracing.py) with an in-memory exporter: a request's span is the parent of what it
does in Temporal, down to the workflow's activities."""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import backend_auth
from settings import Settings
from tests.api.test_orders import order_body
from tracing import temporal_interceptors, tracer_provider
from worker import WorkerDeps, build_worker


def trace_of(spans: list[ReadableSpan], name: str) -> list[str]:
    """The names of the spans in the trace of the (one) span called `name`, oldest first."""
    [root] = [s for s in spans if s.name == name]
    assert root.context is not None
    trace_id = root.context.trace_id
    found = [s for s in spans if s.context is not None and s.context.trace_id == trace_id]
    return [s.name for s in sorted(found, key=lambda s: s.start_time or 0)]


async def test_requests_trace_into_the_workflow_and_its_activities(
    settings: Settings, deps: WorkerDeps, dev_env: WorkflowEnvironment, mailbox: Mailbox
) -> None:
    exporter = InMemorySpanExporter()
    provider = tracer_provider(settings, "chaser-test", exporter=exporter)
    assert provider is not None
    # One client for the API and the worker, as in one process of each.
    config = dev_env.client.config()
    config["interceptors"] = temporal_interceptors(provider)
    client = Client(**config)
    async with build_worker(client, deps, settings.temporal_task_queue):
        app = create_app(settings, temporal=client, tracer=provider)
        async with serve_api(app) as api:
            auth = backend_auth(settings)
            body = order_body("T-1", customer={"name": "Anna", "email": "anna@example.com"})
            assert (await api.post("/v1/orders", json=body, headers=auth)).status_code == 201
            await mailbox.wait_for(1)
            paid = await api.post(
                "/v1/orders/T-1/events", json={"event_id": "pay-T-1", "type": "paid"}, headers=auth
            )
            assert paid.status_code == 202, paid.text
            await mailbox.wait_for(2)  # the thank-you
            await asyncio.wait_for(client.get_workflow_handle("order-T-1").result(), 30)
    provider.force_flush()
    spans = list(exporter.get_finished_spans())

    # The payment: from the request through the signal. The SDK opens the handler's span
    # in the chase's own trace, linked to the signal that caused it.
    payment = trace_of(spans, "POST /v1/orders/{order_id}/events")
    assert "SignalWorkflow:record_payment" in payment
    [signal] = [s for s in spans if s.name == "SignalWorkflow:record_payment"]
    # A workflow task that handled the payment and was refused (an activity of the chase
    # completed meanwhile) is run again, and handles it again: every handler span links to it.
    handlers = [s for s in spans if s.name == "HandleSignal:record_payment"]
    assert signal.context is not None and handlers
    for handler in handlers:
        assert [link.context.span_id for link in handler.links] == [signal.context.span_id]
    # The chase: from the order's request, through the start, to the run, the handler of
    # that payment, and what it led to: the end and the thank-you email.
    order = trace_of(spans, "POST /v1/orders")
    assert order.index("StartWorkflow:OrderChase") < order.index("RunWorkflow:OrderChase")
    paid_at = order.index("HandleSignal:record_payment")
    assert "RunActivity:send_order_email" in order[:paid_at]  # order received
    assert "RunActivity:finish_order" in order[paid_at:]
    assert "RunActivity:send_order_email" in order[paid_at:]  # the thank-you
    assert len(mailbox.messages) == 2  # each sent once, a task run again or not
    assert {s.resource.attributes["service.name"] for s in spans} == {"chaser-test"}


def test_tracing_is_off_without_an_endpoint(settings: Settings) -> None:
    assert tracer_provider(settings, "chaser-api") is None
    assert temporal_interceptors(None) == []
    on = settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:4318"})
    provider = tracer_provider(on, "chaser-api")
    assert provider is not None
    provider.shutdown()
