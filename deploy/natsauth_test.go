package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/providers"
)

// The users every NATS configuration of the repository knows, and the environment variable each
// one's password comes from.
var natsPasswordVars = map[string]string{
	"admin":     "NATS_ADMIN_PASSWORD",
	"bridge":    "NATS_BRIDGE_PASSWORD",
	"consumer":  "NATS_CONSUMER_PASSWORD",
	"responder": "NATS_RESPONDER_PASSWORD",
	"leaf":      "NATS_LEAF_PASSWORD",
}

// randomSecret is what scripts/compose-env.sh and the documentation generate: 32 random bytes
// in hex.
func randomSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// configNATS is a real nats-server started in-process from one of the repository's NATS
// configuration files, on loopback with random ports and a temp store.
type configNATS struct {
	*server.Server
	passwords map[string]string // user → password
	leafPort  int               // 0: no leafnode listener
}

// startConfigNATS loads path with nats-server's own parser, with env set (every password a
// random value), and starts it: listeners moved to random loopback ports, cluster routes
// dropped (one node stands for the cluster), the monitoring port off.
func startConfigNATS(t *testing.T, path string, env map[string]string) *configNATS {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if opts.NoAuthUser != "" {
		t.Errorf("%s: no_auth_user %q lets clients in without credentials", path, opts.NoAuthUser)
	}
	opts.Host, opts.Port = "127.0.0.1", freePort(t)
	opts.HTTPHost, opts.HTTPPort = "", 0
	opts.Cluster, opts.Routes, opts.RoutesStr = server.ClusterOpts{}, nil, ""
	opts.StoreDir = t.TempDir()
	opts.NoSigs, opts.NoLog = true, true
	leafPort := 0
	if opts.LeafNode.Port != 0 {
		leafPort = freePort(t)
		opts.LeafNode.Host, opts.LeafNode.Port = "127.0.0.1", leafPort
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatalf("%s: nats-server did not start", path)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	passwords := map[string]string{}
	for user, v := range natsPasswordVars {
		if p, ok := env[v]; ok {
			passwords[user] = p
		}
	}
	return &configNATS{Server: s, passwords: passwords, leafPort: leafPort}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// passwordEnv is a random password for every user, by environment variable.
func passwordEnv(t testing.TB) map[string]string {
	env := map[string]string{}
	for _, v := range natsPasswordVars {
		env[v] = randomSecret(t)
	}
	return env
}

// client is a connection as one user, recording the permission violations the server reports.
type client struct {
	*nats.Conn
	js         jetstream.JetStream
	violations chan string
}

// userURL is the server's client URL with user:password@, as the compose file passes it to
// the examples' -nats flag.
func (s *configNATS) userURL(user string) string {
	u, _ := url.Parse(s.ClientURL())
	u.User = url.UserPassword(user, s.passwords[user])
	return u.String()
}

// connect logs in as user (its password in the URL, as the examples take it).
func (s *configNATS) connect(t *testing.T, user string) *client {
	t.Helper()
	if _, ok := s.passwords[user]; !ok {
		t.Fatalf("no password for user %s", user)
	}
	c := &client{violations: make(chan string, 64)}
	nc, err := nats.Connect(s.userURL(user), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			select {
			case c.violations <- err.Error():
			default:
			}
		}
	}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c.Conn, c.js = nc, js
	return c
}

// denied runs do and waits for the server to report a permission violation on subject.
func (c *client) denied(t *testing.T, what, subject string, do func() error) {
	t.Helper()
	for len(c.violations) > 0 {
		<-c.violations
	}
	err := do()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v := <-c.violations:
			if strings.Contains(v, `"`+subject+`"`) {
				return
			}
		case <-deadline:
			t.Errorf("%s: no permissions violation for %s (err %v)", what, subject, err)
			return
		}
	}
}

func (c *client) flush(t *testing.T) {
	t.Helper()
	if err := c.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The stream and subjects of the bridge's defaults, which the permissions name.
var webhooksStream = jetstream.StreamConfig{Name: "WEBHOOKS", Subjects: []string{"webhooks.>"}, Storage: jetstream.FileStorage}

// checkAnonymousRefused: no credentials, wrong ones, and a user's name with another's password
// are all refused.
func checkAnonymousRefused(t *testing.T, s *configNATS) {
	t.Helper()
	for what, u := range map[string]string{
		"anonymous":                    s.ClientURL(),
		"a wrong password":             strings.Replace(s.userURL("admin"), s.passwords["admin"], randomSecret(t), 1),
		"the bridge's name, no secret": strings.Replace(s.ClientURL(), "nats://", "nats://bridge@", 1),
	} {
		nc, err := nats.Connect(u, nats.MaxReconnects(0))
		if err == nil {
			nc.Close()
			t.Errorf("%s connection accepted", what)
		} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("%s connection: %v, want an authorization violation", what, err)
		}
	}
}

