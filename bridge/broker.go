package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Broker is the bridge's NATS side: a connection, its JetStream context and, in embedded mode,
// the in-process server it runs.
//
// What the rest of the bridge asks of the link (is it connected? is the stream ready?) is kept
// here, outside the connection: nats.go holds its connection lock while it writes to the socket,
// so on a half-open link every call that takes that lock (IsConnected, a publish, a request) can
// wait for as long as the write does. Connection events and a stream check running on its own
// goroutine keep the answers current; Ready and Connected only read them.
type Broker struct {
	// link is the connection and its JetStream context. nats.go gives up on a connection for
	// good after some server errors (it closes it); the broker then builds a new one and swaps
	// it in here, so a request always reads the current one.
	link     atomic.Pointer[natsLink]
	Embedded *server.Server // nil against a remote server
	// url and opts build a connection; kept to build a new one when the old is closed for good.
	url  string
	opts []nats.Option
	// publishTimeout is the PubAck timeout of the JetStream contexts the broker makes.
	publishTimeout time.Duration
	rebuilding     atomic.Bool
	rebuilt        atomic.Uint64
	// stopMu orders a new connection's swap against Close: none is swapped in after Close.
	stopMu sync.Mutex

	// stream is the stream events are published to, as the bridge creates it: the configured
	// stream, or in store-and-forward mode the local <name>_EDGE.
	stream jetstream.StreamConfig
	// domain is the embedded server's JetStream domain in store-and-forward mode: every PubAck
	// must come from it (and from the local stream), never from the hub.
	domain string
	edge   edgeState

	log       zerolog.Logger
	connected atomic.Bool
	readiness atomic.Pointer[readiness]
	// generation counts disconnections: a stream check that began on an earlier connection
	// does not record its result, so a reconnect is never "ready" on an old answer.
	generation atomic.Uint64
	recreated  atomic.Uint64
	// rejections is the stream of refused requests (nil: off); created beside the event stream.
	rejections *jetstream.StreamConfig
	// streamBytes and streamMaxBytes are the event stream's stored bytes and its limit (-1:
	// none), as its latest check found them.
	streamBytes, streamMaxBytes atomic.Int64
	checkNow                    chan struct{}
	stop                        chan struct{}
	watching                    sync.WaitGroup
}

// natsLink is one connection and its JetStream context.
type natsLink struct {
	conn *nats.Conn
	js   jetstream.JetStream
}

// readiness is the outcome of the latest stream check.
type readiness struct {
	err error
	at  time.Time
}

// How the stream is watched: checked every streamCheckInterval, each check given
// streamCheckTimeout; a result older than readinessStale means the checks themselves are stuck
// (the link is stalled), which is not ready either.
const (
	streamCheckInterval = time.Second
	streamCheckTimeout  = 2 * time.Second
	readinessStale      = streamCheckInterval + streamCheckTimeout + time.Second
)

// StartBroker connects to NATS as cfg says: an embedded nats-server with JetStream when
// nats.url is empty, else the remote server or cluster.
func StartBroker(ctx context.Context, plan *Plan, log zerolog.Logger) (*Broker, error) {
	cfg := plan.cfg
	b := &Broker{
		stream:     publishStream(cfg),
		rejections: rejectionsStream(cfg),
		log:        log,
		checkNow:   make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	opts := []nats.Option{
		nats.Name("webhook-bridge"),
		// Never buffer a publish in memory while disconnected: the request must get its retry
		// answer now, not a PubAck that may never come.
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectBackoff),
		nats.RetryOnFailedConnect(false),
		// A dead link (a partition, a crashed host, a lost NAT entry: nothing closes, packets
		// vanish) is noticed after two unanswered pings, and a write to it gives up after
		// flusherTimeout instead of holding the connection lock until the kernel does; either
		// way the client drops the link and reconnects on its own (docs/operations.md#outages).
		nats.PingInterval(cfg.NATS.PingInterval),
		nats.MaxPingsOutstanding(2),
		nats.FlusherTimeout(flusherTimeout(cfg.NATS.PublishTimeout)),
		nats.ReconnectOnFlusherError(),
		nats.Timeout(connectTimeout(cfg.NATS.PublishTimeout)),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			b.connected.Store(false)
			b.generation.Add(1)
			// What was checked over the old connection says nothing about the next one (it may
			// reach a node whose stream has no quorum): not ready until a check says otherwise.
			b.readiness.Store(&readiness{err: errors.New("reconnected: stream not checked yet"), at: time.Now()})
			if !nc.IsClosed() && !nc.IsDraining() {
				log.Warn().Err(err).Msg("NATS disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.connected.Store(true)
			b.CheckStream()
			log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("NATS reconnected")
		}),
		nats.ClosedHandler(b.closed),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn().Err(err).Msg("NATS error")
		}),
	}
	url := cfg.NATS.URL
	if url == "" {
		ns, err := startEmbedded(plan)
		if err != nil {
			return nil, err
		}
		b.Embedded = ns
		if cfg.NATS.StoreAndForward() {
			b.domain = cfg.NATS.Embedded.Domain
			b.edge.hubDomain = cfg.NATS.Embedded.Leaf.HubDomain
			b.edge.edgeStream = cfg.Stream.EdgeStreamName()
			b.edge.hubStream = cfg.Stream.Name
		}
		url = ns.ClientURL()
		opts = append(opts, nats.InProcessServer(ns))
	} else {
		auth, err := remoteAuth(cfg.NATS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, auth...)
	}
	b.url, b.opts, b.publishTimeout = url, opts, cfg.NATS.PublishTimeout
	l, err := b.dial()
	if err != nil {
		b.shutdownEmbedded()
		return nil, err
	}
	b.link.Store(l)
	b.connected.Store(true)
	if err := b.ensureStream(ctx); err != nil {
		b.Close()
		return nil, err
	}
	b.checkStream()
	b.watching.Add(1)
	go b.watchStream()
	return b, nil
}

