package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/providers"
)

// Every provider's load body is authentic for the demo credentials, maps to the intended event
// (not "unmapped"), is about -size bytes, valid JSON, unique per event and per run, and its
// Nats-Msg-Id is the one the bridge will give it.
func TestWorkloadBodiesAreValidAndUnique(t *testing.T) {
	demo := providers.Credentials{
		Secrets:      []string{"demo-secret"},
		BasicAuth:    &providers.BasicAuth{Username: "demo", Password: "demo-secret"},
		BearerTokens: []string{"demo-secret"},
	}
	tests := []struct {
		args     []string
		wantType string
		// idIsHash: the bridge's CloudEvents id is the body's SHA-256.
		idIsHash bool
	}{
		{[]string{"-provider", "aghanim"}, "player.update", false},
		{[]string{"-provider", "aghanim", "-type", "payment.succeeded"}, "payment.succeeded", false},
		{[]string{"-provider", "altdentifier"}, "verification.passed", true},
		{[]string{"-provider", "altdentifier", "-type", "account.incorrect"}, "account.incorrect", true},
		{[]string{"-provider", "zignsec"}, "session_updated", true},
		{[]string{"-provider", "centrepoint"}, "upload.completed", false},
		{[]string{"-provider", "centrepoint", "-token", "demo-secret"}, "upload.completed", false},
		{[]string{"-provider", "centrepoint", "-user", "demo", "-password", "demo-secret"}, "upload.completed", false},
		{[]string{"-provider", "usercheck"}, "domain.flagged.spam", true},
		{[]string{"-provider", "usercheck", "-size", "100"}, "domain.flagged.spam", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := parseConfig(append(tt.args, "-verify-stream", "nats://unused"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			w := cfg.workload()
			other := *w
			other.runID = newRunID()
			seen := map[string]bool{}
			for _, n := range []uint64{0, 1, 9, 10, 12345678} {
				for _, w := range []*workload{w, &other} {
					ev := w.event(n, time.Now())
					h, err := w.sign(ev, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					req := providers.Request{Header: h, Body: ev.body}
					verified, err := cfg.provider.Verify(req, demo)
					if err != nil {
						t.Fatalf("event %d does not authenticate: %v\n%s", n, err, ev.body)
					}
					mapped, err := verified.Map()
					if err != nil || mapped.Type != tt.wantType {
						t.Fatalf("event %d maps to %q, %v; want %q", n, mapped.Type, err, tt.wantType)
					}
					if !json.Valid(ev.body) {
						t.Fatalf("event %d is not JSON: %s", n, ev.body)
					}
					if cfg.size >= 300 && len(ev.body) != cfg.size {
						t.Fatalf("event %d is %d bytes, want %d", n, len(ev.body), cfg.size)
					}
					id := mapped.ID
					if tt.idIsHash {
						sum := sha256.Sum256(ev.body)
						id = hex.EncodeToString(sum[:])
					}
					if want := cfg.provider.Name + ":" + id; ev.msgID != want {
						t.Fatalf("event %d msgID %q, want %q", n, ev.msgID, want)
					}
					if seen[ev.msgID] {
						t.Fatalf("event %d of run %s repeats id %s", n, w.runID, ev.msgID)
					}
					seen[ev.msgID] = true
				}
			}
		})
	}
}

func TestAghanimEventIDsCarryTheRunID(t *testing.T) {
	cfg, err := parseConfig([]string{"-type", "player.update"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ev := cfg.workload().event(42, time.Unix(1725548450, 0))
	var body struct {
		EventID   string `json:"event_id"`
		EventType string `json:"event_type"`
		EventTime int64  `json:"event_time"`
		EventData struct {
			PlayerID string `json:"player_id"`
		} `json:"event_data"`
	}
	if err := json.Unmarshal(ev.body, &body); err != nil {
		t.Fatal(err)
	}
	if want := "whevt_load_" + cfg.runID + "_42"; body.EventID != want {
		t.Errorf("event_id %q, want %q", body.EventID, want)
	}
	if body.EventType != "player.update" || body.EventTime != 1725548450 || body.EventData.PlayerID == "" {
		t.Errorf("body %s", ev.body)
	}
	if len(ev.body) != 1024 {
		t.Errorf("%d bytes, want the default 1024", len(ev.body))
	}
}
