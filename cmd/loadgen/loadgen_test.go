package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/providers"
)

// startBridge runs the demo bridge in this process against ns and returns its base URL.
func startBridge(t *testing.T, ns *natstest.Server, modify func(*bridge.Config)) string {
	t.Helper()
	cfg := bridge.DemoConfig()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.NATS.URL = ns.URL()
	if modify != nil {
		modify(cfg)
	}
	app, err := bridge.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + app.Addr()
}

// runLoadgen runs the program with args plus -json and returns its text output, the JSON report
// and its error. It may run in a goroutine of its own.
func runLoadgen(ctx context.Context, t *testing.T, args ...string) (string, *report, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	var out, errOut bytes.Buffer
	err := run(ctx, append(args, "-json", path), &out, &errOut)
	t.Logf("loadgen %s\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
	rep := &report{}
	if b, rerr := os.ReadFile(path); rerr == nil {
		if jerr := json.Unmarshal(b, rep); jerr != nil {
			t.Errorf("report JSON: %v\n%s", jerr, b)
		}
	}
	return out.String(), rep, err
}

// checkAllStored fails unless n events were sent, all answered 2xx and stored exactly once.
func checkAllStored(t *testing.T, rep *report, n uint64) {
	t.Helper()
	if rep.Events != n || rep.Answers.OK != n {
		t.Errorf("%d events, %d answered 2xx; want %d and %d", rep.Events, rep.Answers.OK, n, n)
	}
	s := rep.Stream
	if s == nil {
		t.Fatal("no stream report")
	}
	if s.Acknowledged != int(n) || s.Stored != int(n) || s.Missing != 0 || s.Duplicated != 0 {
		t.Errorf("stream: acknowledged %d stored %d missing %d duplicated %d; want %d, %d, 0, 0",
			s.Acknowledged, s.Stored, s.Missing, s.Duplicated, n, n)
	}
}

func TestLoadOfTheBridgeIsVerifiedInTheStream(t *testing.T) {
	ns := natstest.Start(t)
	base := startBridge(t, ns, nil)
	out, rep, err := runLoadgen(context.Background(), t,
		"-url", base+"/webhooks/aghanim", "-n", "200", "-c", "8", "-verify-stream", ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	checkAllStored(t, rep, 200)
	if rep.Requests != 200 || rep.Latency.P50 <= 0 || rep.Latency.P999 < rep.Latency.P50 || rep.Latency.Max < rep.Latency.P999 {
		t.Errorf("requests %d, latency %+v", rep.Requests, rep.Latency)
	}
	for _, want := range []string{"requests      200 sent", "p99.9", "2xx 200  retry 0  other 0",
		"acknowledged 200  stored 200  missing 0  duplicated 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// A second run on the same stream counts only its own events.
	_, rep, err = runLoadgen(context.Background(), t,
		"-url", base+"/webhooks/aghanim", "-n", "50", "-c", "4", "-verify-stream", ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	checkAllStored(t, rep, 50)
}

// loadVariants are runs beside each provider's default one, each with its own flags: other
// credentials (else the load tool's default secret), types and sizes.
var loadVariants = map[string][][]string{
	"centrepoint": {{"-token", bridge.DemoSecret}, {"-user", "demo", "-password", bridge.DemoSecret}},
	"aghanim":     {{"-type", "payment.succeeded", "-size", "4096"}},
}

func TestEveryProviderLoadsTheBridge(t *testing.T) {
	ns := natstest.Start(t)
	base := startBridge(t, ns, nil)
	// A responder for the providers whose example event is a question (Discord's interactions).
	responder := ns.Connect(t)
	if _, err := responder.Subscribe("webhooks-reply.>", func(m *nats.Msg) { _ = m.Respond([]byte(`{"type":4}`)) }); err != nil {
		t.Fatal(err)
	}
	responder.Flush()
	for name := range loadVariants {
		if _, ok := providers.Lookup(name); !ok {
			t.Errorf("loadVariants names %q, which is no provider", name)
		}
	}
	for _, p := range providers.All() {
		t.Run(p.Name, func(t *testing.T) {
			// The default run signs with the secret the demo endpoint has, which for some
			// providers (standard-webhooks: whsec_ and base64) is not the demo secret as written.
			var secret []string
			if creds := p.DemoCredentials(bridge.DemoSecret); len(creds.Secrets) > 0 {
				secret = []string{"-secret", creds.Secrets[0]}
			}
			runs := append([][]string{secret}, loadVariants[p.Name]...)
			for i, flags := range runs {
				name := "default"
				if i > 0 {
					name = strings.Join(flags, " ")
				}
				t.Run(name, func(t *testing.T) {
					args := append([]string{"-provider", p.Name, "-url", base + "/webhooks/" + p.Name,
						"-n", "30", "-c", "4", "-verify-stream", ns.URL()}, flags...)
					_, rep, err := runLoadgen(context.Background(), t, args...)
					if err != nil {
						t.Fatal(err)
					}
					checkAllStored(t, rep, 30)
				})
			}
		})
	}
	// None of them was published as unmapped: each body is a proper event of its provider.
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), "WEBHOOKS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter("webhooks.*.unmapped"))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.State.Subjects) != 0 {
		t.Errorf("unmapped events: %v", info.State.Subjects)
	}
}

func TestVerificationCatchesAMissingEvent(t *testing.T) {
	ns := natstest.Start(t)
	base := startBridge(t, ns, nil)
	cfg, err := parseConfig([]string{"-url", base + "/webhooks/aghanim", "-n", "100", "-c", "8", "-verify-stream", ns.URL()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	var lost string
	var out bytes.Buffer
	err = loadHTTP(context.Background(), cfg, &out, func(ctx context.Context) error {
		// Lose one acknowledged event behind the bridge's back.
		s, err := js.Stream(ctx, "WEBHOOKS")
		if err != nil {
			return err
		}
		seq := s.CachedInfo().State.LastSeq
		msg, err := s.GetMsg(ctx, seq)
		if err != nil {
			return err
		}
		lost = msg.Header.Get(jetstream.MsgIDHeader)
		return s.DeleteMsg(ctx, seq)
	})
	t.Log(out.String())
	if !errors.Is(err, errVerification) {
		t.Fatalf("err = %v, want the verification error", err)
	}
	for _, want := range []string{"acknowledged 100  stored 99  missing 1  duplicated 0", "missing: [" + lost + "]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestRetryAcrossANATSOutageLosesAndDuplicatesNothing(t *testing.T) {
	ns := natstest.Start(t)
	base := startBridge(t, ns, func(c *bridge.Config) { c.NATS.PublishTimeout = time.Second })
	type result struct {
		err error
		rep *report
	}
	done := make(chan result, 1)
	go func() {
		_, rep, err := runLoadgen(context.Background(), t, "-url", base+"/webhooks/aghanim",
			"-n", "400", "-c", "8", "-rate", "200", "-retry", "-retry-wait", "50ms", "-d", "25s",
			"-verify-stream", ns.URL())
		done <- result{err, rep}
	}()
	// Stop NATS once the load is under way, for a second.
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s, err := js.Stream(context.Background(), "WEBHOOKS"); err == nil && s.CachedInfo().State.Msgs >= 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the load did not start")
		}
	}
	ns.Stop()
	time.Sleep(time.Second)
	ns.Restart()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkAllStored(t, r.rep, 400)
	if r.rep.Answers.Unavailable+r.rep.Answers.Transport == 0 {
		t.Errorf("no 503 or transport error: the outage was not under load (%+v)", r.rep.Answers)
	}
	if r.rep.Requests <= 400 {
		t.Errorf("%d requests for 400 events: nothing was retried", r.rep.Requests)
	}
}

func TestBaselineInProcess(t *testing.T) {
	out, rep, err := runLoadgen(context.Background(), t, "-baseline", "-n", "200", "-c", "8")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "baseline" || rep.Answers.OK != 200 || rep.Requests != 200 || rep.Stream != nil {
		t.Errorf("mode %s, %d 2xx of %d, stream %v", rep.Mode, rep.Answers.OK, rep.Requests, rep.Stream)
	}
	if !strings.Contains(out, "loadgen baseline") {
		t.Errorf("output does not name the baseline")
	}
}

func TestBaselineServerAndInterrupt(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"-baseline-listen", "127.0.0.1:0"}, pw, io.Discard) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	start := strings.Index(line, "http://")
	url := strings.Fields(line[start:])[0]

	// An interrupt (the context ending) stops a long run early, and it still reports. It fires
	// on observed progress, once the baseline has answered requests of the run (preparing the
	// events first may take long on a busy machine), never after a fixed time.
	target, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	lctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var answered atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	// Its own transport, whose spare connections are closed before the baseline stops: a
	// connection dialled for a request the interrupt cancelled would otherwise keep the
	// baseline's graceful shutdown waiting.
	transport := &http.Transport{}
	proxy.Transport = transport
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxy.ServeHTTP(w, r)
		if answered.Add(1) == 100 {
			interrupt()
		}
	}))
	defer counting.Close()
	out, rep, err := runLoadgen(lctx, t, "-url", counting.URL, "-d", "10m", "-c", "4", "-size", "200", "-prepare-max", "20000")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Answers.OK == 0 || rep.Answers.Other+rep.Answers.Transport != 0 {
		t.Errorf("interrupted %v, answers %+v", rep.Interrupted, rep.Answers)
	}
	if !strings.Contains(out, "interrupted") {
		t.Errorf("output does not say it was interrupted")
	}
	counting.Close()
	transport.CloseIdleConnections()

	stop()
	if err := <-served; err != nil {
		t.Fatalf("baseline server: %v", err)
	}
}