// dial builds a connection and its JetStream context.
func (b *Broker) dial() (*natsLink, error) {
	nc, err := nats.Connect(b.url, b.opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(16384),
		jetstream.WithPublishAsyncTimeout(b.publishTimeout),
	)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	return &natsLink{conn: nc, js: js}, nil
}

// Conn is the current NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.link.Load().conn }

// JS is the current connection's JetStream context.
func (b *Broker) JS() jetstream.JetStream { return b.link.Load().js }

// ConnectionsRebuilt counts the connections built after one was closed for good.
func (b *Broker) ConnectionsRebuilt() uint64 { return b.rebuilt.Load() }

// closed is called when nats.go has given a connection up for good: after Close, or after a
// server error it does not retry (an "-ERR" such as "maximum control line exceeded", or an
// authorization error). Unless the bridge is stopping, a new connection is built: a replica must
// never answer the retry answer forever while /healthz says it lives.
func (b *Broker) closed(nc *nats.Conn) {
	if l := b.link.Load(); l == nil || l.conn != nc {
		return // still starting (StartBroker reports it), or an older connection already replaced
	}
	b.connected.Store(false)
	b.stopMu.Lock() // Close waits for what it sees running: never start after it has looked
	defer b.stopMu.Unlock()
	select {
	case <-b.stop:
		return
	default:
	}
	if !b.rebuilding.CompareAndSwap(false, true) {
		return
	}
	b.log.Error().Err(nc.LastError()).Msg("NATS connection closed for good: building a new one")
	b.watching.Add(1)
	go b.rebuild()
}

// rebuild builds a new connection, retrying with backoff until one is up or the broker stops.
func (b *Broker) rebuild() {
	defer b.watching.Done()
	defer b.rebuilding.Store(false)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := time.NewTimer(reconnectBackoff(attempt))
			select {
			case <-b.stop:
				wait.Stop()
				return
			case <-wait.C:
			}
		}
		l, err := b.dial()
		if err != nil {
			b.log.Warn().Err(err).Int("attempt", attempt+1).Msg("NATS: building a new connection failed")
			continue
		}
		b.stopMu.Lock()
		select {
		case <-b.stop:
			b.stopMu.Unlock()
			l.conn.Close()
			return
		default:
		}
		b.link.Store(l)
		b.generation.Add(1)
		b.connected.Store(true)
		b.stopMu.Unlock()
		b.rebuilt.Add(1)
		b.CheckStream()
		b.log.Info().Str("server", l.conn.ConnectedUrlRedacted()).Msg("NATS: new connection up")
		return
	}
}

