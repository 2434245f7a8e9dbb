package bridge_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/webhookbridge/bridge/bridge"
)

// Synchronous answers (docs/providers/): a question is published to the stream as usual, then asked
// as a NATS request to "<reply_prefix>.<endpoint>.<type tokens>", answered by a micro service.

// aghanimQuestion is an Aghanim webhook body in the documented shape (docs/providers/).
func aghanimQuestion(eventType, eventID, playerID string) []byte {
	return fmt.Appendf(nil, `{"event_id":%q,"event_type":%q,"event_time":1725549000,"idempotency_key":null,"event_data":{"player_id":%q},"context":null,"game_id":"gm_exTAyxPsVwh","request_id":"6f0b7a4e-8a86-4d5c-9a43-1c2f3e4d5a6b","sandbox":false,"trigger":"hub.login","transaction_id":"whtx_eAfPkVqR7sL"}`,
		eventID, eventType, playerID)
}

var playerVerifyQuestion = aghanimQuestion("player.verify", "whevt_eAfPkVqR7sLmN2", "2D2R-OP3C")

const playerOneAnswer = `{"player_id":"2D2R-OP3C","name":"PlayerOne","attributes":{"level":42}}`

// jsonHeader is what a responder adds to a JSON reply.
func jsonHeader() micro.RespondOpt {
	return micro.WithHeaders(micro.Headers{"Content-Type": {"application/json"}})
}

// startReplyService runs a micro service with one endpoint on subject, on a connection of its
// own to the harness's NATS server, as a deployed responder would; it stops when the test ends.
func startReplyService(t *testing.T, h *harness, subject string, handler micro.HandlerFunc) micro.Service {
	t.Helper()
	nc := h.nats.Connect(t)
	svc, err := micro.AddService(nc, micro.Config{
		Name:     "test-responder",
		Version:  "1.0.0",
		Endpoint: &micro.EndpointConfig{Subject: subject, Handler: handler},
	})
	if err != nil {
		t.Fatalf("add service: %v", err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	if err := nc.Flush(); err != nil { // the server knows the subscription before a question comes
		t.Fatal(err)
	}
	return svc
}

// askAghanim posts a signed Aghanim webhook and returns the answer and how long it took.
func askAghanim(h *harness, body []byte) (*http.Response, []byte, time.Duration) {
	h.t.Helper()
	start := time.Now()
	resp, answer := h.post("aghanim", aghanimHeaders(testSecret, time.Now().Unix(), body), body)
	return resp, answer, time.Since(start)
}

// repliesMetric scrapes GET /metrics for bridge_replies_total{endpoint, outcome} (0 if absent).
func repliesMetric(t *testing.T, h *harness, endpoint, outcome string) float64 {
	t.Helper()
	return metricSample(t, h, fmt.Sprintf(`bridge_replies_total{endpoint=%q,outcome=%q}`, endpoint, outcome))
}

// metricSample reads one sample (name with its labels, as /metrics writes it); 0 when absent.
func metricSample(t *testing.T, h *harness, sample string) float64 {
	t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	prefix := sample + " "
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", sc.Text(), err)
			}
			return f
		}
	}
	return 0
}

// storedOnce checks the stream holds exactly one message, the event on its own subject.
func storedOnce(t *testing.T, h *harness, subject string) {
	t.Helper()
	msgs := h.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the stream, want 1", len(msgs))
	}
	if msgs[0].Subject != subject {
		t.Errorf("stored on %q, want %q", msgs[0].Subject, subject)
	}
}

