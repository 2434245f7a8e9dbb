package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/webhookbridge/bridge/providers"
)

// A webhook the load tool sends: one event, the same bytes on every retry.
type webhook struct {
	n    uint64
	body []byte
	// header identifies the event beside its proof (CentrePoint's delivery id), the same on
	// every retry; it replaces what Sign sets.
	header http.Header
	// msgID is the event's key in the stream: "<endpoint>:<CloudEvents id>" (its Nats-Msg-Id
	// where the id is signed).
	msgID string
}

// workload makes the events of one run from the provider's load profile: each unique (its id
// or, for providers whose id is the body's hash, a field carries the run id and the event's
// number), about size bytes long, in the shape the provider documents.
type workload struct {
	provider  *providers.Provider
	creds     providers.Credentials
	endpoint  string
	runID     string
	eventType string // after the provider's prefix; "" means the provider's default
	size      int
	filler    string
	// withMsgID computes each event's Nats-Msg-Id (a SHA-256 of the body for some providers),
	// needed only to verify the stream.
	withMsgID bool
}

func newWorkload(p *providers.Provider, creds providers.Credentials, endpoint, runID, eventType string, size int) (*workload, error) {
	if p.Load.Example == nil {
		return nil, fmt.Errorf("-provider %s: the provider declares no example webhooks for load", p.Name)
	}
	if eventType == "" {
		eventType = p.Load.DefaultType
	}
	if p.Load.Types != nil && !slices.Contains(p.Load.Types, eventType) {
		return nil, fmt.Errorf("-type %q: %s's types are %s", eventType, p.Name, strings.Join(p.Load.Types, ", "))
	}
	if strings.ContainsAny(eventType, "\"\\") {
		return nil, fmt.Errorf("-type %q: no quotes or backslashes", eventType)
	}
	return &workload{
		provider:  p,
		creds:     creds,
		endpoint:  endpoint,
		runID:     runID,
		eventType: eventType,
		size:      size,
		filler:    strings.Repeat("x", max(size, 0)),
	}, nil
}

// event builds event n of the run: the provider's example, padded to size with a filler field.
func (w *workload) event(n uint64, now time.Time) *webhook {
	ex := w.provider.Load.Example(w.eventType, w.runID, n, now)
	b := ex.Body
	const fillerField = `,"filler":""`
	if pad := w.size - len(b) - len(fillerField); pad > 0 && len(b) > 0 && b[len(b)-1] == '}' {
		padded := make([]byte, 0, w.size)
		padded = append(padded, b[:len(b)-1]...)
		padded = append(padded, `,"filler":"`...)
		padded = append(padded, w.filler[:pad]...)
		padded = append(padded, `"}`...)
		b = padded
	}
	ev := &webhook{n: n, body: b, header: ex.Header}
	if w.withMsgID {
		id := ex.ID
		if ex.IDFromBody != nil {
			id = ex.IDFromBody(b)
		}
		if id == "" {
			sum := sha256.Sum256(b)
			id = hex.EncodeToString(sum[:])
		}
		ev.msgID = w.endpoint + ":" + id
	}
	return ev
}

// sign returns the headers the provider sends with ev at now: signed afresh on every attempt,
// as a provider's retry is.
func (w *workload) sign(ev *webhook, now time.Time) (http.Header, error) {
	h, err := w.provider.Sign(w.creds, ev.body, now)
	if err != nil {
		return nil, err
	}
	for name, values := range ev.header {
		h[name] = values
	}
	return h, nil
}