// publishStream is the stream the bridge publishes to and keeps in existence. In store-and-forward
// mode it is the local stream: Limits retention and discard new, so a full store refuses the
// publish (the provider's retry answer) instead of dropping the oldest events, which may not have
// reached the hub yet.
func publishStream(cfg *Config) jetstream.StreamConfig {
	s := cfg.Stream
	if cfg.NATS.StoreAndForward() {
		e := cfg.NATS.Embedded.Edge
		return jetstream.StreamConfig{
			Name:       s.EdgeStreamName(),
			Subjects:   []string{s.SubjectPrefix + ".>"},
			Retention:  jetstream.LimitsPolicy,
			Discard:    jetstream.DiscardNew,
			Storage:    jetstream.FileStorage,
			Replicas:   1,
			MaxAge:     e.MaxAge,
			MaxBytes:   int64(e.MaxBytes),
			Duplicates: e.DuplicateWindow,
		}
	}
	c := jetstream.StreamConfig{
		Name:       s.Name,
		Subjects:   []string{s.SubjectPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Replicas:   s.Replicas,
		MaxAge:     s.MaxAge,
		Duplicates: s.DuplicateWindow,
	}
	if s.MaxBytes > 0 {
		// Full: refuse the new event (the provider's retry answer), never drop a stored one.
		c.MaxBytes, c.Discard = int64(s.MaxBytes), jetstream.DiscardNew
	}
	return c
}

// flusherTimeout bounds one write to the socket: well inside publish_timeout, so a stalled
// link is dropped while the requests waiting on it can still be answered in time.
func flusherTimeout(publishTimeout time.Duration) time.Duration {
	return max(min(publishTimeout/2, time.Second), 50*time.Millisecond)
}

// connectTimeout bounds a dial and the greeting that follows it. nats.go holds the connection's
// lock through both when it reconnects, and a request hands its event over on its own goroutine
// (Publisher): a dial and a greeting together stay within half of publish_timeout, so a request
// that meets a reconnect is still answered in time. At most 2 s, the client's own default.
func connectTimeout(publishTimeout time.Duration) time.Duration {
	return max(min(publishTimeout/4, 2*time.Second), 50*time.Millisecond)
}

// reconnectBackoff waits longer after each failed attempt, up to 5 s, with jitter.
func reconnectBackoff(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2)
}

func startEmbedded(plan *Plan) (*server.Server, error) {
	cfg := plan.cfg
	storeDir, err := filepath.Abs(cfg.NATS.Embedded.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.store_dir: %w", err)
	}
	opts := &server.Options{
		ServerName: "webhook-bridge",
		Host:       plan.embeddedHost,
		Port:       plan.embeddedPort,
		JetStream:  true,
		StoreDir:   storeDir,
		// A message is the body plus its CloudEvents headers (docs/configuration.md).
		MaxPayload: int32(min(cfg.HTTP.MaxBodyBytes+payloadHeadroom, 64<<20)),
		NoSigs:     true,
		NoLog:      true,
	}
	if cfg.NATS.StoreAndForward() {
		leafOptions(opts, plan)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS server on %s did not start", cfg.NATS.Embedded.Listen)
	}
	return ns, nil
}

// remoteAuth turns the nats.* credentials and TLS settings into connection options.
func remoteAuth(c NATSConfig) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case c.Credentials != "":
		if _, err := os.Stat(c.Credentials); err != nil {
			return nil, fmt.Errorf("nats.credentials: %w", err)
		}
		opts = append(opts, nats.UserCredentials(c.Credentials))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	if c.TLS.CAFile != "" || c.TLS.CertFile != "" {
		tc, err := tlsClientConfig(c.TLS)
		if err != nil {
			return nil, fmt.Errorf("nats.tls: %w", err)
		}
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// ensureStream creates or updates the stream; it never deletes one.
func (b *Broker) ensureStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := b.JS().CreateOrUpdateStream(ctx, b.stream); err != nil {
		return fmt.Errorf("stream %s: %w", b.stream.Name, err)
	}
	if b.rejections != nil {
		if _, err := b.JS().CreateOrUpdateStream(ctx, *b.rejections); err != nil {
			return fmt.Errorf("stream %s: %w", b.rejections.Name, err)
		}
	}
	return nil
}

// rejectionsStream is the stream of refused requests: file storage, its own limits, the oldest
// dropped when full (they are for looking at, not for processing).
func rejectionsStream(cfg *Config) *jetstream.StreamConfig {
	if !cfg.Rejections.On() {
		return nil
	}
	return &jetstream.StreamConfig{
		Name:      cfg.Stream.RejectionsStreamName(),
		Subjects:  []string{cfg.Stream.RejectPrefix + ".>"},
		Storage:   jetstream.FileStorage,
		Retention: jetstream.LimitsPolicy,
		Discard:   jetstream.DiscardOld,
		MaxAge:    cfg.Rejections.MaxAge,
		MaxBytes:  int64(cfg.Rejections.MaxBytes),
	}
}

// StreamStorage is the event stream's stored bytes and its limit (-1: none) as last checked.
func (b *Broker) StreamStorage() (bytes, limit int64) {
	return b.streamBytes.Load(), b.streamMaxBytes.Load()
}