func TestReplyAnswers(t *testing.T) {
	tests := []struct {
		name        string
		respond     micro.HandlerFunc
		status      int
		body        string
		contentType string
		outcome     string // bridge_replies_total outcome
	}{
		{
			name:        "answered: body and Content-Type pass through",
			respond:     func(r micro.Request) { _ = r.Respond([]byte(playerOneAnswer), jsonHeader()) },
			status:      200,
			body:        playerOneAnswer,
			contentType: "application/json",
			outcome:     "answered",
		},
		{
			name: "answered with a content type of the responder's choosing",
			respond: func(r micro.Request) {
				_ = r.Respond([]byte("player=2D2R-OP3C"), micro.WithHeaders(micro.Headers{"Content-Type": {"application/x-www-form-urlencoded"}}))
			},
			status:      200,
			body:        "player=2D2R-OP3C",
			contentType: "application/x-www-form-urlencoded",
			outcome:     "answered",
		},
		{
			name:        "answered with RespondJSON and no Content-Type: JSON is recognised",
			respond:     func(r micro.Request) { _ = r.RespondJSON(map[string]string{"player_id": "2D2R-OP3C"}) },
			status:      200,
			body:        `{"player_id":"2D2R-OP3C"}`,
			contentType: "application/json",
			outcome:     "answered",
		},
		{
			name: "denied: Request.Error 404 is the status, its data the body",
			respond: func(r micro.Request) {
				_ = r.Error("404", "player not found", []byte(`{"error":"player not found"}`))
			},
			status:      404,
			body:        `{"error":"player not found"}`,
			contentType: "application/json",
			outcome:     "denied",
		},
		{
			name: "header names in lower case, as a non-micro responder may write them",
			respond: func(r micro.Request) {
				_ = r.Respond([]byte("not found"), micro.WithHeaders(micro.Headers{
					"nats-service-error-code": {"404"},
					"content-type":            {"text/plain"},
				}))
			},
			status:      404,
			body:        "not found",
			contentType: "text/plain",
			outcome:     "denied",
		},
		{
			name:    "denied with a 5xx code",
			respond: func(r micro.Request) { _ = r.Error("500", "database down", nil) },
			status:  500,
			outcome: "denied",
		},
		{
			name:    "error code 200 is outside 400–599: 502",
			respond: func(r micro.Request) { _ = r.Error("200", "not an error", []byte(`{"ok":true}`)) },
			status:  502,
			outcome: "denied",
		},
		{
			name:    "error code that is not a number: 502",
			respond: func(r micro.Request) { _ = r.Error("abc", "bad code", nil) },
			status:  502,
			outcome: "denied",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startBridge(t, nil)
			var asked atomic.Int32
			startReplyService(t, h, "webhooks-reply.aghanim.player.verify", func(r micro.Request) {
				asked.Add(1)
				tc.respond(r)
			})
			resp, body, _ := askAghanim(h, playerVerifyQuestion)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body %s, want %s", body, tc.body)
			}
			if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			if n := asked.Load(); n != 1 {
				t.Errorf("responder asked %d times, want 1", n)
			}
			storedOnce(t, h, "webhooks.aghanim.player.verify")
			if got := repliesMetric(t, h, "aghanim", tc.outcome); got != 1 {
				t.Errorf("bridge_replies_total{outcome=%q} = %v, want 1", tc.outcome, got)
			}
		})
	}
}

