package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/providers"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

const fullConfig = `
http:
  listen: "127.0.0.1:9090"
  max_body_bytes: ${MAX_BODY}
nats:
  url: nats://a:4222,nats://b:4222
  publish_timeout: 2s
stream:
  replicas: 3
endpoints:
  - id: game-1
    provider: aghanim
    secrets: ["${AGHANIM_SECRET}", "old-secret"]
  - id: cp
    provider: centrepoint
    basic_auth: { username: "${CP_USER}", password: "${CP_PASSWORD}" }
    bearer_tokens: ["${CP_TOKEN}"]
  - id: uc
    provider: usercheck
    secrets: ["s"]
    reply_events: [domain.flagged.spam]
    reply_timeout: 1s
`

func TestParseConfig(t *testing.T) {
	cfg, err := parseChecked(strings.NewReader(fullConfig), env(map[string]string{
		"MAX_BODY": "2048", "AGHANIM_SECRET": "from-env", "CP_USER": "u", "CP_PASSWORD": "p: w", "CP_TOKEN": "tok",
	}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"max body from env", cfg.HTTP.MaxBodyBytes, int64(2048)},
		{"secret from env", cfg.Endpoints[0].Secrets[0], "from-env"},
		{"second secret", cfg.Endpoints[0].Secrets[1], "old-secret"},
		{"password with a colon", cfg.Endpoints[1].BasicAuth.Password, "p: w"},
		{"publish timeout", cfg.NATS.PublishTimeout, 2 * time.Second},
		{"replicas", cfg.Stream.Replicas, 3},
		{"default stream", cfg.Stream.Name, "WEBHOOKS"},
		{"default reply prefix", cfg.Stream.ReplyPrefix, "webhooks-reply"},
		{"default duplicate window", cfg.Stream.DuplicateWindow, 24 * time.Hour},
		{"default ping interval", cfg.NATS.PingInterval, 2 * time.Second},
		{"aghanim default reply events", strings.Join(*cfg.Endpoints[0].ReplyEvents, ","), "player.verify,player.lookup,store.get"},
		{"default reply timeout", cfg.Endpoints[0].ReplyTimeout, 3 * time.Second},
		{"configured reply events", strings.Join(*cfg.Endpoints[2].ReplyEvents, ","), "domain.flagged.spam"},
		{"configured reply timeout", cfg.Endpoints[2].ReplyTimeout, time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"unset variable", "endpoints: [{id: a, provider: aghanim, secrets: [\"${NOPE}\"]}]", nil,
			[]string{"endpoints[0].secrets[0]", "NOPE"}},
		{"unknown provider", "endpoints: [{id: a, provider: no-such-sender, secrets: [x]}]", nil,
			[]string{"endpoints[0].provider", "github"}},
		{"no credential", "endpoints: [{id: a, provider: aghanim}]", nil,
			[]string{"endpoints[0]", "secret"}},
		{"duplicate id", "endpoints: [{id: a, provider: aghanim, secrets: [x]}, {id: a, provider: usercheck, secrets: [y]}]", nil,
			[]string{"endpoints[1].id", "endpoints[0]"}},
		{"id not a subject token", "endpoints: [{id: a.b, provider: aghanim, secrets: [x]}]", nil,
			[]string{"endpoints[0].id"}},
		{"reply prefix inside the stream", "stream: {reply_prefix: webhooks.reply}\nendpoints: [{id: a, provider: aghanim, secrets: [x]}]", nil,
			[]string{"stream.reply_prefix"}},
		{"unknown field", "htp: {listen: x}\nendpoints: [{id: a, provider: aghanim, secrets: [x]}]", nil,
			[]string{"htp", "unknown field"}},
		{"every problem at once", "log: {level: loud}\nstream: {replicas: 7}\nendpoints: []", nil,
			[]string{"log.level", "stream.replicas", "endpoints"}},
		{"a CA file for serving", "http: {tls: {ca_file: ca.pem}}\nendpoints: [{id: a, provider: aghanim, secrets: [x]}]", nil,
			[]string{"http.tls.ca_file"}},
		{"negative ping interval", "nats: {ping_interval: -1s}\nendpoints: [{id: a, provider: aghanim, secrets: [x]}]", nil,
			[]string{"nats.ping_interval"}},
		{"duplicate window over max age", "stream: {max_age: 1h, duplicate_window: 2h}\nendpoints: [{id: a, provider: aghanim, secrets: [x]}]", nil,
			[]string{"stream.duplicate_window"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.ParsePlan(strings.NewReader(tc.yaml), env(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDemoConfigIsValid(t *testing.T) {
	cfg := bridge.DemoConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.NATS.URL != "" || cfg.NATS.Embedded.Listen != "127.0.0.1:4222" {
		t.Errorf("demo is not loopback with an embedded server: %+v", cfg)
	}
	if len(cfg.Endpoints) != len(providers.All()) {
		t.Errorf("%d demo endpoints, want one per provider", len(cfg.Endpoints))
	}
}

func TestEffectiveBodyLimit(t *testing.T) {
	if got := bridge.EffectiveBodyLimit(1<<20, 1<<20); got != 1<<20-64<<10 {
		t.Errorf("lowered limit %d", got)
	}
	if got := bridge.EffectiveBodyLimit(1000, 1<<20); got != 1000 {
		t.Errorf("limit %d, want 1000", got)
	}
}

// TestConfigErrorsNeverQuoteValues: after ${VAR} expansion a value may be a secret; a value of the
// wrong type is named by its line and type, never quoted.
func TestConfigErrorsNeverQuoteValues(t *testing.T) {
	_, err := bridge.ParsePlan(strings.NewReader("endpoints: [{id: a, provider: aghanim, secrets: ${S}}]"), env(map[string]string{"S": "hunter2pw"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v: want one that does not quote the secret", err)
	}
}
