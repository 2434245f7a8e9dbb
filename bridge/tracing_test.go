package bridge_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestTracing: with a tracer, each webhook is a span whose parent is the request's traceparent,
// with verify and publish children; the message carries the publish span's context (so a
// consumer continues the trace); a rejected request's span carries the reason.
func TestTracing(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	ns := natstest.Start(t)
	cfg := testConfig(ns.URL())
	app, err := bridge.StartWith(context.Background(), cfg, zerolog.Nop(), bridge.Options{Tracer: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	h := &harness{t: t, nats: ns, app: app, cfg: cfg, base: "http://" + app.Addr(), js: mustJetStream(t, ns)}

	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	hdr := aghanimHeaders(testSecret, 1725548450, playerUpdate)
	hdr.Set("traceparent", incoming)
	if resp, body := h.post("aghanim", hdr, playerUpdate); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	spans := map[string]tracetest.SpanStub{}
	for _, s := range exporter.GetSpans() {
		spans[s.Name] = s
	}
	root, verify, publish := spans["webhook"], spans["verify"], spans["publish"]
	if root.Name == "" || verify.Name == "" || publish.Name == "" {
		t.Fatalf("spans %v, want webhook, verify, publish", names(exporter.GetSpans()))
	}
	if got := root.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %s, want the incoming one", got)
	}
	if got := root.Parent.SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("webhook span's parent %s, want the incoming span", got)
	}
	for _, child := range []tracetest.SpanStub{verify, publish} {
		if child.Parent.SpanID() != root.SpanContext.SpanID() {
			t.Errorf("%s's parent is not the webhook span", child.Name)
		}
	}
	attrs := attrMap(root.Attributes)
	for k, want := range map[string]string{
		"bridge.endpoint": "aghanim", "bridge.provider": "aghanim", "bridge.outcome": "accepted",
		"cloudevents.event_type": "com.aghanim.player.update", "http.response.status_code": "200",
	} {
		if attrs[k] != want {
			t.Errorf("webhook span %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
		}
	}
	msgs := h.messages()
	wantTP := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + publish.SpanContext.SpanID().String() + "-01"
	if len(msgs) != 1 || msgs[0].Header.Get("traceparent") != wantTP || msgs[0].Header.Get("ce-traceparent") != wantTP {
		t.Errorf("message traceparent %q / ce-traceparent %q, want the publish span's %q",
			msgs[0].Header.Get("traceparent"), msgs[0].Header.Get("ce-traceparent"), wantTP)
	}

	exporter.Reset()
	if resp, _ := h.post("aghanim", aghanimHeaders("wrong", 1725548450, playerUpdate), playerUpdate); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	var rejected tracetest.SpanStub
	for _, s := range exporter.GetSpans() {
		if s.Name == "webhook" {
			rejected = s
		}
	}
	if a := attrMap(rejected.Attributes); a["bridge.reason"] != "bad_signature" || a["http.response.status_code"] != "403" {
		t.Errorf("rejected request's span: %v, want reason bad_signature and status 403", a)
	}
}

func names(spans tracetest.SpanStubs) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name)
	}
	return n
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// TestTracerProviderFromEnvironment: tracing is off unless the OTEL_* variables name an endpoint,
// and stays off when they disable it.
func TestTracerProviderFromEnvironment(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		on   bool
		err  bool
	}{
		{"nothing set", nil, false, false},
		{"an endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, false},
		{"a traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true, false},
		{"disabled SDK", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_TRACES_EXPORTER": "none"}, false, false},
		{"gRPC asked for", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, true},
		{"gRPC asked for traces", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, false, true},
		{"HTTP for traces, gRPC in general", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := bridge.NewTracerProvider(context.Background(), env(tc.env))
			if (err != nil) != tc.err || (tp != nil) != tc.on {
				t.Fatalf("provider %v, err %v; want on %v, err %v", tp != nil, err, tc.on, tc.err)
			}
			if tp != nil {
				_ = tp.Shutdown(context.Background())
			}
		})
	}
}