// checkBridgeRole: the bridge creates and updates its streams, publishes and gets PubAcks, asks
// questions; it may not delete or purge a stream, make another one or read a consumer.
func checkBridgeRole(t *testing.T, s *configNATS) {
	t.Helper()
	b := s.connect(t, "bridge")
	ctx := ctx5(t)
	for _, cfg := range []jetstream.StreamConfig{
		webhooksStream,
		{Name: "WEBHOOKS_REJECTED", Subjects: []string{"webhooks-rejected.>"}, Storage: jetstream.FileStorage},
	} {
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil { // update → not found → create
			t.Fatalf("bridge: create stream %s: %v", cfg.Name, err)
		}
		cfg.MaxAge = time.Hour
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			t.Fatalf("bridge: update stream %s: %v", cfg.Name, err)
		}
		if _, err := b.js.Stream(ctx, cfg.Name); err != nil {
			t.Errorf("bridge: stream info %s: %v", cfg.Name, err)
		}
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		t.Errorf("bridge: $JS.API.INFO: %v", err)
	}
	if ack, err := b.js.Publish(ctx, "webhooks.aghanim.player.update", []byte(`{}`)); err != nil || ack.Stream != "WEBHOOKS" {
		t.Errorf("bridge: publish webhooks.aghanim.player.update: %+v %v", ack, err)
	}
	if ack, err := b.js.Publish(ctx, "webhooks-rejected.aghanim", []byte(`{}`)); err != nil || ack.Stream != "WEBHOOKS_REJECTED" {
		t.Errorf("bridge: publish webhooks-rejected.aghanim: %+v %v", ack, err)
	}
	// A question nobody answers: no responders, not a permissions violation.
	if _, err := b.Request("webhooks-reply.aghanim.player.verify", []byte(`{}`), 2*time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("bridge: question without a responder: %v, want no responders", err)
	}
	short := func(f func(context.Context) error) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			return f(ctx)
		}
	}
	b.denied(t, "bridge deletes the stream", "$JS.API.STREAM.DELETE.WEBHOOKS", short(func(ctx context.Context) error { return b.js.DeleteStream(ctx, "WEBHOOKS") }))
	b.denied(t, "bridge purges the stream", "$JS.API.STREAM.PURGE.WEBHOOKS", short(func(ctx context.Context) error {
		return b.Publish("$JS.API.STREAM.PURGE.WEBHOOKS", nil)
	}))
	b.denied(t, "bridge makes another stream", "$JS.API.STREAM.CREATE.OTHER", short(func(ctx context.Context) error {
		_, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other.>"}})
		return err
	}))
	b.denied(t, "bridge reads messages", "$JS.API.CONSUMER.CREATE.WEBHOOKS.x", short(func(ctx context.Context) error {
		_, err := b.js.CreateOrUpdateConsumer(ctx, "WEBHOOKS", jetstream.ConsumerConfig{Durable: "x"})
		return err
	}))
	b.denied(t, "bridge subscribes to events", "webhooks.>", func() error {
		_, err := b.SubscribeSync("webhooks.>")
		b.flush(t)
		return err
	})
	b.denied(t, "bridge publishes elsewhere", "other.subject", func() error { return b.Publish("other.subject", nil) })
}

