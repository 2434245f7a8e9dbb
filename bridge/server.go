package bridge

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"
)

// Server is the HTTP ingress: routes, the webhook pipeline and the health endpoints.
type Server struct {
	// routing is what a reload may change: the endpoints and how a client's address is found.
	// A request reads it once, so it finishes on the configuration it started with.
	routing   atomic.Pointer[routing]
	publisher *Publisher
	ready     func(context.Context) error
	metrics   *Metrics
	log       zerolog.Logger
	maxBody   int64
	inflight  *byteBudget // http.max_inflight_bytes
	logSample *logSampler // lines of refused requests
	// rejections keeps refused requests in their stream (nil: rejections.enabled false).
	rejections *rejectionLog
	now        func() time.Time
	handler    http.Handler
	tracing    *tracing // nil: tracing off
}

// ServerDeps are what the server is built from besides the configuration.
type ServerDeps struct {
	Publisher *Publisher
	Ready     func(context.Context) error
	Metrics   *Metrics
	Log       zerolog.Logger
	// MaxBodyBytes is the effective body limit (the configured one, lowered to fit the server's
	// max_payload).
	MaxBodyBytes int64
	// MaxInflightBytes bounds the bytes of all bodies being read or waiting to be stored
	// (http.max_inflight_bytes; 0: the default).
	MaxInflightBytes int64
	// Tracer, when set, traces every webhook (OpenTelemetry); nil: tracing off.
	Tracer trace.TracerProvider
}

// NewServer returns the bridge's HTTP handler for a compiled configuration; all routes are here.
func NewServer(plan *Plan, deps ServerDeps) *Server {
	s := &Server{
		publisher: deps.Publisher,
		ready:     deps.Ready,
		metrics:   deps.Metrics,
		log:       deps.Log,
		maxBody:   deps.MaxBodyBytes,
		logSample: newLogSampler(),
		inflight:  newByteBudget(cmp.Or(deps.MaxInflightBytes, DefaultMaxInflightBytes)),
		now:       time.Now,
		tracing:   newTracing(deps.Tracer),
	}
	s.Route(plan)
	if plan.cfg.Rejections.On() && deps.Publisher != nil {
		s.rejections = newRejectionLog(deps.Publisher.broker, plan.cfg, s.metrics.rejectionsDropped, deps.Log)
	}
	s.metrics.watchInflight(func() float64 { return float64(s.inflight.Used()) })

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = func(r *http.Request) string { return s.routing.Load().clientIP(r) }
	e.Use(requestID(newRequestIDs()))
	e.Any("/webhooks/:endpoint", s.handleWebhook)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.handleReady)
	if plan.cfg.HTTP.AdminListen == "" {
		// With an admin listener, /metrics is served there only: an ingress usually forwards
		// every path of the webhook port.
		e.GET("/metrics", echo.WrapHandler(s.MetricsHandler()))
	}
	s.handler = e
	return s
}

// Close stops what the server runs beside its handlers (the rejections' publisher).
func (s *Server) Close() {
	if s.rejections != nil {
		s.rejections.close()
	}
}

// MetricsHandler serves the bridge's metrics in the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})
}

// ServeHTTP serves the bridge's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routing is the part of the configuration a reload swaps in at once.
type routing struct {
	endpoints map[string]*Endpoint
	clientIP  echo.IPExtractor
}

// Route makes plan's endpoints and trusted proxies the ones new requests see; requests already
// in flight keep what they started with.
func (s *Server) Route(plan *Plan) {
	r := &routing{endpoints: make(map[string]*Endpoint, len(plan.endpoints)), clientIP: ipExtractor(plan.trustedProxies)}
	for _, ep := range plan.endpoints {
		ep.metrics = s.metrics.forEndpoint(ep.ID)
		r.endpoints[ep.ID] = ep
	}
	s.routing.Store(r)
}

func (s *Server) handleReady(c echo.Context) error {
	if err := s.ready(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// ipExtractor believes X-Forwarded-For only from the trusted proxies' networks.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// requestIDs makes request ids unique across replicas and restarts without reading the random
// source per request: a random prefix per process and a counter.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (r *requestIDs) next() string { return r.prefix + strconv.FormatUint(r.n.Add(1), 10) }

// requestID keeps the caller's request id (X-Request-Id, or CentrePoint's request-id) or makes
// one, and returns it in X-Request-Id; the request log line carries it.
func requestID(ids *requestIDs) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header
			id := h.Get(echo.HeaderXRequestID)
			if id == "" {
				id = h.Get("Request-Id")
			}
			if !printableASCII(id, 128) {
				id = ids.next()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}
