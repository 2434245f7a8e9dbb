package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/providers"
)

const usage = `usage:
  loadgen [flags]                              load the bridge (default: the demo's aghanim endpoint)
  loadgen -baseline-listen 127.0.0.1:8099      serve the baseline handler (204 to any POST) until interrupted
  loadgen -baseline [flags]                    serve the baseline in this process and load it
  loadgen -jetstream-publish NATS_URL [flags]  publish the same messages straight to JetStream

Exit status: 0 done; 1 usage or set-up error; 2 verification failed (an event answered 2xx is
missing from the stream, or an event is stored more than once).

Flags:`

// errVerification is returned when the stream does not hold every acknowledged event exactly
// once; main exits 2 for it.
var errVerification = errors.New("verification failed")

// config is what the flags ask for.
type config struct {
	provider  *providers.Provider
	creds     providers.Credentials
	url       string
	endpoint  string
	eventType string
	size      int

	connections int
	duration    time.Duration // 0: no time limit (with -n)
	count       uint64        // 0: no count limit
	rate        float64       // requests/s over all connections; 0: as fast as possible
	retry       bool
	retryWait   time.Duration
	timeout     time.Duration

	jsonPath      string
	verifyURL     string
	verifyWait    time.Duration // store-and-forward: how long acknowledged events may take to reach the stream
	stream        string
	subjectPrefix string

	baselineListen string
	baseline       bool
	rawURL         string
	cpuProfile     string

	runID      string
	prepareMax uint64
	cpuPIDs    []int
}

