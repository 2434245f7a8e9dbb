package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"
)

// Server timeouts: a slow or stalled client cannot hold a connection forever (docs/how-it-works.md).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 30 * time.Second
)

// App is a running bridge: NATS, the stream and the HTTP server.
type App struct {
	plan    *Plan // the configuration in force; reloads replace it
	log     zerolog.Logger
	broker  *Broker
	server  *Server
	metrics *Metrics
	http    *http.Server
	ln      net.Listener
	served  chan error
	admin   *adminServer // nil unless http.admin_listen is set

	reloadMu sync.Mutex
	load     func() (*Config, error) // set by EnableReload

	stopOnce sync.Once
	stopErr  error
}

// NewLogger builds the logger log.level and log.format ask for. Without a log.format, a terminal
// gets the console format and anything else (a container, a file, a pipe) JSON: pretty-printing
// re-parses every line, which under load cost about a sixth of the bridge's CPU.
func NewLogger(c LogConfig, w io.Writer) zerolog.Logger {
	if LogFormat(c, w) == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !isTerminal(w)}
	}
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// LogFormat is the format NewLogger writes to w: log.format, or by default console on a terminal
// and json elsewhere.
func LogFormat(c LogConfig, w io.Writer) string {
	switch {
	case c.Format != "":
		return c.Format
	case isTerminal(w):
		return "console"
	default:
		return "json"
	}
}

// Options are what a bridge is started with beside its configuration.
type Options struct {
	// Tracer traces every webhook (see NewTracerProvider); nil: tracing off.
	Tracer trace.TracerProvider
}

// Start connects to NATS (starting the embedded server if configured), ensures the stream and
// starts serving HTTP. It returns once the bridge accepts requests.
func Start(ctx context.Context, cfg *Config, log zerolog.Logger) (*App, error) {
	return StartWith(ctx, cfg, log, Options{})
}

// StartWith is Start with options: it compiles cfg (once) and starts the plan.
func StartWith(ctx context.Context, cfg *Config, log zerolog.Logger, opts Options) (*App, error) {
	plan, err := Compile(cfg)
	if err != nil {
		return nil, err
	}
	return StartPlan(ctx, plan, log, opts)
}

// StartPlan starts a compiled configuration; nothing is checked or parsed again.
func StartPlan(ctx context.Context, plan *Plan, log zerolog.Logger, opts Options) (*App, error) {
	cfg := plan.cfg
	broker, err := StartBroker(ctx, plan, log)
	if err != nil {
		return nil, err
	}
	maxBody := EffectiveBodyLimit(cfg.HTTP.MaxBodyBytes, broker.MaxPayload())
	if maxBody < cfg.HTTP.MaxBodyBytes {
		log.Warn().Int64("max_payload", broker.MaxPayload()).Int64("max_body_bytes", maxBody).
			Msg("NATS max_payload is smaller than http.max_body_bytes allows: body limit lowered")
	}
	warnUnlimitedUnsigned(log, cfg)
	warnTrustedAllowFrom(log, plan)
	metrics := NewMetrics(broker)
	handler := NewServer(plan, ServerDeps{
		Publisher:    NewPublisher(broker, cfg.NATS.PublishTimeout),
		Ready:        broker.Ready,
		Metrics:      metrics,
		Log:          log,
		MaxBodyBytes: maxBody,
		Tracer:       opts.Tracer,
		// The body limit may have been lowered to fit the server: the budget must still hold one.
		MaxInflightBytes: max(int64(cfg.HTTP.MaxInflightBytes), maxBody),
	})
	var maxReply time.Duration
	for _, ep := range cfg.Endpoints {
		maxReply = max(maxReply, ep.ReplyTimeout)
	}
	tcp, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		broker.Close()
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	ln := newLimitListener(tcp, cmp.Or(cfg.HTTP.MaxConnections, DefaultMaxConnections))
	metrics.watchConnections(func() float64 { return float64(ln.Open()) })
	a := &App{
		plan:    plan,
		log:     log,
		broker:  broker,
		server:  handler,
		metrics: metrics,
		ln:      ln,
		served:  make(chan error, 1),
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			// Writing starts after the body is read, the PubAck and a reply came back.
			WriteTimeout:   readTimeout + cfg.NATS.PublishTimeout + maxReply + 5*time.Second,
			IdleTimeout:    idleTimeout,
			MaxHeaderBytes: maxHeaderBytes,
			ErrorLog:       nil,
			HTTP2:          &http.HTTP2Config{MaxConcurrentStreams: maxStreamsPerConnection},
		},
	}
	go func() {
		var err error
		if cfg.HTTP.TLS.CertFile != "" {
			err = a.http.ServeTLS(ln, cfg.HTTP.TLS.CertFile, cfg.HTTP.TLS.KeyFile)
		} else {
			err = a.http.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.served <- err
	}()
	if cfg.HTTP.AdminListen != "" {
		if a.admin, err = startAdmin(cfg.HTTP.AdminListen, cfg.HTTP.AdminToken, a); err != nil {
			_ = a.http.Close()
			<-a.served
			broker.Close()
			return nil, err
		}
	}
	ids := make([]string, 0, len(cfg.Endpoints))
	for _, ep := range cfg.Endpoints {
		ids = append(ids, ep.ID+"("+ep.Provider+")")
	}
	mode := "embedded " + cfg.NATS.Embedded.Listen + " store " + cfg.NATS.Embedded.StoreDir
	if cfg.NATS.URL != "" {
		mode = "remote " + broker.Conn().ConnectedUrlRedacted()
	}
	started := log.Info().Str("listen", a.Addr()).Bool("tls", cfg.HTTP.TLS.CertFile != "").Str("nats", mode).
		Str("stream", cfg.Stream.Name).Str("endpoints", strings.Join(ids, ", "))
	if a.admin != nil {
		// The operator console (docs/console.md) is the admin listener's page.
		started = started.Str("console", "http://"+a.admin.addr()+"/")
	}
	started.Msg("bridge started")
	return a, nil
}

