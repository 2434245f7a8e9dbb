package bridge

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The console's data, as JSON under /console/api/. Every answer is bounded: lists by feedRows,
// a message's body by detailMaxBody.

const (
	// detailMaxBody is how much of a message's body the detail shows.
	detailMaxBody = 64 << 10
	// listLimit is how many rows a list returns unless ?limit= says fewer.
	listLimit = 50
	// consumerIdle is how long the server keeps a console consumer nobody reads.
	consumerIdle = 10 * time.Second
	// natsTimeout bounds the NATS requests of one API call: generous, for a busy server; the
	// page shows the error when it passes.
	natsTimeout = 10 * time.Second
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// endpointJSON is one endpoint as the console shows it: how it is configured (never a secret)
// and what it did in the last five minutes.
type endpointJSON struct {
	ID            string          `json:"id"`
	Provider      string          `json:"provider"`
	Proof         string          `json:"proof"`
	Secrets       int             `json:"secrets"`
	AllowFrom     []string        `json:"allow_from"`
	AllowUnsigned bool            `json:"allow_unsigned"`
	Window        string          `json:"window"`
	Accepted      int64           `json:"accepted"`
	Rejected      int64           `json:"rejected"`
	Retry         int64           `json:"retry"`
	Secret        int             `json:"secret"` // the index of the secret that matched last; -1: none seen
	LastEvent     *lastEventJSON  `json:"last_event"`
	LastRejection *lastRejectJSON `json:"last_rejection"`
}

type lastEventJSON struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`
}

type lastRejectJSON struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Reason    string    `json:"reason"`
	Diagnosis string    `json:"diagnosis"`
}

// tokenSecretProviders compare a configured secret with a header as a shared token, where the
// others compute a MAC with it.
var tokenSecretProviders = map[string]bool{"auth0": true, "gitlab": true, "okta": true}

// proofKind names how an endpoint's requests prove themselves, from what it is configured with.
func proofKind(ec EndpointConfig, ep *Endpoint) string {
	var kinds []string
	if n := len(ep.Credentials.Secrets); n > 0 {
		kind := "hmac"
		if tokenSecretProviders[ep.Provider.Name] {
			kind = "token"
		}
		if n > 1 {
			kind += " (" + strconv.Itoa(n) + " secrets)"
		}
		kinds = append(kinds, kind)
	}
	if _, ok := ec.ProviderKeys["public_key"]; ok {
		kinds = append(kinds, "public key")
	}
	if _, ok := ec.ProviderKeys["verify_token"]; ok || len(ep.Credentials.BearerTokens) > 0 {
		kinds = append(kinds, "token")
	}
	if ep.Credentials.BasicAuth != nil {
		kinds = append(kinds, "basic")
	}
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(slices.Compact(kinds), ", ")
}

// endpointsJSON is the Endpoints view: every endpoint, with its counts over Window, sampled
// every SampledEvery.
type endpointsJSON struct {
	Endpoints    []endpointJSON `json:"endpoints"`
	Window       string         `json:"window"`
	SampledEvery string         `json:"sampled_every"`
}

// endpointsCache looks up each endpoint's last event and rejection in NATS at most once a
// second, however many pages are open (pages get the endpoints every second over the live
// stream); the counts are read fresh each time, from memory.
type endpointsCache struct {
	mu   sync.Mutex
	at   time.Time
	last map[string]lastSeen
}

// lastSeen is an endpoint's last event and rejection, nil when none is stored.
type lastSeen struct {
	event     *lastEventJSON
	rejection *lastRejectJSON
}

func (e *endpointsCache) get(c *console, plan *Plan) map[string]lastSeen {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at.IsZero() || time.Since(e.at) >= time.Second {
		e.last, e.at = c.readLastSeen(plan), time.Now()
	}
	return e.last
}

func (c *console) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.readEndpoints())
}

func (c *console) readEndpoints() endpointsJSON {
	c.app.reloadMu.Lock()
	plan := c.app.plan
	c.app.reloadMu.Unlock()
	window := c.stats.window()
	last := c.endpoints.get(c, plan)
	out := make([]endpointJSON, 0, len(plan.endpoints))
	for _, ep := range plan.endpoints {
		var ec EndpointConfig
		for _, e := range plan.cfg.Endpoints {
			if e.ID == ep.ID {
				ec = e
			}
		}
		row := endpointJSON{
			ID: ep.ID, Provider: ep.Provider.Name, Proof: proofKind(ec, ep), Secrets: len(ep.Credentials.Secrets),
			AllowFrom: append([]string{}, ec.AllowFrom...), AllowUnsigned: ep.Credentials.AllowUnsigned,
			Window: shortDuration(statsWindow), Secret: -1,
			LastEvent: last[ep.ID].event, LastRejection: last[ep.ID].rejection,
		}
		if win, ok := window[ep.ID]; ok {
			row.Accepted, row.Rejected, row.Retry, row.Secret = win.Accepted, win.Rejected, win.Retry, win.Secret
		}
		// Exactly, since the endpoint was last routed; before that (a reload), as sampled.
		if ep.metrics != nil {
			if i := ep.metrics.lastSecret.Load(); i > 0 {
				row.Secret = int(i) - 1
			}
		}
		out = append(out, row)
	}
	return endpointsJSON{Endpoints: out, Window: shortDuration(statsWindow), SampledEvery: shortDuration(statsInterval)}
}

// readLastSeen asks NATS for each endpoint's last event and rejection.
func (c *console) readLastSeen(plan *Plan) map[string]lastSeen {
	ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
	defer cancel()
	b := c.app.broker
	var events, rejections jetstream.Stream
	if b.Connected() {
		events, _ = b.JS().Stream(ctx, b.stream.Name)
		if b.rejections != nil {
			rejections, _ = b.JS().Stream(ctx, b.rejections.Name)
		}
	}
	out := make(map[string]lastSeen, len(plan.endpoints))
	for _, ep := range plan.endpoints {
		var seen lastSeen
		if events != nil {
			if m, err := events.GetLastMsgForSubject(ctx, plan.cfg.Stream.SubjectPrefix+"."+ep.ID+".>"); err == nil {
				seen.event = &lastEventJSON{Seq: m.Sequence, Time: m.Time.UTC(), Type: ceHeader(m.Header, "type")}
			}
		}
		if rejections != nil {
			if m, err := rejections.GetLastMsgForSubject(ctx, plan.cfg.Stream.RejectPrefix+"."+ep.ID+".>"); err == nil {
				rj := rejectionRow(&nats.Msg{Subject: m.Subject, Header: m.Header}, m.Sequence, m.Time).(rejectionRowJSON)
				seen.rejection = &lastRejectJSON{Seq: m.Sequence, Time: rj.Time, Reason: rj.Reason, Diagnosis: rj.Diagnosis}
			}
		}
		out[ep.ID] = seen
	}
	return out
}

// handleList returns the feed's stream's latest messages, newest first: ?limit= of them (at most
// feedRows), and of those the ones whose endpoint and type (reason, for rejections) contain
// ?endpoint= and ?type= (?reason=).
func (c *console) handleList(f *feed) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f == nil {
			apiError(w, http.StatusNotFound, "rejections are not kept (rejections.enabled: false)")
			return
		}
		limit := listLimit
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				apiError(w, http.StatusBadRequest, "limit: a positive number")
				return
			}
			limit = min(n, feedRows)
		}
		if !c.app.broker.Connected() {
			apiError(w, http.StatusServiceUnavailable, "NATS is not connected")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), natsTimeout)
		defer cancel()
		rows, err := latest(ctx, c.app.broker.JS(), f, limit)
		if err != nil {
			apiError(w, http.StatusBadGateway, "reading "+f.stream+": "+err.Error())
			return
		}
		q := r.URL.Query()
		endpoint, kind := q.Get("endpoint"), q.Get("type")
		if f.kind == "rejection" {
			kind = q.Get("reason")
		}
		out := make([]any, 0, len(rows))
		for i := len(rows) - 1; i >= 0; i-- {
			row := rows[i]
			var ep, k string
			switch v := row.(type) {
			case eventRowJSON:
				ep, k = v.Endpoint, v.Type
			case rejectionRowJSON:
				ep, k = v.Endpoint, v.Reason
			}
			if strings.Contains(ep, endpoint) && strings.Contains(k, kind) {
				out = append(out, row)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"stream": f.stream, f.kind + "s": out})
	}
}

// latest reads the stream's last n messages (headers only) as the feed's rows, oldest first.
func latest(ctx context.Context, js jetstream.JetStream, f *feed, n int) ([]any, error) {
	s, err := js.Stream(ctx, f.stream)
	if err != nil {
		return nil, err
	}
	st := s.CachedInfo().State
	if st.Msgs == 0 {
		return nil, nil
	}
	cons, err := js.OrderedConsumer(ctx, f.stream, startAtLast(st, n))
	if err != nil {
		return nil, err
	}
	batch, err := cons.FetchNoWait(n)
	if err != nil {
		return nil, err
	}
	var rows []any
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		rows = append(rows, f.row(&nats.Msg{Subject: m.Subject(), Header: nats.Header(m.Headers())}, md.Sequence.Stream, md.Timestamp))
	}
	if info := cons.CachedInfo(); info != nil {
		_ = js.DeleteConsumer(ctx, f.stream, info.Name)
	}
	return rows, batch.Error()
}

// detailJSON is one stored message: its headers and its body, shown as JSON (indented), text,
// or a hex dump, and cut at detailMaxBody.
type detailJSON struct {
	Stream    string      `json:"stream"`
	Seq       uint64      `json:"seq"`
	Subject   string      `json:"subject"`
	Time      time.Time   `json:"time"`
	Headers   [][2]string `json:"headers"`
	Size      int         `json:"size"`
	Format    string      `json:"format"` // json, text, hex or empty
	Body      string      `json:"body"`
	Truncated bool        `json:"truncated"`
	Row       any         `json:"row"`
}

// handleDetail returns one message of the feed's stream by its sequence.
func (c *console) handleDetail(f *feed) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f == nil {
			apiError(w, http.StatusNotFound, "rejections are not kept (rejections.enabled: false)")
			return
		}
		seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
		if err != nil || seq == 0 {
			apiError(w, http.StatusBadRequest, "a stream sequence is a positive number")
			return
		}
		if !c.app.broker.Connected() {
			apiError(w, http.StatusServiceUnavailable, "NATS is not connected")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), natsTimeout)
		defer cancel()
		s, err := c.app.broker.JS().Stream(ctx, f.stream)
		if err != nil {
			apiError(w, http.StatusBadGateway, "stream "+f.stream+": "+err.Error())
			return
		}
		m, err := s.GetMsg(ctx, seq)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			apiError(w, http.StatusNotFound, "no message "+strconv.FormatUint(seq, 10)+" in "+f.stream+" (deleted, or aged out)")
			return
		case err != nil:
			apiError(w, http.StatusBadGateway, "stream "+f.stream+": "+err.Error())
			return
		}
		d := detailJSON{
			Stream: f.stream, Seq: m.Sequence, Subject: m.Subject, Time: m.Time.UTC(), Headers: sortedHeaders(m.Header), Size: len(m.Data),
			Row: f.row(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}, m.Sequence, m.Time),
		}
		d.Format, d.Body, d.Truncated = renderBody(m.Data)
		writeJSON(w, http.StatusOK, d)
	}
}

// sortedHeaders lists a message's headers, one pair per value: the CloudEvents attributes
// (percent-decoded) and the bridge's own first, then the rest, each by name.
func sortedHeaders(h nats.Header) [][2]string {
	first := func(name string) bool {
		l := strings.ToLower(name)
		return strings.HasPrefix(l, "ce-") || strings.HasPrefix(l, "bridge-") && !strings.HasPrefix(l, "bridge-request-")
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if fa, fb := first(a), first(b); fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	var out [][2]string
	for _, name := range names {
		ce := strings.HasPrefix(strings.ToLower(name), "ce-")
		// Rejections are stored with these redacted; one stored before a header joined the list
		// is redacted here.
		redact := redactedHeader(name)
		for _, v := range h[name] {
			if ce {
				v = ceValue(v)
			}
			if redact {
				v = "[redacted]"
			}
			out = append(out, [2]string{name, v})
		}
	}
	return out
}

// renderBody shows a body as indented JSON, as text when it is UTF-8, or else as a hex dump, cut
// at detailMaxBody.
func renderBody(data []byte) (format, text string, truncated bool) {
	switch {
	case len(data) == 0:
		return "empty", "", false
	case json.Valid(data):
		var b bytes.Buffer
		if json.Indent(&b, data, "", "  ") == nil {
			format, text = "json", b.String()
		} else {
			format, text = "text", string(data)
		}
	case utf8.Valid(data):
		format, text = "text", string(data)
	default:
		// A hex dump line shows 16 bytes in 79 characters.
		shown := min(len(data), detailMaxBody*16/79)
		format, text, truncated = "hex", hex.Dump(data[:shown]), shown < len(data)
	}
	if len(text) > detailMaxBody {
		cut := detailMaxBody
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text, truncated = text[:cut], true
	}
	return format, text, truncated
}

// consoleHealth is the health view: the NATS connection, the stream against its limits, the
// duplicate window and, in store-and-forward mode, the leaf link and the backlog.
type consoleHealth struct {
	Time            time.Time     `json:"time"`
	NATS            natsHealth    `json:"nats"`
	Stream          streamHealth  `json:"stream"`
	Rejections      *streamHealth `json:"rejections,omitempty"`
	DuplicateWindow string        `json:"duplicate_window"`
	Leaf            *leafHealth   `json:"leaf,omitempty"`
	// Feeds is how many live feeds (NATS consumers for connected pages) run; Live is what each
	// did, and whether it shows a sample of a stream faster than a page can follow.
	Feeds int              `json:"feeds"`
	Live  []feedStatusJSON `json:"live"`
}

type natsHealth struct {
	Connected bool   `json:"connected"`
	Server    string `json:"server"`
	Ready     string `json:"ready"` // "ready", or why not
}

type streamHealth struct {
	Name     string `json:"name"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	MaxMsgs  int64  `json:"max_msgs"`  // -1: no limit
	MaxBytes int64  `json:"max_bytes"` // -1: no limit
	MaxAge   string `json:"max_age"`
	Error    string `json:"error,omitempty"`
}

