"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans from each API
request (the FastAPI instrumentation), through the Temporal client's start or signal, into the
workflow and its activities (temporalio.contrib.opentelemetry carries the context in Temporal
headers). A test hands in its own span exporter."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from settings import Settings


def tracer_provider(
    settings: Settings, service: str, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A provider exporting to `exporter`, or over OTLP/HTTP to the configured endpoint;
    None when tracing is off."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if exporter is None and endpoint is None:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        BatchSpanProcessor(exporter or OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
    )
    return provider


def temporal_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """For the Temporal client; a worker built on that client traces its workflows too."""
    if provider is None:
        return []
    return [TracingInterceptor(provider.get_tracer("chaser.temporal"))]


def trace_requests(app: FastAPI, provider: TracerProvider | None) -> None:
    """One server span per request, the parent of what the request does in Temporal."""
    if provider is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="/metrics,/healthz,/readyz"
        )