// warnUnlimitedUnsigned warns of endpoints that accept requests without proof from anywhere.
func warnUnlimitedUnsigned(log zerolog.Logger, cfg *Config) {
	for _, ep := range cfg.Endpoints {
		if ep.AllowUnsigned && len(ep.AllowFrom) == 0 {
			log.Warn().Str("endpoint", ep.ID).
				Msg("allow_unsigned without allow_from: requests with no proof at all are accepted from any address")
		}
	}
}

// warnTrustedAllowFrom warns of allow_from entries inside a trusted proxy range: any host in that
// range may write any client address in X-Forwarded-For, so the entry admits more than it says.
func warnTrustedAllowFrom(log zerolog.Logger, plan *Plan) {
	for _, ep := range plan.endpoints {
		for _, allowed := range ep.allowFrom {
			for _, trusted := range plan.trustedProxies {
				if trusted.Overlaps(allowed) {
					log.Warn().Str("endpoint", ep.ID).Str("allow_from", allowed.String()).Str("trusted_proxy", trusted.String()).
						Msg("an allow_from entry lies in a trusted proxy range: any host there can claim any client address in X-Forwarded-For; trust only the ingress's own addresses")
				}
			}
		}
	}
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Broker is the bridge's NATS side.
func (a *App) Broker() *Broker { return a.broker }

// Wait serves until ctx ends (then shuts down gracefully) or the server fails.
func (a *App) Wait(ctx context.Context) error {
	select {
	case err := <-a.served:
		a.served <- err // for Shutdown
		if serr := a.Shutdown(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	case <-ctx.Done():
		return a.Shutdown()
	}
}

// Shutdown stops accepting requests, lets those in flight finish (their publishes included),
// drains the NATS connection and shuts the embedded server down.
// It may be called more than once; later calls return the first one's result.
func (a *App) Shutdown() error {
	a.stopOnce.Do(func() { a.stopErr = a.shutdown() })
	return a.stopErr
}

func (a *App) shutdown() error {
	a.log.Info().Msg("shutting down: finishing requests in flight")
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := a.http.Shutdown(ctx)
	if serr := <-a.served; serr != nil && err == nil {
		err = serr
	}
	if a.admin != nil {
		a.admin.close(ctx)
	}
	a.server.Close()
	a.broker.Close()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info().Msg("bridge stopped")
	return nil
}

// isTerminal reports whether w is a terminal (the console format and colours only there).
func isTerminal(w io.Writer) bool {
	if lw, ok := w.(*LogWriter); ok {
		w = lw.out
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	// A terminal, not any character device: /dev/null is one too, and a log sent there must not
	// be pretty-printed at the cost of the bridge's CPU.
	return isatty.IsTerminal(f.Fd())
}
