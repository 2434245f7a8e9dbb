package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/cloudevents"
)

// The answers Aghanim expects to its synchronous webhooks (docs/providers/aghanim.md, "Synchronous answers"):
// player.verify and player.lookup are answered 2xx with {player_id, name, attributes, …}, or a
// 4xx to deny; store.get with {items:[{sku, …}]}. The bridge answers a plain reply 200 with its
// body and Content-Type, and a micro error reply (Request.Error, which sets
// Nats-Service-Error-Code) with that code as the HTTP status (docs/providers/).

// player is the answer to player.verify and player.lookup.
type player struct {
	PlayerID   string         `json:"player_id"`
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes"`
}

// item is one entry of the answer to store.get.
type item struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Price int    `json:"price"` // in cents
}

// demoPlayers are the players this example knows: PlayerOne of Aghanim's documented example
// (docs/providers/aghanim.md) and "testplayer" of their documented test request (Aghanim's webhook documentation).
var demoPlayers = []player{
	{PlayerID: "2D2R-OP3C", Name: "PlayerOne", Attributes: map[string]any{"level": 42, "vip": true, "country": "US"}},
	{PlayerID: "7K1M-QX9A", Name: "PlayerTwo", Attributes: map[string]any{"level": 7, "vip": false, "country": "DE"}},
	{PlayerID: "testplayer", Name: "Test Player", Attributes: map[string]any{"level": 1, "vip": false}},
}

// demoStore is what store.get answers, for every player.
var demoStore = []item{
	{SKU: "gems_100", Name: "100 Gems", Price: 99},
	{SKU: "gems_550", Name: "550 Gems", Price: 499},
	{SKU: "starter_pack", Name: "Starter Pack", Price: 299},
}

// aghanimResponder answers from static tables; it holds no state that changes.
type aghanimResponder struct {
	log     zerolog.Logger
	players map[string]player
	items   []item
}

func newAghanimResponder(log zerolog.Logger) *aghanimResponder {
	r := &aghanimResponder{log: log, players: map[string]player{}, items: demoStore}
	for _, p := range demoPlayers {
		r.players[p.PlayerID] = p
	}
	return r
}

// question is one event type the responder answers, and its handler.
type question struct {
	eventType string // Aghanim's event_type: the last tokens of the subject asked on
	handler   micro.Handler
}

func (r *aghanimResponder) questions() []question {
	return []question{
		{"player.verify", r.handle(r.player)},
		{"player.lookup", r.handle(r.player)},
		{"store.get", r.handle(r.store)},
	}
}

// webhook is the part of an Aghanim webhook body the answers need.
type webhook struct {
	EventType string `json:"event_type"`
	EventData struct {
		PlayerID string `json:"player_id"`
	} `json:"event_data"`
}

// reply is an answer or, with a code, a denial the bridge answers with that HTTP status.
type reply struct {
	code        string // "" answers 200; else an HTTP status such as "404"
	description string // why it was denied: the Nats-Service-Error header, not the HTTP body
	body        any    // the HTTP body, as JSON
}

func deny(code, description string) reply {
	return reply{code: code, description: description, body: map[string]string{"error": description}}
}

func (r *aghanimResponder) player(w webhook) reply {
	if w.EventData.PlayerID == "" {
		return deny("400", "event_data.player_id missing")
	}
	p, ok := r.players[w.EventData.PlayerID]
	if !ok {
		return deny("404", "player not found")
	}
	return reply{body: p}
}

func (r *aghanimResponder) store(webhook) reply {
	return reply{body: map[string][]item{"items": r.items}}
}

// handle turns an answer function into a micro handler: it reads the question, sends the reply
// and logs one line (never the body: it names players).
func (r *aghanimResponder) handle(answer func(webhook) reply) micro.HandlerFunc {
	return func(req micro.Request) {
		start := time.Now()
		fields := r.log.With()
		// The question is the CloudEvent the bridge published: ce-* headers, and the raw webhook
		// body as its data. A bare body (e.g. from `nats req`) is answered too.
		ev, err := cloudevents.Decode(&nats.Msg{Subject: req.Subject(), Header: nats.Header(req.Headers()), Data: req.Data()})
		if err == nil {
			fields = fields.Str("event_id", ev.ID()).Str("type", ev.Type())
		} else {
			fields = fields.Str("subject", req.Subject()).Str("cloudevent", err.Error())
		}
		log := fields.Logger()

		var w webhook
		var rep reply
		if err := json.Unmarshal(req.Data(), &w); err != nil {
			rep = deny("400", "body is not a JSON Aghanim webhook")
		} else {
			rep = answer(w)
		}
		e := log.Info()
		if err := send(req, rep); err != nil {
			e = log.Error().Err(err)
		}
		if rep.code == "" {
			e.Str("outcome", "answered")
		} else {
			e.Str("outcome", "denied").Str("code", rep.code).Str("reason", rep.description)
		}
		e.Dur("latency_ms", time.Since(start)).Msg("question")
	}
}

// send replies with rep.body as JSON: a plain reply, or a micro error reply carrying the code.
func send(req micro.Request, rep reply) error {
	data, err := json.Marshal(rep.body)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	header := micro.WithHeaders(micro.Headers{"Content-Type": {"application/json"}})
	if rep.code == "" {
		return req.Respond(data, header)
	}
	return req.Error(rep.code, rep.description, data, header)
}
