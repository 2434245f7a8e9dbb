package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/webhookbridge/bridge/providers"
)

// A webhook the load tool sends: one event, the same bytes on every retry.
type webhook struct {
	n    uint64
	body []byte
	// delivery is CentrePoint's X-ActiGraph-Delivery, fixed for the event so a retry is the
	// same delivery (the provider's Sign would make a fresh one each time).
	delivery string
	// msgID is the Nats-Msg-Id the bridge gives the event: "<endpoint>:<CloudEvents id>".
	msgID string
}

// workload makes the events of one run: each unique (its id or, for providers whose id is the
// body's hash, a field carries the run id and the event's number), about size bytes long, in
// the shape the provider documents.
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

// defaultEventTypes is what each provider sends unless -type says otherwise.
var defaultEventTypes = map[string]string{
	"aghanim":      "player.update",
	"altdentifier": "verification.passed",
	"zignsec":      "session_updated",
	"centrepoint":  "upload",
	"usercheck":    "domain.flagged.spam",
}

// altDentifierOPs are AltDentifier's OP codes by event type (the provider's documentation).
var altDentifierOPs = map[string]int{
	"verification.started": 0,
	"verification.passed":  1,
	"verification.failed":  2,
	"verification.ignored": 3,
	"account.incorrect":    4,
	"test":                 5,
}

func newWorkload(p *providers.Provider, creds providers.Credentials, endpoint, runID, eventType string, size int) (*workload, error) {
	if _, ok := defaultEventTypes[p.Name]; !ok {
		return nil, fmt.Errorf("-provider %s: the load tool has no body for it", p.Name)
	}
	if eventType == "" {
		eventType = defaultEventTypes[p.Name]
	}
	if p.Name == "altdentifier" {
		if _, ok := altDentifierOPs[eventType]; !ok {
			return nil, fmt.Errorf("-type %q: AltDentifier's types are verification.started|passed|failed|ignored, account.incorrect, test", eventType)
		}
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

// event builds event n of the run.
func (w *workload) event(n uint64, now time.Time) *webhook {
	num := strconv.FormatUint(n, 10)
	tag := w.runID + "_" + num // unique across runs and events
	b := make([]byte, 0, w.size+64)
	ev := &webhook{n: n}
	var id string // the CloudEvents id the bridge will use, when it is not the body's hash
	switch w.provider.Name {
	case "aghanim":
		id = "whevt_load_" + tag
		b = append(b, `{"event_id":"`...)
		b = append(b, id...)
		b = append(b, `","event_type":"`...)
		b = append(b, w.eventType...)
		b = append(b, `","event_time":`...)
		b = strconv.AppendInt(b, now.Unix(), 10)
		b = append(b, `,"event_data":{"player_id":"load_player_`...)
		b = append(b, num...)
		b = append(b, `"},"sandbox":true,"game_id":"gm_loadgen"`...)
	case "altdentifier":
		b = append(b, `{"OP":`...)
		b = strconv.AppendInt(b, int64(altDentifierOPs[w.eventType]), 10)
		b = append(b, `,"method":"steam","member":{"id":"`...)
		b = append(b, num...)
		b = append(b, `","username":"load_`...)
		b = append(b, tag...)
		b = append(b, `","discriminator":"0001"},"guild":{"id":"372024042980638721","name":"Load Test"}`...)
	case "zignsec":
		b = append(b, `{"event":"`...)
		b = append(b, w.eventType...)
		b = append(b, `","id":"load-`...)
		b = append(b, tag...)
		b = append(b, `","relay_state":"loadgen","result":{"errors":[],"status":"Finished"}`...)
	case "centrepoint":
		ev.delivery = centrePointDelivery(w.runID, n)
		id = ev.delivery
		b = append(b, `{"status":"completed","uploadId":"`...)
		b = append(b, num...)
		b = append(b, `","subjectId":"load_`...)
		b = append(b, tag...)
		b = append(b, `","studyId":"189","firstEpochUTC":"2016-06-14T20:46:00.0000000","lastEpochUTC":"2016-06-14T20:47:00.0000000"`...)
	case "usercheck":
		b = append(b, `{"event":"`...)
		b = append(b, w.eventType...)
		b = append(b, `","created_at":"`...)
		b = now.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, `","data":{"domain":"load-`...)
		b = append(b, strings.ReplaceAll(tag, "_", "-")...)
		b = append(b, `.example.org"}`...)
	}
	// Pad to size with a filler field, the last one, then close the object.
	const fillerField = `,"filler":""}`
	pad := w.size - len(b) - len(fillerField)
	if pad > 0 {
		b = append(b, `,"filler":"`...)
		b = append(b, w.filler[:pad]...)
		b = append(b, `"}`...)
	} else {
		b = append(b, '}')
	}
	ev.body = b
	if w.withMsgID {
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
	if w.provider.Name == "centrepoint" {
		h.Set("X-ActiGraph-Delivery", ev.delivery)
		h.Set("X-ActiGraph-Event", w.eventType)
	}
	return h, nil
}

// centrePointDelivery is a GUID-shaped delivery id made of the run id and the event's number,
// so it is unique and its prefix names the run.
func centrePointDelivery(runID string, n uint64) string {
	r := (runID + "000000000000")[:12]
	return fmt.Sprintf("%s-%s-4000-8000-%012x", r[:8], r[8:12], n)
}
