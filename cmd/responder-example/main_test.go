package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/webhookbridge/bridge/cloudevents"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
)

// aghanimBody is an Aghanim webhook body in the documented shape (docs/providers/).
func aghanimBody(eventType, eventID, playerID string) []byte {
	return fmt.Appendf(nil, `{"event_id":%q,"event_type":%q,"event_time":1725549000,"idempotency_key":null,"event_data":{"player_id":%q},"context":null,"game_id":"gm_exTAyxPsVwh","request_id":"6f0b7a4e-8a86-4d5c-9a43-1c2f3e4d5a6b","sandbox":false,"trigger":"hub.login","transaction_id":"whtx_eAfPkVqR7sL"}`,
		eventID, eventType, playerID)
}

// asked is body as the bridge asks it: a binary-mode CloudEvent on subject.
func asked(t *testing.T, subject, eventType, eventID, playerID string) *nats.Msg {
	t.Helper()
	e := event.New()
	e.SetID(eventID)
	e.SetSource("/webhooks/aghanim")
	e.SetType("com.aghanim." + eventType)
	e.SetSubject(playerID)
	if err := e.SetData("application/json", aghanimBody(eventType, eventID, playerID)); err != nil {
		t.Fatal(err)
	}
	msg, err := cloudevents.Encode(subject, &e)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// responderRun is the program running against a nats-server in a test.
type responderRun struct {
	nc   *nats.Conn     // a client of the same server
	out  *testio.Buffer // the program's output
	stop func() error
}

// startResponder runs the program against a fresh nats-server until stop is called or the test
// ends, and returns once its service answers PING.
func startResponder(t *testing.T, args ...string) *responderRun {
	t.Helper()
	ns := natstest.Start(t)
	out := &testio.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-nats", ns.URL()}, args...), out, out) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("run did not return after the context ended")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	nc := ns.Connect(t)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := nc.Request("$SRV.PING."+serviceName, nil, time.Second); err == nil {
			return &responderRun{nc: nc, out: out, stop: stop}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the responder did not start:\n%s", out)
		}
	}
}

func TestAnswers(t *testing.T) {
	r := startResponder(t)
	tests := []struct {
		name      string
		msg       *nats.Msg
		errorCode string // Nats-Service-Error-Code; "" for an answer
		answer    string
	}{
		{
			name:   "player.verify of a known player",
			msg:    asked(t, "webhooks-reply.aghanim.player.verify", "player.verify", "whevt_1", "2D2R-OP3C"),
			answer: `{"player_id":"2D2R-OP3C","name":"PlayerOne","attributes":{"country":"US","level":42,"vip":true}}`,
		},
		{
			name:   "player.lookup of a known player",
			msg:    asked(t, "webhooks-reply.aghanim.player.lookup", "player.lookup", "whevt_2", "7K1M-QX9A"),
			answer: `{"player_id":"7K1M-QX9A","name":"PlayerTwo","attributes":{"country":"DE","level":7,"vip":false}}`,
		},
		{
			name:      "player.verify of an unknown player is denied 404",
			msg:       asked(t, "webhooks-reply.aghanim.player.verify", "player.verify", "whevt_3", "NO-SUCH-PLAYER"),
			errorCode: "404",
			answer:    `{"error":"player not found"}`,
		},
		{
			name:   "store.get",
			msg:    asked(t, "webhooks-reply.aghanim.store.get", "store.get", "whevt_4", "2D2R-OP3C"),
			answer: `{"items":[{"sku":"gems_100","name":"100 Gems","price":99},{"sku":"gems_550","name":"550 Gems","price":499},{"sku":"starter_pack","name":"Starter Pack","price":299}]}`,
		},
		{
			name:   "a bare body, not a CloudEvent, is answered too",
			msg:    &nats.Msg{Subject: "webhooks-reply.aghanim.player.verify", Data: aghanimBody("player.verify", "whevt_5", "testplayer")},
			answer: `{"player_id":"testplayer","name":"Test Player","attributes":{"level":1,"vip":false}}`,
		},
		{
			name:      "a body that is not JSON is denied 400",
			msg:       &nats.Msg{Subject: "webhooks-reply.aghanim.player.verify", Data: []byte("not json")},
			errorCode: "400",
			answer:    `{"error":"body is not a JSON Aghanim webhook"}`,
		},
		{
			name:      "no player_id is denied 400",
			msg:       &nats.Msg{Subject: "webhooks-reply.aghanim.player.verify", Data: []byte(`{"event_type":"player.verify","event_data":{}}`)},
			errorCode: "400",
			answer:    `{"error":"event_data.player_id missing"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := r.nc.RequestMsg(tc.msg, 5*time.Second)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			if got := reply.Header.Get(micro.ErrorCodeHeader); got != tc.errorCode {
				t.Errorf("%s = %q, want %q", micro.ErrorCodeHeader, got, tc.errorCode)
			}
			if got := reply.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if string(reply.Data) != tc.answer {
				t.Errorf("answer %s\nwant   %s", reply.Data, tc.answer)
			}
		})
	}

	logs := r.out.String()
	if !strings.Contains(logs, "event_id=whevt_3") || !strings.Contains(logs, "outcome=denied") {
		t.Errorf("no log line per question:\n%s", logs)
	}
	if strings.Contains(logs, "2D2R-OP3C") || strings.Contains(logs, "PlayerOne") {
		t.Errorf("logs name a player:\n%s", logs)
	}
}

func TestServiceInfo(t *testing.T) {
	r := startResponder(t, "-reply-prefix", "questions", "-endpoint", "game-2")
	reply, err := r.nc.Request("$SRV.INFO."+serviceName, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(reply.Data, &info); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range info.Endpoints {
		got[e.Subject] = e.QueueGroup
	}
	for _, subject := range []string{"questions.game-2.player.verify", "questions.game-2.player.lookup", "questions.game-2.store.get"} {
		if qg, ok := got[subject]; !ok || qg != micro.DefaultQueueGroup {
			t.Errorf("endpoint %s: queue group %q, present %v (endpoints %v)", subject, qg, ok, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("endpoints %v, want 3", got)
	}
	msg := asked(t, "questions.game-2.player.verify", "player.verify", "whevt_1", "2D2R-OP3C")
	if reply, err := r.nc.RequestMsg(msg, 5*time.Second); err != nil || !bytes.Contains(reply.Data, []byte(`"name":"PlayerOne"`)) {
		t.Errorf("answer on the configured subject: %v %s", err, replyData(reply))
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"endpoint with a dot", []string{"-endpoint", "a.b"}, "-endpoint"},
		{"reply prefix with a wildcard", []string{"-reply-prefix", "webhooks-reply.*"}, "-reply-prefix"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	if err := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Errorf("-h: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	r := startResponder(t)
	if err := r.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(r.out.String(), "stopped") {
		t.Errorf("no stop line:\n%s", r.out)
	}
	// Stopped: its subjects have no responders any more.
	_, err := r.nc.Request("webhooks-reply.aghanim.player.verify", aghanimBody("player.verify", "whevt_1", "2D2R-OP3C"), time.Second)
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("after shutdown: %v, want no responders", err)
	}
}

func replyData(m *nats.Msg) []byte {
	if m == nil {
		return nil
	}
	return m.Data
}