// checkConsumerRole: a durable pull consumer reads and acks; publishing events, deleting or
// purging the stream and deleting the consumer are refused. The stream must hold a message.
func checkConsumerRole(t *testing.T, s *configNATS) {
	t.Helper()
	c := s.connect(t, "consumer")
	ctx := ctx5(t)
	if _, err := c.js.Stream(ctx, "WEBHOOKS"); err != nil {
		t.Errorf("consumer: stream info: %v", err)
	}
	if _, err := c.js.AccountInfo(ctx); err != nil {
		t.Errorf("consumer: $JS.API.INFO: %v", err)
	}
	for _, cfg := range []jetstream.ConsumerConfig{
		{Durable: "compose-consumer", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy},
		{Durable: "filtered", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "webhooks.*.player.>"}, // CREATE.<stream>.<durable>.<filter>
	} {
		cons, err := c.js.CreateOrUpdateConsumer(ctx, "WEBHOOKS", cfg) // as cmd/consumer-example does
		if err != nil {
			t.Fatalf("consumer: create durable %s: %v", cfg.Durable, err)
		}
		if _, err := cons.Info(ctx); err != nil {
			t.Errorf("consumer: consumer info %s: %v", cfg.Durable, err)
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("consumer: fetch %s: %v", cfg.Durable, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if err := m.DoubleAck(ctx); err != nil {
				t.Errorf("consumer: ack: %v", err)
			}
		}
		if n != 1 || batch.Error() != nil {
			t.Errorf("consumer: fetched %d messages from %s (%v), want 1", n, cfg.Durable, batch.Error())
		}
	}
	// Consume, as the example does, with heartbeats.
	cons, err := c.js.Consumer(ctx, "WEBHOOKS", "compose-consumer")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan jetstream.Msg, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) { got <- m }, jetstream.PullMaxMessages(32), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	admin := s.connect(t, "admin")
	if _, err := admin.js.Publish(ctx, "webhooks.aghanim.player.update", []byte(`{"second":true}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if err := m.Nak(); err != nil { // hands it back: $JS.ACK as well
			t.Errorf("consumer: nak: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("consumer: Consume delivered nothing")
	}

	short := func(f func(context.Context) error) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			return f(ctx)
		}
	}
	c.denied(t, "consumer publishes an event", "webhooks.x", func() error { return c.Publish("webhooks.x", []byte(`{}`)) })
	c.denied(t, "consumer deletes the stream", "$JS.API.STREAM.DELETE.WEBHOOKS", short(func(ctx context.Context) error { return c.js.DeleteStream(ctx, "WEBHOOKS") }))
	c.denied(t, "consumer purges the stream", "$JS.API.STREAM.PURGE.WEBHOOKS", func() error { return c.Publish("$JS.API.STREAM.PURGE.WEBHOOKS", nil) })
	c.denied(t, "consumer updates the stream", "$JS.API.STREAM.UPDATE.WEBHOOKS", short(func(ctx context.Context) error {
		_, err := c.js.UpdateStream(ctx, webhooksStream)
		return err
	}))
	c.denied(t, "consumer deletes a consumer", "$JS.API.CONSUMER.DELETE.WEBHOOKS.compose-consumer", short(func(ctx context.Context) error {
		return c.js.DeleteConsumer(ctx, "WEBHOOKS", "compose-consumer")
	}))
	c.denied(t, "consumer asks a question", "webhooks-reply.aghanim.player.verify", func() error { return c.Publish("webhooks-reply.aghanim.player.verify", nil) })
}

// checkResponderRole: a micro service, as cmd/responder-example is, answers the bridge's
// questions and `nats micro`'s discovery; it cannot publish events or answer what it was not
// asked. asker is the user whose questions it answers (the bridge), when the configuration has it.
func checkResponderRole(t *testing.T, s *configNATS, asker string) {
	t.Helper()
	r := s.connect(t, "responder")
	svc, err := micro.AddService(r.Conn, micro.Config{Name: "aghanim-responder", Version: "1.0.0"})
	if err != nil {
		t.Fatalf("responder: add service: %v", err)
	}
	defer svc.Stop()
	group := svc.AddGroup("webhooks-reply.aghanim")
	if err := group.AddEndpoint("player-verify", micro.HandlerFunc(func(req micro.Request) {
		_ = req.Respond([]byte(`{"status":"ok"}`))
	}), micro.WithEndpointSubject("player.verify")); err != nil {
		t.Fatalf("responder: add endpoint: %v", err)
	}
	plain, err := r.QueueSubscribe("webhooks-reply.aghanim.store.get", "q", func(m *nats.Msg) { _ = m.Respond([]byte(`{"store":"ok"}`)) })
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Unsubscribe()
	r.flush(t)
	if len(r.violations) > 0 {
		t.Errorf("responder: %s", <-r.violations)
	}

	q := s.connect(t, asker)
	for _, subject := range []string{"webhooks-reply.aghanim.player.verify", "webhooks-reply.aghanim.store.get"} {
		if m, err := q.Request(subject, []byte(`{}`), 5*time.Second); err != nil || !strings.Contains(string(m.Data), "ok") {
			t.Errorf("%s asks %s: %v %v", asker, subject, m, err)
		}
	}
	admin := s.connect(t, "admin")
	if m, err := admin.Request("$SRV.PING.aghanim-responder", nil, 5*time.Second); err != nil || !strings.Contains(string(m.Data), "aghanim-responder") {
		t.Errorf("$SRV.PING: %v %v", m, err)
	}
	r.denied(t, "responder publishes an event", "webhooks.x", func() error { return r.Publish("webhooks.x", []byte(`{}`)) })
	r.denied(t, "responder answers what it was not asked", "_INBOX.forged", func() error { return r.Publish("_INBOX.forged", []byte(`{}`)) })
	r.denied(t, "responder reads the events", "webhooks.>", func() error {
		_, err := r.SubscribeSync("webhooks.>")
		r.flush(t)
		return err
	})
	r.denied(t, "responder reads the stream", "$JS.API.STREAM.INFO.WEBHOOKS", func() error { return r.Publish("$JS.API.STREAM.INFO.WEBHOOKS", nil) })
}

// checkAdminRole: the admin may do what the others may not.
func checkAdminRole(t *testing.T, s *configNATS) {
	t.Helper()
	a := s.connect(t, "admin")
	ctx := ctx5(t)
	if _, err := a.js.CreateStream(ctx, jetstream.StreamConfig{Name: "SCRATCH", Subjects: []string{"scratch.>"}}); err != nil {
		t.Errorf("admin: create stream: %v", err)
	}
	if err := a.js.DeleteStream(ctx, "SCRATCH"); err != nil {
		t.Errorf("admin: delete stream: %v", err)
	}
}

// TestNATSConfUsers runs nats.conf (one node of the compose cluster) and checks every role.
func TestNATSConfUsers(t *testing.T) {
	env := passwordEnv(t)
	delete(env, natsPasswordVars["leaf"])
	env["SERVER_NAME"] = "nats-1"
	s := startConfigNATS(t, filepath.Join("..", "nats.conf"), env)
	checkAnonymousRefused(t, s)
	checkBridgeRole(t, s) // creates WEBHOOKS and stores one message
	checkConsumerRole(t, s)
	checkResponderRole(t, s, "bridge")
	checkAdminRole(t, s)
}

// TestNATSConfNeedsPasswords: a password variable left unset stops the server at start instead
// of letting a user in with an empty password.
func TestNATSConfNeedsPasswords(t *testing.T) {
	for _, conf := range []string{filepath.Join("..", "nats.conf"), "hub.conf"} {
		data, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		for user, v := range natsPasswordVars {
			if !strings.Contains(string(data), "$"+v) {
				continue
			}
			t.Run(filepath.Base(conf)+"/"+user, func(t *testing.T) {
				env := passwordEnv(t)
				env["SERVER_NAME"] = "nats-1"
				for k, val := range env {
					t.Setenv(k, val)
				}
				os.Unsetenv(v)
				if _, err := server.ProcessConfigFile(conf); err == nil || !strings.Contains(err.Error(), v) {
					t.Errorf("%s without %s: %v, want an error naming it", conf, v, err)
				}
			})
		}
	}
}

// TestHubConfUsers runs deploy/hub.conf: clients log in as admin, consumer or responder, and the
// leafnode listener refuses a leaf without the leaf credentials.
func TestHubConfUsers(t *testing.T) {
	env := passwordEnv(t)
	delete(env, natsPasswordVars["bridge"]) // the replicas are leaves here, not clients
	s := startConfigNATS(t, "hub.conf", env)
	checkAnonymousRefused(t, s)
	if s.leafPort == 0 {
		t.Fatal("hub.conf has no leafnode listener")
	}

	// The hub stream, as hub apply makes it (here with a subject, to have a message to read).
	admin := s.connect(t, "admin")
	ctx := ctx5(t)
	if _, err := admin.js.CreateStream(ctx, webhooksStream); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.js.Publish(ctx, "webhooks.aghanim.player.update", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	checkConsumerRole(t, s)

	// Leaf links: one without credentials, one with a wrong password, one with the leaf's.
	leafURL := func(userinfo *url.Userinfo) *url.URL {
		return &url.URL{Scheme: "nats-leaf", Host: fmt.Sprintf("127.0.0.1:%d", s.leafPort), User: userinfo}
	}
	startLeaf(t, "anonymous-leaf", leafURL(nil))
	startLeaf(t, "wrong-leaf", leafURL(url.UserPassword("leaf", randomSecret(t))))
	good := startLeaf(t, "edge-0", leafURL(url.UserPassword("leaf", s.passwords["leaf"])))
	waitFor(t, 10*time.Second, "the leaf with credentials to connect", func() bool { return leafNames(t, s.Server)["edge-0"] })
	time.Sleep(2 * time.Second) // the refused ones retry every second
	if names := leafNames(t, s.Server); len(names) != 1 {
		t.Errorf("leaf connections %v, want edge-0 alone", slices.Sorted(func(yield func(string) bool) {
			for n := range names {
				if !yield(n) {
					return
				}
			}
		}))
	}

	// A replica's question crosses the leaf link to a responder on the hub.
	edge, err := nats.Connect(good.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edge.Close)
	r := s.connect(t, "responder")
	sub, err := r.QueueSubscribe("webhooks-reply.>", "q", func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	r.flush(t)
	waitFor(t, 10*time.Second, "the responder's interest to reach the leaf", func() bool {
		m, err := edge.Request("webhooks-reply.aghanim.player.verify", nil, 500*time.Millisecond)
		return err == nil && string(m.Data) == "ok"
	})
	r.denied(t, "responder publishes an event", "webhooks.x", func() error { return r.Publish("webhooks.x", nil) })
	checkAdminRole(t, s)
}

// startLeaf runs a nats-server whose leaf remote is u.
func startLeaf(t *testing.T, name string, u *url.URL) *server.Server {
	t.Helper()
	opts := &server.Options{
		ServerName: name, Host: "127.0.0.1", Port: freePort(t), NoSigs: true, NoLog: true,
		LeafNode: server.LeafNodeOpts{
			ReconnectInterval: 200 * time.Millisecond,
			Remotes:           []*server.RemoteLeafOpts{{URLs: []*url.URL{u}}},
		},
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("leaf %s did not start", name)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// leafNames are the server names of the leaf nodes connected to s.
func leafNames(t *testing.T, s *server.Server) map[string]bool {
	t.Helper()
	lz, err := s.Leafz(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, l := range lz.Leafs {
		names[l.Name] = true
	}
	return names
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// permissionsOf reads one user's permissions from a loaded configuration.
func permissionsOf(t *testing.T, opts *server.Options, user string) *server.Permissions {
	t.Helper()
	for _, u := range opts.Users {
		if u.Username == user {
			return u.Permissions
		}
	}
	t.Fatalf("no user %s", user)
	return nil
}

// TestNATSRolesAgree: a role means the same in every configuration that has it — nats.conf
// (compose), hub.conf and the Kubernetes NATS values — so the documentation describes one
// thing and a change reaches all three.
func TestNATSRolesAgree(t *testing.T) {
	env := passwordEnv(t)
	env["SERVER_NAME"] = "nats-1"
	for k, v := range env {
		t.Setenv(k, v)
	}
	load := func(path string) *server.Options {
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return opts
	}
	compose := load(filepath.Join("..", "nats.conf"))
	hub := load("hub.conf")
	k8s := load(renderHelmNATSConfig(t, readHelmValues(t)))
	users := func(o *server.Options) []string {
		var names []string
		for _, u := range o.Users {
			names = append(names, u.Username)
		}
		slices.Sort(names)
		return names
	}
	if got, want := users(compose), []string{"admin", "bridge", "consumer", "responder"}; !slices.Equal(got, want) {
		t.Errorf("nats.conf users %v, want %v", got, want)
	}
	if got, want := users(hub), []string{"admin", "consumer", "responder"}; !slices.Equal(got, want) {
		t.Errorf("hub.conf users %v, want %v", got, want)
	}
	if !slices.Equal(users(k8s), users(compose)) {
		t.Errorf("Kubernetes NATS users %v, nats.conf's %v", users(k8s), users(compose))
	}
	for _, role := range []string{"admin", "bridge", "consumer", "responder"} {
		want := fmt.Sprintf("%+v", permissionsString(permissionsOf(t, compose, role)))
		if got := fmt.Sprintf("%+v", permissionsString(permissionsOf(t, k8s, role))); got != want {
			t.Errorf("%s: Kubernetes permissions %s, nats.conf's %s", role, got, want)
		}
		if role == "bridge" {
			continue
		}
		if got := fmt.Sprintf("%+v", permissionsString(permissionsOf(t, hub, role))); got != want {
			t.Errorf("%s: hub.conf permissions %s, nats.conf's %s", role, got, want)
		}
	}
	if permissionsOf(t, compose, "admin") != nil {
		t.Error("admin has permissions: it is the operators' user and may do everything")
	}
	if hub.LeafNode.Username != "leaf" || hub.LeafNode.Password != env["NATS_LEAF_PASSWORD"] {
		t.Errorf("hub.conf leafnodes authorization user %q: want leaf with $NATS_LEAF_PASSWORD", hub.LeafNode.Username)
	}
}

func permissionsString(p *server.Permissions) string {
	if p == nil {
		return "all"
	}
	s := func(sp *server.SubjectPermission) string {
		if sp == nil {
			return "-"
		}
		return fmt.Sprintf("allow%v deny%v", sp.Allow, sp.Deny)
	}
	return fmt.Sprintf("pub{%s} sub{%s} resp{%v}", s(p.Publish), s(p.Subscribe), p.Response)
}

// natsVarRef is a $VAR reference in a NATS configuration: unquoted ("$JS.API.INFO" is a subject).
var natsVarRef = regexp.MustCompile(`[^"\w]\$([A-Z][A-Z0-9_]*)`)

// natsVars are the variables a NATS configuration references, outside comments.
func natsVars(conf string) []string {
	conf = regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(conf, "")
	var vars []string
	for _, m := range natsVarRef.FindAllStringSubmatch(conf, -1) {
		if !slices.Contains(vars, m[1]) {
			vars = append(vars, m[1])
		}
	}
	slices.Sort(vars)
	return vars
}

// helmValues is what the test reads of deploy/kubernetes/nats/values.yaml.
type helmValues struct {
	Config struct {
		Merge map[string]any `yaml:"merge"`
	} `yaml:"config"`
	Container struct {
		Image struct {
			Repository string `yaml:"repository"`
			Tag        string `yaml:"tag"`
			Digest     string `yaml:"digest"`
		} `yaml:"image"`
		Env map[string]struct {
			ValueFrom struct {
				SecretKeyRef struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
	} `yaml:"container"`
}

func readHelmValues(t *testing.T) helmValues {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("kubernetes", "nats", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v helmValues
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("kubernetes/nats/values.yaml: %v", err)
	}
	return v
}

// renderHelmNATSConfig writes the nats.conf the chart makes of config.merge, by the chart's own
// rule: the values as JSON, with "<< X >>" strings written unquoted. The chart adds listeners,
// cluster and JetStream settings of its own; the file here has JetStream and the merged keys.
func renderHelmNATSConfig(t *testing.T, v helmValues) string {
	t.Helper()
	conf := map[string]any{"jetstream": map[string]any{"store_dir": "/data"}}
	for k, val := range v.Config.Merge {
		conf[k] = val
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Helm's toPrettyRawJson does not escape <, > and &
	enc.SetIndent("", "  ")
	if err := enc.Encode(conf); err != nil {
		t.Fatal(err)
	}
	rendered := regexp.MustCompile(`"<<\s+(.*?)\s+>>"`).ReplaceAllString(buf.String(), "$1")
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(rendered), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// envFileKeys are the keys of a KEY=VALUE file (comments and blank lines skipped).
func envFileKeys(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: %q is not KEY=VALUE", path, line)
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

// TestKubernetesNATSUsers renders the Helm values' NATS configuration as the chart does, checks
// that every password it names reaches the server from the Secret nats-users, starts it with
// random passwords and checks every role.
func TestKubernetesNATSUsers(t *testing.T) {
	v := readHelmValues(t)
	path := renderHelmNATSConfig(t, v)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secretKeys := envFileKeys(t, filepath.Join("kubernetes", "nats", "nats-users.env.example"))
	referenced := natsVars(string(data))
	if want := []string{"NATS_ADMIN_PASSWORD", "NATS_BRIDGE_PASSWORD", "NATS_CONSUMER_PASSWORD", "NATS_RESPONDER_PASSWORD"}; !slices.Equal(referenced, want) {
		t.Errorf("the configuration references %v, want %v", referenced, want)
	}
	for _, name := range referenced {
		e, ok := v.Container.Env[name]
		ref := e.ValueFrom.SecretKeyRef
		if !ok || ref.Name != "nats-users" || ref.Key != name {
			t.Errorf("container.env %s: %+v, want the key %s of the Secret nats-users", name, ref, name)
		}
		if !slices.Contains(secretKeys, name) {
			t.Errorf("nats-users.env.example has no key %s", name)
		}
	}
	for name := range v.Container.Env {
		if !slices.Contains(referenced, name) {
			t.Errorf("container.env %s is not referenced by the configuration", name)
		}
	}
	if !pinnedDigest.MatchString(v.Container.Image.Digest) || !exactTag.MatchString(v.Container.Image.Tag) {
		t.Errorf("container.image tag %q digest %q: want an exact release and its digest", v.Container.Image.Tag, v.Container.Image.Digest)
	}

	env := passwordEnv(t)
	delete(env, natsPasswordVars["leaf"])
	s := startConfigNATS(t, path, env)
	if mp := s.connect(t, "admin").MaxPayload(); mp < 1<<20+64<<10 {
		t.Errorf("max_payload %d is below the bridge's 1 MiB body + 64 KiB headers", mp)
	}
	checkAnonymousRefused(t, s)
	checkBridgeRole(t, s)
	checkConsumerRole(t, s)
	checkResponderRole(t, s, "bridge")
	checkAdminRole(t, s)
}

// An image reference's pins: a digest, and a tag that names an exact release (1.2.3, 1.2.3-alpine).
var (
	pinnedDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	exactTag     = regexp.MustCompile(`^v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$`)
)

// composeEnv runs scripts/compose-env.sh, as a user does before `docker compose up`, and returns
// the .env it writes.
func composeEnv(t *testing.T) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	out, err := exec.Command(filepath.Join("..", "scripts", "compose-env.sh"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/compose-env.sh: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env line %q is not KEY=VALUE", line)
		}
		env[k] = v
	}
	return env
}

// TestBridgeWithNATSConfUsers runs the bridge of deploy/bridge.yaml, as the compose file gives it
// its environment, against nats.conf's users: the bridge user's permissions are enough to create
// the stream, publish with PubAcks and ask questions — one nobody answers is the retry answer for
// want of a responder, not for a permissions error — and the responder user answers them.
func TestBridgeWithNATSConfUsers(t *testing.T) {
	env := composeEnv(t)
	natsEnv := map[string]string{"SERVER_NAME": "nats-1"}
	for _, v := range natsPasswordVars {
		natsEnv[v] = env[v]
	}
	delete(natsEnv, natsPasswordVars["leaf"])
	s := startConfigNATS(t, filepath.Join("..", "nats.conf"), natsEnv)

	plan, err := bridge.LoadPlan("bridge.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("deploy/bridge.yaml: %v", err)
	}
	cfg := plan.Config()
	if cfg.NATS.User != "bridge" || cfg.NATS.Password != env["NATS_BRIDGE_PASSWORD"] {
		t.Errorf("deploy/bridge.yaml logs in as %q: want the bridge user with $NATS_BRIDGE_PASSWORD", cfg.NATS.User)
	}
	cfg.NATS.URL = s.ClientURL() // one node for the three
	cfg.Stream.Replicas = 1
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.NATS.PublishTimeout = 2 * time.Second
	for i := range cfg.Endpoints {
		cfg.Endpoints[i].ReplyTimeout = 2 * time.Second
	}
	app, err := bridge.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("bridge against nats.conf as the bridge user: %v", err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })

	var ep bridge.EndpointConfig
	for _, e := range cfg.Endpoints {
		if e.Provider == "aghanim" {
			ep = e
		}
	}
	p, _ := providers.Lookup("aghanim")
	post := func(ex providers.Example) (int, string) {
		t.Helper()
		h, err := p.Sign(ep.Credentials(), ex.Body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/"+ep.ID, bytes.NewReader(ex.Body))
		for k, v := range h {
			req.Header[k] = v
		}
		for k, v := range ex.Header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	now := time.Now()
	if code, body := post(p.Load.Example(p.Load.DefaultType, t.Name(), 1, now)); code/100 != 2 {
		t.Fatalf("signed %s: %d %s", p.Load.DefaultType, code, body)
	}
	admin := s.connect(t, "admin")
	ctx := ctx5(t)
	stream, err := admin.js.Stream(ctx, cfg.Stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("stream %s holds %d messages, want the event", cfg.Stream.Name, n)
	}

	// A question without a responder: 503 for want of one.
	question := p.Load.Example("player.verify", t.Name(), 2, now)
	if code, body := post(question); code != http.StatusServiceUnavailable {
		t.Errorf("question without a responder: %d %s, want 503", code, body)
	}
	metrics := func() string {
		resp, err := http.Get("http://" + app.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := regexp.MustCompile(`bridge_replies_total\{endpoint="` + ep.ID + `",outcome="([a-z_]+)"\} 1\b`).FindStringSubmatch(metrics()); m == nil || m[1] != "no_responders" {
		t.Errorf("the unanswered question's outcome %q, want no_responders (a permissions violation times out)", m)
	}

	// The responder user answers, as cmd/responder-example does: a micro service.
	r := s.connect(t, "responder")
	svc, err := micro.AddService(r.Conn, micro.Config{Name: "aghanim-responder", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	if err := svc.AddGroup(cfg.Stream.ReplyPrefix+"."+ep.ID).AddEndpoint("player-verify", micro.HandlerFunc(func(req micro.Request) {
		_ = req.RespondJSON(map[string]string{"player_id": "2D2R-OP3C"})
	}), micro.WithEndpointSubject("player.verify")); err != nil {
		t.Fatal(err)
	}
	r.flush(t)
	if code, body := post(question); code != http.StatusOK || !strings.Contains(body, "2D2R-OP3C") {
		t.Errorf("question with the responder running: %d %s, want its answer", code, body)
	}
	if len(r.violations) > 0 {
		t.Errorf("responder: %s", <-r.violations)
	}
}

// TestStoreAndForwardWithHubConf runs a replica of deploy/edge.yaml, as the compose file gives it
// its environment, against deploy/hub.conf: its leaf link logs in as the leaf user, hub apply
// (as the admin user) makes the hub stream, and a webhook the replica accepts reaches it.
func TestStoreAndForwardWithHubConf(t *testing.T) {
	env := composeEnv(t)
	env["EDGE_DOMAIN"] = "edge-0"
	hubEnv := map[string]string{}
	for _, user := range []string{"admin", "consumer", "responder", "leaf"} {
		hubEnv[natsPasswordVars[user]] = env[natsPasswordVars[user]]
	}
	hub := startConfigNATS(t, "hub.conf", hubEnv)

	plan, err := bridge.LoadPlan("edge.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("deploy/edge.yaml: %v", err)
	}
	cfg := plan.Config()
	e := &cfg.NATS.Embedded
	const composeHub = "@hub:7422"
	if !strings.Contains(e.Leaf.URL, composeHub) {
		t.Fatalf("leaf url %q: want the compose hub %s", redacted(e.Leaf.URL), composeHub)
	}
	e.Leaf.URL = strings.Replace(e.Leaf.URL, composeHub, fmt.Sprintf("@127.0.0.1:%d", hub.leafPort), 1)
	e.Listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.StoreDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	app, err := bridge.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("replica: %v", err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	waitFor(t, 10*time.Second, "the replica's leaf link", func() bool { return len(leafNames(t, hub.Server)) == 1 })

	admin := hub.connect(t, "admin")
	js, err := bridge.HubJetStream(admin.Conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := bridge.ApplyHub(ctx5(t), js, cfg, []string{"edge-0"}, io.Discard); err != nil {
		t.Fatalf("hub apply as admin: %v", err)
	}

	var ep bridge.EndpointConfig
	for _, x := range cfg.Endpoints {
		if x.Provider == "aghanim" {
			ep = x
		}
	}
	p, _ := providers.Lookup("aghanim")
	ex := p.Load.Example(p.Load.DefaultType, t.Name(), 1, time.Now())
	h, err := p.Sign(ep.Credentials(), ex.Body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/"+ep.ID, bytes.NewReader(ex.Body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("signed webhook to the replica: %d", resp.StatusCode)
	}
	local := admin.js
	waitFor(t, 15*time.Second, "the event in the hub stream", func() bool {
		s, err := local.Stream(ctx5(t), cfg.Stream.Name)
		return err == nil && s.CachedInfo().State.Msgs == 1
	})
}

func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(not a URL)"
}