// The question is the CloudEvent the stream holds, and it is never stored itself.
func TestReplyQuestionIsTheEventNotStored(t *testing.T) {
	h := startBridge(t, nil)
	got := make(chan *nats.Msg, 1)
	startReplyService(t, h, "webhooks-reply.aghanim.player.verify", func(r micro.Request) {
		got <- &nats.Msg{Subject: r.Subject(), Header: nats.Header(r.Headers()), Data: r.Data()}
		_ = r.Respond([]byte(playerOneAnswer), jsonHeader())
	})
	if resp, body, _ := askAghanim(h, playerVerifyQuestion); resp.StatusCode != 200 || string(body) != playerOneAnswer {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	q := <-got

	// Stream subjects only "webhooks.>": the reply subjects lie outside it.
	info, err := h.js.Stream(context.Background(), h.cfg.Stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if subjects := info.CachedInfo().Config.Subjects; len(subjects) != 1 || subjects[0] != "webhooks.>" {
		t.Errorf("stream subjects %v, want [webhooks.>]", subjects)
	}
	storedOnce(t, h, "webhooks.aghanim.player.verify")
	for _, m := range h.messages() {
		if strings.HasPrefix(m.Subject, "webhooks-reply") {
			t.Errorf("question stored on %s", m.Subject)
		}
	}
	stored := h.messages()[0]

	// The question carries the stored CloudEvent: the same ce-* headers and the raw body.
	if string(q.Data) != string(playerVerifyQuestion) {
		t.Errorf("question data is not the raw body")
	}
	for _, name := range []string{"ce-specversion", "ce-id", "ce-source", "ce-type", "ce-subject", "ce-time", "ce-datacontenttype"} {
		if q.Header.Get(name) == "" || q.Header.Get(name) != stored.Header.Get(name) {
			t.Errorf("question header %s = %q, stored %q", name, q.Header.Get(name), stored.Header.Get(name))
		}
	}
	if q.Header.Get("ce-type") != "com.aghanim.player.verify" {
		t.Errorf("ce-type %q", q.Header.Get("ce-type"))
	}
}

func TestReplyNoResponder(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) { setReplyTimeout(c, "aghanim", 5*time.Second) })
	resp, body, took := askAghanim(h, playerVerifyQuestion)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 (%s)", resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// No responders is seen at once, not after reply_timeout (a bound for correctness).
	if took >= 2*time.Second {
		t.Errorf("answered after %s; no responders should not wait for reply_timeout 5s", took)
	}
	storedOnce(t, h, "webhooks.aghanim.player.verify")
	if got := repliesMetric(t, h, "aghanim", "no_responders"); got != 1 {
		t.Errorf("bridge_replies_total{outcome=no_responders} = %v, want 1", got)
	}
	if logs := h.logs.String(); !strings.Contains(logs, `"reason":"no_responders"`) {
		t.Errorf("no log line names no_responders:\n%s", logs)
	}
}

func TestReplySlowResponder(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := startBridge(t, func(c *bridge.Config) { setReplyTimeout(c, "aghanim", timeout) })
	var slow atomic.Bool
	slow.Store(true)
	var late sync.WaitGroup
	t.Cleanup(late.Wait)
	startReplyService(t, h, "webhooks-reply.aghanim.player.verify", func(r micro.Request) {
		if !slow.Load() {
			_ = r.Respond([]byte(playerOneAnswer), jsonHeader())
			return
		}
		// Answer late, off the subscription's goroutine, so the retry is not queued behind it.
		late.Go(func() {
			time.Sleep(3 * timeout)
			_ = r.Respond([]byte(`{"late":true}`), jsonHeader())
		})
	})

	resp, body, took := askAghanim(h, playerVerifyQuestion)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 503 with Retry-After (%s)", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("answered after %s, want at reply_timeout %s", took, timeout)
	}
	storedOnce(t, h, "webhooks.aghanim.player.verify")
	if got := repliesMetric(t, h, "aghanim", "timeout"); got != 1 {
		t.Errorf("bridge_replies_total{outcome=timeout} = %v, want 1", got)
	}

	// Aghanim retries the same webhook; the responder is fast again.
	slow.Store(false)
	resp, body, _ = askAghanim(h, playerVerifyQuestion)
	if resp.StatusCode != 200 || string(body) != playerOneAnswer {
		t.Errorf("retry: %d %s, want 200 %s", resp.StatusCode, body, playerOneAnswer)
	}
	storedOnce(t, h, "webhooks.aghanim.player.verify") // the retry is a duplicate
	if got := repliesMetric(t, h, "aghanim", "answered"); got != 1 {
		t.Errorf("bridge_replies_total{outcome=answered} = %v, want 1", got)
	}
}

