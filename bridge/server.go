package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Server is the HTTP ingress: routes, the webhook pipeline and the health endpoints.
type Server struct {
	endpoints map[string]*Endpoint
	publisher *Publisher
	ready     func(context.Context) error
	metrics   *Metrics
	log       zerolog.Logger
	maxBody   int64
	now       func() time.Time
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
}

// NewServer returns the bridge's HTTP handler; all routes are here.
func NewServer(cfg *Config, deps ServerDeps) http.Handler {
	s := &Server{
		endpoints: map[string]*Endpoint{},
		publisher: deps.Publisher,
		ready:     deps.Ready,
		metrics:   deps.Metrics,
		log:       deps.Log,
		maxBody:   deps.MaxBodyBytes,
		now:       time.Now,
	}
	for _, c := range cfg.Endpoints {
		s.endpoints[c.ID] = newEndpoint(c, cfg.Stream)
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = ipExtractor(cfg.HTTP.TrustedProxies)
	e.Use(requestID(newRequestIDs()))
	e.Any("/webhooks/:endpoint", s.handleWebhook)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})))
	return e
}

func (s *Server) handleReady(c echo.Context) error {
	if err := s.ready(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// ipExtractor believes X-Forwarded-For only from the trusted proxies' networks.
func ipExtractor(trusted []string) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range trusted {
		if p, err := parsePrefix(cidr); err == nil { // Validate has rejected the others
			opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
		}
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
