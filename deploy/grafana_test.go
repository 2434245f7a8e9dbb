package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/providers"
)

// The dashboard's JSON, as far as the test reads it. Panels may nest (a collapsed row holds its
// panels).
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"` // a string, or {"query": …} since Grafana 10
			Definition string          `json:"definition"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	GridPos    struct {
		H int `json:"h"`
		W int `json:"w"`
		X int `json:"x"`
		Y int `json:"y"`
	} `json:"gridPos"`
	Targets []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// TestGrafanaDashboard checks deploy/grafana/bridge.json: its structure (a Prometheus data
// source variable, an endpoint variable, every panel querying through the variable), that every
// metric its queries name is one the bridge exports, and that it shows every bridge_* metric.
//
// What the bridge exports is read from the bridge itself, not from a list kept here: a real
// bridge (bridge.NewServer on a real nats-server) gets signed webhooks that make every vector
// (requests, rejections, publish latency, duplicates, unmapped, replies) record a sample, and its
// registry is gathered. Its metrics are built with a LinkState that reports store-and-forward
// as enabled, so the edge gauges are registered too. What only the App registers around the
// handler (the listener's open connections) is read from the /metrics of an App that
// bridge.Start runs on the same nats-server. A vector that no request reached would be missing
// from Gather, so a name Gather lacks is also asked of the registry itself: Register refuses a
// collector whose metric name a registered collector already describes (with other help or
// labels), and accepts one whose name nobody describes — which is then unregistered.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("grafana", "bridge.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana/bridge.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("title %q, uid %q, schemaVersion %d: want a titled dashboard with a uid, schema 36 or later", d.Title, d.UID, d.SchemaVersion)
	}

	// Templating: the data source is a variable, and the endpoint variable reads its values from
	// a metric (checked below with the panels' metrics).
	used := map[string][]string{} // metric name → where it is used
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch {
		case v.Name == "datasource":
			if v.Type != "datasource" || queryText(v.Query) != "prometheus" {
				t.Errorf("variable datasource: type %q query %q, want a Prometheus data source variable", v.Type, queryText(v.Query))
			}
		case v.Type == "query":
			if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				t.Errorf("variable %s does not query through ${datasource}", v.Name)
			}
			q := queryText(v.Query)
			names, err := variableQueryMetrics(q)
			if err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
			}
			for _, n := range names {
				used[n] = append(used[n], "variable "+v.Name)
			}
		}
	}
	if !vars["datasource"] || !vars["endpoint"] {
		t.Errorf("variables %v: want datasource and endpoint", vars)
	}
	if q := variableQuery(d, "endpoint"); !regexp.MustCompile(`^label_values\(\s*bridge_requests_total\s*,\s*endpoint\s*\)$`).MatchString(q) {
		t.Errorf("variable endpoint query %q, want label_values(bridge_requests_total, endpoint)", q)
	}

	// Panels.
	ids := map[int]string{}
	n := 0
	walkPanels(d.Panels, func(p panel) {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			return
		}
		n++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			ds := tg.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			if ds == nil || ds.UID != "${datasource}" {
				t.Errorf("panel %q query %s does not use the ${datasource} variable", p.Title, tg.RefID)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q query %s has no expr", p.Title, tg.RefID)
				continue
			}
			for _, name := range promqlMetricNames(tg.Expr) {
				used[name] = append(used[name], "panel "+strconv.Quote(p.Title))
			}
		}
	})
	if n == 0 {
		t.Fatal("no panels")
	}

	exp := exportedMetrics(t)
	shown := map[string]bool{}
	for _, name := range sortedKeys(used) {
		base, err := exp.resolve(name)
		if err != nil {
			t.Errorf("%s uses %s: %v", strings.Join(slices.Compact(used[name]), ", "), name, err)
			continue
		}
		shown[base] = true
	}
	// Every bridge metric has a panel, and so do the process's memory and CPU.
	for _, name := range sortedKeys(exp.gathered) {
		if strings.HasPrefix(name, "bridge_") && !shown[name] {
			t.Errorf("the bridge exports %s, which no panel shows", name)
		}
	}
	for _, name := range []string{"process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if !shown[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

func walkPanels(ps []panel, f func(panel)) {
	for _, p := range ps {
		f(p)
		walkPanels(p.Panels, f)
	}
}

func queryText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var q struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(raw, &q)
	return q.Query
}

func variableQuery(d dashboard, name string) string {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return strings.TrimSpace(queryText(v.Query))
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// variableQueryMetrics reads the metric names of a Prometheus variable query:
// label_values(selector, label), label_values(label), query_result(expr), metrics(regex).
func variableQueryMetrics(q string) ([]string, error) {
	q = strings.TrimSpace(q)
	if m := regexp.MustCompile(`^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$`).FindStringSubmatch(q); m != nil {
		return promqlMetricNames(m[1]), nil
	}
	if regexp.MustCompile(`^label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$`).MatchString(q) {
		return nil, nil
	}
	if m := regexp.MustCompile(`^query_result\((.*)\)$`).FindStringSubmatch(q); m != nil {
		return promqlMetricNames(m[1]), nil
	}
	return nil, fmt.Errorf("query %q is not one the test can read", q)
}

var (
	promqlString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlName     = regexp.MustCompile(`__name__\s*=\s*"([^"]+)"`)
	promqlSelector = regexp.MustCompile(`\{[^{}]*\}`)
	promqlRange    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promqlVariable = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]`)
	// A number or duration (0.99, 1e3, 5m), else an identifier.
	promqlToken    = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
		"group_left": true, "group_right": true, "offset": true, "bool": true, "inf": true, "nan": true,
	}
)

// promqlMetricNames returns the metric names a PromQL expression selects: its identifiers that
// are not function calls, keywords, label names (inside {…} and by/without/on/ignoring/group_*
// (…)), strings, numbers, durations or Grafana variables — plus exact {__name__="…"} matchers.
func promqlMetricNames(expr string) []string {
	var names []string
	for _, m := range promqlName.FindAllStringSubmatch(expr, -1) {
		names = append(names, m[1])
	}
	s := promqlString.ReplaceAllString(expr, `""`)
	s = promqlVariable.ReplaceAllString(s, " ")
	s = promqlSelector.ReplaceAllString(s, " ")
	s = promqlRange.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	for _, loc := range promqlToken.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || promqlKeywords[strings.ToLower(tok)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		names = append(names, tok)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// exported is what the bridge's registry exports.
type exported struct {
	reg      *prometheus.Registry
	gathered map[string]string // families Gather returned
}

// exportedMetrics starts a real bridge, sends it webhooks that make every metric vector record
// a sample, and returns its registry with what Gather returns, plus what an App adds.
func exportedMetrics(t *testing.T) exported {
	t.Helper()
	cfg := bridge.DemoConfig()
	cfg.Endpoints = slices.DeleteFunc(cfg.Endpoints, func(e bridge.EndpointConfig) bool { return e.ID != "aghanim" })
	if len(cfg.Endpoints) != 1 {
		t.Fatal("demo mode has no aghanim endpoint")
	}
	live := startLiveBridge(t, cfg)
	ep := cfg.Endpoints[0]
	p, _ := providers.Lookup(ep.Provider)
	now := time.Now()
	signed := func(creds providers.Credentials, ex providers.Example) (http.Header, []byte) {
		h, err := p.Sign(creds, ex.Body, now)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range ex.Header {
			h[k] = v
		}
		return h, ex.Body
	}
	run := strings.ReplaceAll(t.Name(), "/", "_")
	event := p.Load.Example(p.Load.DefaultType, run, 1, now)
	question := p.Load.Example("player.verify", run, 2, now) // a question of Aghanim's by default; no responder runs
	unmapped := providers.Example{Body: []byte(`{"no":"event type"}`)}
	type request struct {
		what   string
		creds  providers.Credentials
		ex     providers.Example
		stored bool // answered 2xx
	}
	for _, r := range []request{
		{"an event (requests, publish latency)", ep.Credentials(), event, true},
		{"the same event again (duplicates)", ep.Credentials(), event, true},
		{"a bad signature (rejections)", providers.Credentials{Secrets: []string{"not-the-secret"}}, event, false},
		{"an authentic body without an event type (unmapped)", ep.Credentials(), unmapped, true},
		{"a question nobody answers (replies)", ep.Credentials(), question, false},
	} {
		header, body := signed(r.creds, r.ex)
		if code, answer := live.do(http.MethodPost, "/webhooks/"+ep.ID, header, body); (code/100 == 2) != r.stored {
			t.Fatalf("%s: status %d %s", r.what, code, answer)
		}
	}

	families, err := live.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	e := exported{reg: live.metrics.Registry, gathered: map[string]string{}}
	for _, f := range families {
		e.gathered[f.GetName()] = f.GetType().String()
	}
	// The registry probe agrees with Gather: it knows every gathered name, and not a made-up one.
	for name := range e.gathered {
		if !e.described(name) {
			t.Fatalf("the registry probe does not know %s, which Gather returned", name)
		}
	}
	if e.described("deploy_test_no_such_metric_total") {
		t.Fatal("the registry probe claims a made-up metric")
	}
	// What the App adds around the handler, served on its own listener.
	appCfg := bridge.DemoConfig()
	appCfg.Endpoints = slices.DeleteFunc(appCfg.Endpoints, func(e bridge.EndpointConfig) bool { return e.ID != "aghanim" })
	appCfg.HTTP.Listen = "127.0.0.1:0"
	for name, typ := range appMetrics(t, appCfg, live.natsURL) {
		if _, ok := e.gathered[name]; !ok && !e.described(name) {
			e.gathered[name] = typ
		}
	}
	return e
}

// appMetrics starts cfg as a whole App (bridge.Start: listener, handler, metrics) against the
// nats-server at url and returns the metric families its /metrics serves, by name, with their
// type as Gather names it (COUNTER, GAUGE, …).
func appMetrics(t *testing.T, cfg *bridge.Config, url string) map[string]string {
	t.Helper()
	cfg.NATS.URL = url
	cfg.Stream.Replicas = 1
	app, err := bridge.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("start app: %v", err)
	}
	defer func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("app shutdown: %v", err)
		}
	}()
	resp, err := http.Get("http://" + app.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("app /metrics: %d %v", resp.StatusCode, err)
	}
	families := map[string]string{}
	for _, line := range strings.Split(string(text), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = strings.ToUpper(f[3])
		}
	}
	if len(families) == 0 {
		t.Fatalf("app /metrics names no metric:\n%s", text)
	}
	return families
}

// described reports whether a collector registered on the registry describes name: registering
// a gauge of that name fails then (another help string, or the same descriptor). A name nobody
// describes registers, and is unregistered at once.
func (e exported) described(name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "deploy/grafana_test.go probe"})
	if err := prometheus.NewRegistry().Register(probe); err != nil {
		return false // not a valid metric name at all
	}
	if err := e.reg.Register(probe); err != nil {
		return true
	}
	e.reg.Unregister(probe)
	return false
}

// resolve returns the exported metric a query's name reads: the name itself, or for
// <histogram>_bucket, _sum and _count (and a summary's _sum and _count) the histogram's.
func (e exported) resolve(name string) (string, error) {
	if _, ok := e.gathered[name]; ok || e.described(name) {
		return name, nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		typ, gathered := e.gathered[base]
		switch {
		case !gathered && !e.described(base):
		case !gathered: // described, but no sample yet: its type is unknown
			return base, nil
		case typ == "HISTOGRAM" || typ == "GAUGE_HISTOGRAM", typ == "SUMMARY" && suffix != "_bucket":
			return base, nil
		default:
			return "", fmt.Errorf("%s is a %s, which has no %s series", base, typ, suffix)
		}
	}
	return "", errors.New("the bridge does not export it")
}

// liveBridge is the bridge's HTTP handler against a real nats-server, with its metrics.
type liveBridge struct {
	handler http.Handler
	metrics *bridge.Metrics
	natsURL string
}

// edgeLink is the broker's link state with store-and-forward reported as on, so that the edge
// gauges are registered as well.
type edgeLink struct{ *bridge.Broker }

func (edgeLink) Edge() bridge.EdgeStatus { return bridge.EdgeStatus{Enabled: true} }

// startLiveBridge serves cfg against a fresh single nats-server (its URL replaces nats.url, and
// the stream gets one replica), built the way bridge.Start builds it, and waits until /readyz
// answers 200.
func startLiveBridge(t *testing.T, cfg *bridge.Config) *liveBridge {
	t.Helper()
	ns := natstest.Start(t)
	cfg.NATS.URL = ns.URL()
	cfg.Stream.Replicas = 1
	cfg.NATS.PublishTimeout = 2 * time.Second
	for i := range cfg.Endpoints {
		cfg.Endpoints[i].ReplyTimeout = time.Second
	}
	plan, err := bridge.Compile(cfg)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	broker, err := bridge.StartBroker(context.Background(), plan, zerolog.Nop())
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(broker.Close)
	metrics := bridge.NewMetrics(edgeLink{broker})
	b := &liveBridge{metrics: metrics, natsURL: ns.URL(), handler: bridge.NewServer(plan, bridge.ServerDeps{
		Publisher:    bridge.NewPublisher(broker, cfg.NATS.PublishTimeout),
		Ready:        broker.Ready,
		Metrics:      metrics,
		Log:          zerolog.Nop(),
		MaxBodyBytes: bridge.EffectiveBodyLimit(cfg.HTTP.MaxBodyBytes, broker.MaxPayload()),
	})}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := b.do(http.MethodGet, "/readyz", nil, nil)
		if code == http.StatusOK {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *liveBridge) do(method, path string, header http.Header, body []byte) (int, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}