type leafHealth struct {
	Connected    bool       `json:"connected"`
	Backlog      uint64     `json:"backlog"`
	LastSeq      uint64     `json:"last_seq"`
	ForwardedSeq uint64     `json:"forwarded_seq"`
	HubAnswered  *time.Time `json:"hub_answered"`
}

// healthCache asks NATS at most once a second, however many pages are open.
type healthCache struct {
	mu   sync.Mutex
	at   time.Time
	last consoleHealth
}

func (h *healthCache) get(c *console) consoleHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.at.IsZero() || time.Since(h.at) >= time.Second {
		h.last, h.at = c.readHealth(), time.Now()
	}
	v := h.last
	v.Feeds = int(c.feeds.Load())
	v.Live = []feedStatusJSON{}
	for _, f := range []*feed{c.events, c.rejections} {
		if f == nil {
			continue
		}
		if st := f.statusNow(); st != nil {
			v.Live = append(v.Live, *st)
		}
	}
	return v
}

func (c *console) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.health.get(c))
}

func (c *console) readHealth() consoleHealth {
	b := c.app.broker
	h := consoleHealth{Time: time.Now().UTC(), DuplicateWindow: shortDuration(b.stream.Duplicates)}
	h.NATS.Connected = b.Connected()
	h.NATS.Server = c.natsServer
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	h.NATS.Ready = "ready"
	if err := b.Ready(ctx); err != nil {
		h.NATS.Ready = err.Error()
	}
	h.Stream = streamState(ctx, b, b.stream)
	if b.rejections != nil {
		rj := streamState(ctx, b, *b.rejections)
		h.Rejections = &rj
	}
	if e := b.Edge(); e.Enabled {
		h.Leaf = &leafHealth{Connected: e.LeafConnected, Backlog: e.Backlog(), LastSeq: e.LastSeq, ForwardedSeq: e.ForwardedSeq}
		if !e.HubAnswered.IsZero() {
			t := e.HubAnswered.UTC()
			h.Leaf.HubAnswered = &t
		}
	}
	return h
}