// parseConfig reads the flags. It returns flag.ErrHelp after printing the usage for -h.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	var (
		providerName = fs.String("provider", "aghanim", "provider whose webhooks to send: "+strings.Join(providers.Names(), ", "))
		secret       = fs.String("secret", "demo-secret", "HMAC secret to sign with")
		token        = fs.String("token", "", "CentrePoint: bearer token to send (instead of the HMAC signature unless -secret is given)")
		user         = fs.String("user", "", "CentrePoint: Basic username (with -password; instead of the HMAC signature unless -secret is given)")
		password     = fs.String("password", "", "CentrePoint: Basic password")
		targetURL    = fs.String("url", "", "where to POST (default http://127.0.0.1:8080/webhooks/<provider>)")
		endpoint     = fs.String("endpoint", "", "the bridge endpoint id, for the stream check (default: the last segment of -url's path)")
		eventType    = fs.String("type", "", "event type after the provider's prefix (default: the provider's "+defaultTypes()+")")
		size         = fs.Int("size", 1024, "body size in bytes (padded with a filler field)")
		c            = fs.Int("c", 64, "connections (concurrent requests)")
		d            = fs.Duration("d", 10*time.Second, "how long to send (with -n: only a limit if given)")
		n            = fs.Uint64("n", 0, "how many events to send (0: as many as -d allows)")
		rate         = fs.Float64("rate", 0, "at most this many requests/s over all connections (0: as fast as possible)")
		retry        = fs.Bool("retry", false, "resend an event given the retry answer (503, or 429) or lost to a transport error, as a provider does, until it is 2xx or the run ends (with -n and no -d: until every event is 2xx)")
		retryWait    = fs.Duration("retry-wait", 100*time.Millisecond, "first backoff before a retry (doubles up to 1s)")
		timeout      = fs.Duration("timeout", 30*time.Second, "per-request timeout")
		jsonPath     = fs.String("json", "", "also write the report as JSON to this file")
		verifyURL    = fs.String("verify-stream", "", "NATS URL: afterwards read the stream and check every 2xx'd event is stored exactly once (\"\": skip)")
		stream       = fs.String("stream", "WEBHOOKS", "stream to verify")
		verifyWait   = fs.Duration("verify-wait", 0, "store-and-forward: read the stream again until every acknowledged event is there or this time has passed (the hub's copy arrives after forwarding)")
		prefix       = fs.String("subject-prefix", "webhooks", "the bridge's stream.subject_prefix (the check reads <prefix>.<endpoint>.>)")
		baseListen   = fs.String("baseline-listen", "", "serve the baseline handler on this address until interrupted (no load)")
		baseline     = fs.Bool("baseline", false, "start the baseline handler in this process on a random port and load it")
		rawURL       = fs.String("jetstream-publish", "", "NATS URL: publish the messages straight to JetStream (stream LOADGEN_RAW) instead of HTTP")
		cpuProfile   = fs.String("cpuprofile", "", "write the load tool's own CPU profile to this file (to check the client is not the bottleneck)")
		prepareMax   = fs.Uint64("prepare-max", 3_000_000, "at most this many requests are built and signed before a timed run; a run that uses them all ends early and says so")
		cpuPIDs      = fs.String("cpu-pids", "", "comma-separated process ids (the bridge, nats-server) whose CPU time per 1,000 events the report gives, read from /proc")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; -h for help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	cfg := &config{
		url: *targetURL, endpoint: *endpoint, size: *size, connections: *c, duration: *d, count: *n,
		rate: *rate, retry: *retry, retryWait: *retryWait, timeout: *timeout, jsonPath: *jsonPath,
		verifyURL: *verifyURL, verifyWait: *verifyWait, stream: *stream, subjectPrefix: *prefix,
		baselineListen: *baseListen, baseline: *baseline, rawURL: *rawURL, cpuProfile: *cpuProfile,
		runID: newRunID(), prepareMax: *prepareMax,
	}
	if cfg.baselineListen != "" {
		return cfg, nil // serving only: the load flags do not apply
	}
	var problems []string
	for _, f := range strings.Split(*cpuPIDs, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			problems = append(problems, fmt.Sprintf("-cpu-pids: %q is not a process id", f))
			continue
		}
		cfg.cpuPIDs = append(cfg.cpuPIDs, pid)
	}
	p, ok := providers.Lookup(*providerName)
	if !ok {
		problems = append(problems, fmt.Sprintf("-provider %q: known providers are %s", *providerName, strings.Join(providers.Names(), ", ")))
	}
	cfg.provider = p
	if *n > 0 && !given["d"] {
		cfg.duration = 0
	}
	for _, check := range []struct {
		bad     bool
		problem string
	}{
		{cfg.connections < 1, "-c: at least 1"},
		{cfg.size < 0 || cfg.size > 16<<20, "-size: 0 to 16 MiB"},
		{cfg.duration < 0 || (cfg.duration == 0 && cfg.count == 0), "-d: a positive duration (or -n)"},
		{cfg.rate < 0, "-rate: 0 or more"},
		{cfg.retryWait <= 0, "-retry-wait: a positive duration"},
		{cfg.timeout <= 0, "-timeout: a positive duration"},
	} {
		if check.bad {
			problems = append(problems, check.problem)
		}
	}
	if cfg.baseline && cfg.rawURL != "" {
		problems = append(problems, "-baseline and -jetstream-publish: choose one")
	}
	if (cfg.baseline || cfg.rawURL != "") && cfg.verifyURL != "" {
		problems = append(problems, "-verify-stream: only for loads of the bridge (not -baseline or -jetstream-publish)")
	}
	if cfg.baseline && cfg.url != "" {
		problems = append(problems, "-baseline: serves its own URL; leave -url out")
	}

	if p != nil {
		// Signed as the demo endpoint checks: a preset's scheme (its hmac block, a public key)
		// travels in the demo credentials' settings.
		cfg.creds.Settings = p.DemoCredentials(bridge.DemoSecret).Settings
		// A provider signs with the first scheme its credentials enable: the default secret is
		// left out when a token or Basic credentials are given without -secret.
		if *secret != "" && (given["secret"] || (*token == "" && *user == "")) {
			cfg.creds.Secrets = []string{*secret}
		}
		if *token != "" {
			cfg.creds.BearerTokens = []string{*token}
		}
		if *user != "" {
			cfg.creds.BasicAuth = &providers.BasicAuth{Username: *user, Password: *password}
		}
		if err := p.CheckCredentials(cfg.creds); err != nil {
			problems = append(problems, fmt.Sprintf("%s needs a credential (-secret, or for centrepoint -token or -user/-password): %v", p.Name, err))
		} else if _, err := p.Sign(cfg.creds, nil, time.Now()); err != nil {
			problems = append(problems, fmt.Sprintf("sign: %v", err))
		}
		if cfg.url == "" && !cfg.baseline {
			cfg.url = "http://127.0.0.1:8080/webhooks/" + p.Name
		}
		if cfg.endpoint == "" {
			cfg.endpoint = p.Name
			if u, err := url.Parse(cfg.url); err == nil && path.Base(u.Path) != "/" && path.Base(u.Path) != "." {
				cfg.endpoint = path.Base(u.Path)
			}
		}
		if cfg.rawURL != "" {
			cfg.endpoint = p.Name
		}
		if _, err := newWorkload(p, cfg.creds, cfg.endpoint, cfg.runID, *eventType, cfg.size); err != nil {
			problems = append(problems, err.Error())
		}
	}
	cfg.eventType = *eventType
	if cfg.url != "" {
		if u, err := url.Parse(cfg.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("-url %q: want http(s)://host[:port]/path", cfg.url))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return cfg, nil
}