func TestJetStreamPublish(t *testing.T) {
	ns := natstest.Start(t)
	out, rep, err := runLoadgen(context.Background(), t, "-jetstream-publish", ns.URL(), "-n", "300", "-c", "8")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "jetstream" || rep.Answers.OK != 300 || rep.Raw == nil || rep.Raw.Stored != 300 || rep.Raw.Missing != 0 {
		t.Errorf("mode %s, answers %+v, stream %+v", rep.Mode, rep.Answers, rep.Raw)
	}
	if !strings.Contains(out, "acks          ok 300  duplicate 0  errors 0") {
		t.Errorf("output lacks the acks line")
	}
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(context.Background(), rawStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream %s after the run: %v, want it deleted", rawStream, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-provider", "nope"},
		{"-c", "0"},
		{"-d", "0"},
		{"-rate", "-1"},
		{"-url", "ftp://x/"},
		{"-baseline", "-verify-stream", "nats://127.0.0.1:4222"},
		{"-baseline", "-url", "http://127.0.0.1:1/"},
		{"-provider", "altdentifier", "-type", "player.update"},
		{"-secret", ""},
		{"extra"},
		{"-no-such-flag"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || errors.Is(err, errVerification) {
				t.Fatalf("err = %v, want a usage error", err)
			}
		})
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); err != nil {
		t.Errorf("-h: %v", err)
	}
}