// streamState asks NATS for a stream's state; while NATS is not connected it says so, with the
// configured limits and, for the event stream, the bytes as last checked.
func streamState(ctx context.Context, b *Broker, sc jetstream.StreamConfig) streamHealth {
	s := streamHealth{Name: sc.Name, MaxMsgs: limitOrNone(sc.MaxMsgs), MaxBytes: limitOrNone(sc.MaxBytes), MaxAge: shortDuration(sc.MaxAge)}
	if !b.Connected() {
		s.Error = "NATS is not connected"
		if sc.Name == b.stream.Name {
			bytes, _ := b.StreamStorage()
			s.Bytes = uint64(max(bytes, 0))
		}
		return s
	}
	stream, err := b.JS().Stream(ctx, sc.Name)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	info := stream.CachedInfo()
	s.Messages, s.Bytes = info.State.Msgs, info.State.Bytes
	s.MaxMsgs, s.MaxBytes, s.MaxAge = limitOrNone(info.Config.MaxMsgs), limitOrNone(info.Config.MaxBytes), shortDuration(info.Config.MaxAge)
	return s
}

// limitOrNone is a stream limit, -1 for none (JetStream's 0 and -1 both mean none).
func limitOrNone(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// shortDuration writes 24h rather than 24h0m0s; 0 is "none".
func shortDuration(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