// workload returns the run's event maker.
func (c *config) workload() *workload {
	w, _ := newWorkload(c.provider, c.creds, c.endpoint, c.runID, c.eventType, c.size) // checked in parseConfig
	w.withMsgID = c.verifyURL != ""
	return w
}

// prepareCount is how many requests to build and sign before the clock starts: -n, or for a
// timed run enough for -rate (or, unpaced, for 60,000 req/s) over -d, at most -prepare-max.
func (c *config) prepareCount() uint64 {
	if c.count > 0 {
		return c.count
	}
	rate := c.rate
	if rate <= 0 {
		rate = 60000
	}
	n := uint64(rate*c.duration.Seconds()*1.05) + 1000
	return min(n, c.prepareMax)
}

// subjectFilter is the stream subjects the bridge publishes the endpoint's events on.
func (c *config) subjectFilter() string { return c.subjectPrefix + "." + c.endpoint + ".>" }

// newRunID names a run: it prefixes every event id, so the stream check counts only this run.
func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.baselineListen != "" {
		return serveBaseline(ctx, cfg.baselineListen, stdout)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.rawURL != "" {
		rep, err := publishLoad(ctx, cfg)
		if err != nil {
			return err
		}
		return finish(cfg, rep, stdout)
	}
	if cfg.baseline {
		b, err := startBaseline("127.0.0.1:0")
		if err != nil {
			return err
		}
		defer b.stop()
		cfg.url = "http://" + b.addr + "/"
	}
	return loadHTTP(ctx, cfg, stdout, nil)
}

// loadHTTP runs the HTTP load, checks the stream if asked, and reports. beforeCheck, when set,
// runs between the load and the stream check (tests use it to lose a message on purpose).
func loadHTTP(ctx context.Context, cfg *config, stdout io.Writer, beforeCheck func(context.Context) error) error {
	l, err := prepareLoad(ctx, cfg)
	if err != nil {
		return err
	}
	meter := startCPUMeter(cfg.cpuPIDs)
	res := l.run(ctx)
	rep := newReport(cfg, res)
	rep.CPU = meter.stop(res.answers.OK + res.answers.Unavailable + res.answers.Other)
	if cfg.verifyURL != "" {
		// The stream is read even after an interrupt: what was acknowledged so far is checked.
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute+cfg.verifyWait)
		defer cancel()
		if beforeCheck != nil {
			if err := beforeCheck(vctx); err != nil {
				return err
			}
		}
		sr, err := verifyStream(vctx, cfg, l.startSeq, res.records)
		for deadline := time.Now().Add(cfg.verifyWait); err == nil && sr.Missing > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Second)
			sr, err = verifyStream(vctx, cfg, l.startSeq, res.records)
		}
		if err != nil {
			rep.write(stdout)
			return fmt.Errorf("-verify-stream: %w", err)
		}
		rep.Stream = sr
	}
	return finish(cfg, rep, stdout)
}

// finish prints the report, writes it as JSON if asked, and returns errVerification when the
// stream check found an acknowledged event missing or an event stored twice.
func finish(cfg *config, rep *report, stdout io.Writer) error {
	rep.write(stdout)
	if cfg.jsonPath != "" {
		if err := os.WriteFile(cfg.jsonPath, rep.json(), 0o644); err != nil {
			return fmt.Errorf("-json: %w", err)
		}
	}
	return rep.verdict()
}

// defaultTypes names each provider's default load event type, for -h.
func defaultTypes() string {
	var parts []string
	for _, p := range providers.All() {
		parts = append(parts, p.Name+" "+p.Load.DefaultType)
	}
	return strings.Join(parts, ", ")
}