func TestReplyTwoInstancesAnswerEachQuestionOnce(t *testing.T) {
	h := startBridge(t, nil)
	var mu sync.Mutex
	answered := map[string]int{} // ce-id → handler invocations, across both instances
	handler := func(r micro.Request) {
		mu.Lock()
		answered[r.Headers().Get("ce-id")]++
		mu.Unlock()
		_ = r.Respond([]byte(playerOneAnswer), jsonHeader())
	}
	services := []micro.Service{
		startReplyService(t, h, "webhooks-reply.aghanim.player.verify", handler),
		startReplyService(t, h, "webhooks-reply.aghanim.player.verify", handler),
	}

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := aghanimQuestion("player.verify", fmt.Sprintf("whevt_%03d", i), "2D2R-OP3C")
			req, _ := http.NewRequest(http.MethodPost, h.base+"/webhooks/aghanim", strings.NewReader(string(body)))
			req.Header = aghanimHeaders(testSecret, time.Now().Unix(), body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("question %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("question %d: status %d", i, resp.StatusCode)
			}
		})
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(answered) != n {
		t.Errorf("%d questions reached a responder, want %d", len(answered), n)
	}
	for id, times := range answered {
		if times != 1 {
			t.Errorf("question %s answered %d times, want once", id, times)
		}
	}
	var total uint64
	for _, svc := range services {
		for _, e := range svc.Stats().Endpoints {
			total += uint64(e.NumRequests)
		}
	}
	if total != n {
		t.Errorf("the two instances handled %d requests, want %d", total, n)
	}
	if got := len(h.messages()); got != n {
		t.Errorf("%d messages in the stream, want %d", got, n)
	}
}

// Events that are not questions are answered as before, and no request is sent.
func TestReplyNotAskedForNotices(t *testing.T) {
	h := startBridge(t, nil)
	nc := h.nats.Connect(t)
	sub, err := nc.SubscribeSync("webhooks-reply.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	resp, body, _ := askAghanim(h, playerUpdate)
	if resp.StatusCode != 200 || string(body) != `{"status":"ok"}` {
		t.Errorf("answer %d %s, want 200 {\"status\":\"ok\"}", resp.StatusCode, body)
	}
	if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
		t.Errorf("a request was sent on %s", m.Subject)
	}
	storedOnce(t, h, "webhooks.aghanim.player.update")
}

// Any endpoint can list event types in reply_events; an empty list asks nothing.
func TestReplyEventsConfigured(t *testing.T) {
	spam := []byte(`{"event":"domain.flagged.spam","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"spam.example"}}`)
	verdict := `{"domain":"spam.example","action":"block"}`
	tests := []struct {
		name     string
		modify   func(*bridge.Config)
		subject  string // where the responder listens
		endpoint string
		header   http.Header
		body     []byte
		answer   string
	}{
		{
			name:     "usercheck asks domain.flagged.spam",
			modify:   func(c *bridge.Config) { setReplyEvents(c, "usercheck", "domain.flagged.spam") },
			subject:  "webhooks-reply.usercheck.domain.flagged.spam",
			endpoint: "usercheck",
			header:   userCheckHeaders(testSecret, spam),
			body:     spam,
			answer:   verdict,
		},
		{
			name:     "usercheck's other events are not asked",
			modify:   func(c *bridge.Config) { setReplyEvents(c, "usercheck", "domain.flagged.spam") },
			subject:  "webhooks-reply.usercheck.>",
			endpoint: "usercheck",
			header:   userCheckHeaders(testSecret, domainFlagged),
			body:     domainFlagged,
			answer:   `{"status":"success"}`,
		},
		{
			name:     "reply_events [] on aghanim disables questions",
			modify:   func(c *bridge.Config) { setReplyEvents(c, "aghanim") },
			subject:  "webhooks-reply.aghanim.>",
			endpoint: "aghanim",
			header:   aghanimHeaders(testSecret, time.Now().Unix(), playerVerifyQuestion),
			body:     playerVerifyQuestion,
			answer:   `{"status":"ok"}`,
		},
		{
			name: "a reply_prefix of the operator's choosing",
			modify: func(c *bridge.Config) {
				c.Stream.ReplyPrefix = "questions"
			},
			subject:  "questions.aghanim.player.verify",
			endpoint: "aghanim",
			header:   aghanimHeaders(testSecret, time.Now().Unix(), playerVerifyQuestion),
			body:     playerVerifyQuestion,
			answer:   verdict,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startBridge(t, tc.modify)
			startReplyService(t, h, tc.subject, func(r micro.Request) { _ = r.Respond([]byte(verdict), jsonHeader()) })
			resp, body := h.post(tc.endpoint, tc.header, tc.body)
			if resp.StatusCode != 200 || string(body) != tc.answer {
				t.Errorf("answer %d %s, want 200 %s", resp.StatusCode, body, tc.answer)
			}
			if got := len(h.messages()); got != 1 {
				t.Errorf("%d messages in the stream, want 1", got)
			}
		})
	}
}