// Connected reports the connection's state as its events last told it; it never waits.
func (b *Broker) Connected() bool { return b.connected.Load() }

// StreamsRecreated counts the times the stream was found missing and created again.
func (b *Broker) StreamsRecreated() uint64 { return b.recreated.Load() }

// Ready reports whether NATS is connected and the latest stream check, at most a few seconds
// old, found the stream able to take a publish. It never waits on the connection.
func (b *Broker) Ready(context.Context) error {
	if !b.connected.Load() {
		return errors.New("NATS is not connected")
	}
	r := b.readiness.Load()
	if r == nil {
		return errors.New("stream not checked yet")
	}
	if age := time.Since(r.at); age > readinessStale {
		return fmt.Errorf("stream %s: no answer for %s (NATS link stalled?)", b.stream.Name, age.Round(time.Second))
	}
	return r.err
}

// CheckStream asks the watcher for a stream check now (after a reconnect, or when a publish
// found no stream); it does not wait for it.
func (b *Broker) CheckStream() {
	select {
	case b.checkNow <- struct{}{}:
	default:
	}
}

// watchStream checks the stream every streamCheckInterval, and when asked, until Close.
func (b *Broker) watchStream() {
	defer b.watching.Done()
	tick := time.NewTicker(streamCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		case <-b.checkNow:
		}
		b.checkStream()
	}
}

// checkStream records whether the stream can take a publish. A stream that is gone (deleted by
// an operator under a running bridge) is created again with the configured settings: until that
// succeeds, publishes find no stream and get the retry answer, never a 2xx.
func (b *Broker) checkStream() {
	gen := b.generation.Load()
	ctx, cancel := context.WithTimeout(context.Background(), streamCheckTimeout)
	defer cancel()
	err := b.streamReady(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		b.log.Error().Str("stream", b.stream.Name).Msg("stream not found (deleted?): creating it again")
		if cerr := b.ensureStream(ctx); cerr != nil {
			b.log.Error().Err(cerr).Str("stream", b.stream.Name).Msg("could not create the stream again")
			err = fmt.Errorf("stream %s missing, recreating: %w", b.stream.Name, cerr)
		} else {
			b.recreated.Add(1)
			b.log.Error().Str("stream", b.stream.Name).Msg("stream created again; events published before it was deleted are gone from NATS")
			err = b.streamReady(ctx)
		}
	}
	if b.generation.Load() == gen {
		b.readiness.Store(&readiness{err: err, at: time.Now()})
	}
	if b.domain != "" {
		b.edge.update(b) // after the stream's own check, on a time budget of its own
	}
}

// streamReady asks whether the stream can take a publish: it answers, has a leader and a majority
// of its replicas online. A clustered stream answers its info even without quorum: from a leader
// that has not yet noticed its followers are gone, and, once JetStream's lost-quorum interval has
// passed, from a replica that has no leader.
func (b *Broker) streamReady(ctx context.Context) error {
	name := b.stream.Name
	s, err := b.JS().Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	b.edge.lastSeq.Store(s.CachedInfo().State.LastSeq)
	b.streamBytes.Store(int64(s.CachedInfo().State.Bytes))
	b.streamMaxBytes.Store(s.CachedInfo().Config.MaxBytes)
	if c := s.CachedInfo().Cluster; c != nil {
		if c.Leader == "" {
			return fmt.Errorf("stream %s: no leader (no quorum)", name)
		}
		online := 1 // the leader
		for _, r := range c.Replicas {
			if !r.Offline {
				online++
			}
		}
		if replicas := 1 + len(c.Replicas); online <= replicas/2 {
			return fmt.Errorf("stream %s: %d of %d replicas online (no quorum)", name, online, replicas)
		}
	}
	return nil
}

// MaxPayload is the connected server's max_payload.
func (b *Broker) MaxPayload() int64 { return b.Conn().MaxPayload() }

// Close drains the connection (publishes in flight complete) and shuts the embedded server down.
func (b *Broker) Close() {
	b.stopMu.Lock()
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.stopMu.Unlock()
	b.watching.Wait()
	if l := b.link.Load(); l != nil {
		nc := l.conn
		closed := make(chan struct{})
		nc.SetClosedHandler(func(*nats.Conn) { b.connected.Store(false); close(closed) })
		if err := nc.Drain(); err != nil {
			nc.Close()
		} else {
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				nc.Close()
			}
		}
	}
	b.shutdownEmbedded()
}

func (b *Broker) shutdownEmbedded() {
	if b.Embedded != nil {
		b.Embedded.Shutdown()
		b.Embedded.WaitForShutdown()
	}
}
