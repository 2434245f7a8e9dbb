package bridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Broker is the bridge's NATS side: a connection, its JetStream context and, in embedded mode,
// the in-process server it runs.
type Broker struct {
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Embedded *server.Server // nil against a remote server
	stream   string
}

// StartBroker connects to NATS as cfg says: an embedded nats-server with JetStream when
// nats.url is empty, else the remote server or cluster.
func StartBroker(ctx context.Context, cfg *Config, log zerolog.Logger) (*Broker, error) {
	b := &Broker{stream: cfg.Stream.Name}
	opts := []nats.Option{
		nats.Name("webhook-bridge"),
		// Never buffer a publish in memory while disconnected: the request must get its 503 now,
		// not a PubAck that may never come (CONTRACT §1.4).
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectBackoff),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !nc.IsClosed() && !nc.IsDraining() {
				log.Warn().Err(err).Msg("NATS disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("NATS reconnected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn().Err(err).Msg("NATS error")
		}),
	}
	url := cfg.NATS.URL
	if url == "" {
		ns, err := startEmbedded(cfg)
		if err != nil {
			return nil, err
		}
		b.Embedded = ns
		url = ns.ClientURL()
		opts = append(opts, nats.InProcessServer(ns))
	} else {
		auth, err := remoteAuth(cfg.NATS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, auth...)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.shutdownEmbedded()
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	b.Conn = nc
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(16384),
		jetstream.WithPublishAsyncTimeout(cfg.NATS.PublishTimeout),
	)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	b.JS = js
	if err := b.ensureStream(ctx, cfg.Stream); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// reconnectBackoff waits longer after each failed attempt, up to 5 s, with jitter.
func reconnectBackoff(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 6)
	d = min(d, 5*time.Second)
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2))
}

func startEmbedded(cfg *Config) (*server.Server, error) {
	host, port, err := parseHostPort(cfg.NATS.Embedded.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.listen: %w", err)
	}
	storeDir, err := filepath.Abs(cfg.NATS.Embedded.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.store_dir: %w", err)
	}
	opts := &server.Options{
		ServerName: "webhook-bridge",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		// A message is the body plus its CloudEvents headers (CONTRACT §2).
		MaxPayload: int32(min(cfg.HTTP.MaxBodyBytes+payloadHeadroom, 64<<20)),
		NoSigs:     true,
		NoLog:      true,
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
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("nats.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("nats.tls.ca_file: no certificate in %s", c.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if c.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("nats.tls.cert_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// ensureStream creates or updates the stream; it never deletes one.
func (b *Broker) ensureStream(ctx context.Context, s StreamConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := b.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       s.Name,
		Subjects:   []string{s.SubjectPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Replicas:   s.Replicas,
		MaxAge:     s.MaxAge,
		Duplicates: s.DuplicateWindow,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.Name, err)
	}
	return nil
}

// Ready reports whether NATS is connected and the stream can take a publish: it answers, has a
// leader and a majority of its replicas online. A clustered stream answers its info even without
// quorum: from a leader that has not yet noticed its followers are gone, and, once JetStream's
// lost-quorum interval has passed, from a replica that has no leader.
func (b *Broker) Ready(ctx context.Context) error {
	if !b.Conn.IsConnected() {
		return errors.New("NATS is not connected")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := b.JS.Stream(ctx, b.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", b.stream, err)
	}
	if c := s.CachedInfo().Cluster; c != nil {
		if c.Leader == "" {
			return fmt.Errorf("stream %s: no leader (no quorum)", b.stream)
		}
		online := 1 // the leader
		for _, r := range c.Replicas {
			if !r.Offline {
				online++
			}
		}
		if replicas := 1 + len(c.Replicas); online <= replicas/2 {
			return fmt.Errorf("stream %s: %d of %d replicas online (no quorum)", b.stream, online, replicas)
		}
	}
	return nil
}

// MaxPayload is the connected server's max_payload.
func (b *Broker) MaxPayload() int64 { return b.Conn.MaxPayload() }

// Close drains the connection (publishes in flight complete) and shuts the embedded server down.
func (b *Broker) Close() {
	if b.Conn != nil {
		closed := make(chan struct{})
		b.Conn.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err := b.Conn.Drain(); err != nil {
			b.Conn.Close()
		} else {
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				b.Conn.Close()
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