func TestReplyConfig(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	parse := func(yaml string) (*bridge.Config, error) {
		return parseChecked(strings.NewReader(yaml), noEnv)
	}
	const endpoints = `
endpoints:
  - id: aghanim
    provider: aghanim
    secrets: [s]
`
	t.Run("defaults", func(t *testing.T) {
		cfg, err := parse(endpoints)
		if err != nil {
			t.Fatal(err)
		}
		ep := cfg.Endpoints[0]
		if cfg.Stream.ReplyPrefix != "webhooks-reply" || ep.ReplyTimeout != 3*time.Second {
			t.Errorf("reply_prefix %q, reply_timeout %s", cfg.Stream.ReplyPrefix, ep.ReplyTimeout)
		}
		if ep.ReplyEvents == nil || strings.Join(*ep.ReplyEvents, ",") != "player.verify,player.lookup,store.get" {
			t.Errorf("aghanim's default reply_events %v", ep.ReplyEvents)
		}
	})
	t.Run("reply_events [] is none, not the default", func(t *testing.T) {
		cfg, err := parse(endpoints + "    reply_events: []\n")
		if err != nil {
			t.Fatal(err)
		}
		if ev := cfg.Endpoints[0].ReplyEvents; ev == nil || len(*ev) != 0 {
			t.Errorf("reply_events %v, want an empty list", ev)
		}
	})
	for _, prefix := range []string{"webhooks.reply", "webhooks", "webhooks.aghanim.questions"} {
		t.Run("reply_prefix "+prefix+" inside the stream is rejected", func(t *testing.T) {
			_, err := parse("stream:\n  reply_prefix: " + prefix + "\n" + endpoints)
			if err == nil || !strings.Contains(err.Error(), "stream.reply_prefix") {
				t.Errorf("ParseConfig: %v, want an error naming stream.reply_prefix", err)
			}
			cfg := testConfig("nats://127.0.0.1:4222")
			cfg.Stream.ReplyPrefix = prefix
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "stream.reply_prefix") {
				t.Errorf("Validate: %v, want an error naming stream.reply_prefix", err)
			}
		})
	}
	t.Run("reply_prefix beside a custom subject_prefix", func(t *testing.T) {
		if _, err := parse("stream:\n  subject_prefix: hooks\n  reply_prefix: webhooks\n" + endpoints); err != nil {
			t.Errorf("ParseConfig: %v", err)
		}
		cfg, err := parse("stream:\n  subject_prefix: hooks\n" + endpoints)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Stream.ReplyPrefix != "hooks-reply" {
			t.Errorf("default reply_prefix %q, want hooks-reply", cfg.Stream.ReplyPrefix)
		}
	})
}

func setReplyTimeout(c *bridge.Config, endpoint string, d time.Duration) {
	for i := range c.Endpoints {
		if c.Endpoints[i].ID == endpoint {
			c.Endpoints[i].ReplyTimeout = d
		}
	}
}

func setReplyEvents(c *bridge.Config, endpoint string, events ...string) {
	for i := range c.Endpoints {
		if c.Endpoints[i].ID == endpoint {
			list := append([]string{}, events...)
			c.Endpoints[i].ReplyEvents = &list
		}
	}
}
