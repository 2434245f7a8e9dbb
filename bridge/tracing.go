package bridge

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing with OpenTelemetry (docs/operations.md#tracing): one span per webhook, its parent the
// request's traceparent, with child spans for verify, publish (until the PubAck) and the reply.
// The publish span's context travels in the message's traceparent / ce-traceparent headers, so a
// consumer continues the trace. Off unless the standard OTEL_* variables configure an exporter.

// tracing is the bridge's tracer and the W3C propagator; nil when tracing is off.
type tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

func newTracing(tp trace.TracerProvider) *tracing {
	if tp == nil {
		return nil
	}
	return &tracing{
		tracer: tp.Tracer("github.com/webhookbridge/bridge"),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// start begins the webhook's span, a child of the request's traceparent when it has one.
func (t *tracing) start(r *http.Request, endpoint string) (context.Context, trace.Span) {
	if t == nil {
		return r.Context(), nil
	}
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	// A fixed name: the endpoint comes from the URL and may be anything a client sends.
	return t.tracer.Start(ctx, "webhook", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("bridge.endpoint", endpoint), semconv.HTTPRequestMethodKey.String(r.Method)))
}

// child begins a step's span under ctx's.
func (t *tracing) child(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind))
}

// traceparent is ctx's span context as a W3C traceparent ("" when there is none).
func (t *tracing) traceparent(ctx context.Context) (traceparent, tracestate string) {
	carrier := propagation.MapCarrier{}
	t.prop.Inject(ctx, carrier)
	return carrier["traceparent"], carrier["tracestate"]
}

// endStep ends a step's span, marking it failed with err.
func endStep(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// endRequest ends the webhook's span with what the request log line says of it.
func endRequest(span trace.Span, rec *record, provider string) {
	if span == nil {
		return
	}
	outcome := "accepted"
	switch {
	case rec.retry:
		outcome = "retry"
	case rec.reason != "":
		outcome = rec.reason
	case rec.duplicate:
		outcome = "duplicate"
	}
	span.SetAttributes(
		attribute.String("bridge.provider", provider),
		attribute.String("bridge.outcome", outcome),
		semconv.HTTPResponseStatusCodeKey.Int(rec.status),
	)
	if rec.eventType != "" {
		span.SetAttributes(attribute.String("cloudevents.event_type", rec.eventType), attribute.String("cloudevents.event_id", rec.eventID))
	}
	if rec.reason != "" && rec.reason != "unmapped" && rec.reason != "handshake" {
		span.SetAttributes(attribute.String("bridge.reason", rec.reason))
	}
	if rec.status >= 500 || rec.retry {
		span.SetStatus(codes.Error, rec.reason)
	}
	span.End()
}

// NewTracerProvider returns an OTLP/HTTP tracer provider when the standard OTEL_* variables ask
// for one (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set, and neither
// OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none); nil otherwise. The exporter reads the
// rest (headers, timeout, sampler via OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME) itself.
func NewTracerProvider(ctx context.Context, getenv func(string) (string, bool)) (*sdktrace.TracerProvider, error) {
	get := func(k string) string { v, _ := getenv(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(get("OTEL_TRACES_EXPORTER"), "none") {
		return nil, nil
	}
	if get("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := get(k); p != "" {
			if p != "http/protobuf" {
				return nil, fmt.Errorf("%s=%s: the bridge exports OTLP over HTTP (http/protobuf)", k, p)
			}
			break // the traces-specific setting wins over the general one
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	name := get("OTEL_SERVICE_NAME")
	if name == "" {
		name = "webhook-bridge"
	}
	host, _ := os.Hostname()
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(name), semconv.HostName(host)))
	if err != nil {
		res = resource.Default()
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
