package bridge_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
)

// centrePointHeaders signs body as CentrePoint documents its HMAC scheme: X-ActiGraph-Signature
// = padded base64 HMAC-SHA256(secret, raw body). The event name and delivery id are not signed.
func centrePointHeaders(secret, event, delivery string, body []byte) http.Header {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return http.Header{
		"Content-Type":          {"application/json"},
		"X-Actigraph-Signature": {base64.StdEncoding.EncodeToString(m.Sum(nil))},
		"X-Actigraph-Event":     {event},
		"X-Actigraph-Delivery":  {delivery},
	}
}

// replayStep is one request of a replay: the genuine one, or a capture of it with one change.
type replayStep struct {
	name     string
	endpoint string
	header   http.Header
	body     string
	status   int
	added    int // new messages in the stream: 1 for the genuine request, else 0 (or 1 where said)
}

// TestOneCapturedDeliveryStaysOneEvent: each case sends a genuine request, then resends it
// with a change its signature does not cover; no change makes a new message, except that an
// unsigned type header can relabel the body once per type. An honest request follows each.
func TestOneCapturedDeliveryStaysOneEvent(t *testing.T) {
	h := startBridge(t, nil)
	cpBody := `{"subjectId":"S-1","status":"completed","file":"a.gt3x"}`
	ghBody := `{"action":"opened","number":7}`
	ucBody := `{"event":"domain.flagged.disposable","data":{"domain":"victim.example"}}`
	ucSig := userCheckHeaders(testSecret, []byte(ucBody))
	agBody := `{"event_type":"player.update","event_id":"whevt_moved"}`
	tests := []struct {
		name  string
		steps []replayStep
	}{
		{"CentrePoint: another delivery id is a duplicate", []replayStep{
			{"genuine", "centrepoint", centrePointHeaders(testSecret, "upload", "0b9e5c5e-0000-4000-8000-000000000001", []byte(cpBody)), cpBody, 200, 1},
			{"new delivery id", "centrepoint", centrePointHeaders(testSecret, "upload", "0b9e5c5e-0000-4000-8000-000000000002", []byte(cpBody)), cpBody, 200, 0},
			{"no delivery id", "centrepoint", centrePointHeaders(testSecret, "upload", "", []byte(cpBody)), cpBody, 200, 0},
			{"another event name: one message for that type", "centrepoint", centrePointHeaders(testSecret, "raw_processing_complete", "x", []byte(cpBody)), cpBody, 200, 1},
			{"that type again with another id", "centrepoint", centrePointHeaders(testSecret, "raw_processing_complete", "y", []byte(cpBody)), cpBody, 200, 0},
		}},
		{"GitHub: another X-GitHub-Delivery is a duplicate", []replayStep{
			{"genuine", "hmac", githubHeaders(testSecret, "pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", []byte(ghBody)), ghBody, 200, 1},
			{"new delivery id", "hmac", githubHeaders(testSecret, "pull_request", "forged-1", []byte(ghBody)), ghBody, 200, 0},
			{"another new delivery id", "hmac", githubHeaders(testSecret, "pull_request", "forged-2", []byte(ghBody)), ghBody, 200, 0},
		}},
		{"UserCheck: white space a re-encoding erases is a duplicate", []replayStep{
			{"genuine", "usercheck", ucSig, ucBody, 200, 1},
			{"spaces added", "usercheck", ucSig, `{ "event": "domain.flagged.disposable", "data": { "domain": "victim.example" } }`, 200, 0},
			{"escapes added", "usercheck", ucSig, `{"event":"domain.flagged.disposable","data":{"domain":"victim\u002eexample"}}`, 200, 0},
			{"a repeated key relabelling the subject is refused", "usercheck", ucSig, `{"event":"domain.flagged.disposable","data":{"domain":"evil.example","domain":"victim.example"}}`, 401, 0},
		}},
		{"Aghanim: body bytes moved into the timestamp are refused", []replayStep{
			{"genuine", "aghanim", aghanimHeaders(testSecret, 1725548450, []byte(agBody)), agBody, 200, 1},
			{"ts.P with body Q", "aghanim", movedTimestamp(aghanimHeaders(testSecret, 1725548450, []byte(agBody)), `{"event_type":"player`), `update","event_id":"whevt_moved"}`, 403, 0},
		}},
	}
	n := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range tc.steps {
				before := len(h.messages())
				resp, answer := h.post(step.endpoint, step.header, []byte(step.body))
				if resp.StatusCode != step.status {
					t.Fatalf("%s: status %d %s, want %d", step.name, resp.StatusCode, answer, step.status)
				}
				if added := len(h.messages()) - before; added != step.added {
					t.Errorf("%s: %d new messages, want %d", step.name, added, step.added)
				}
				n++
				h.honest(t, "whevt_after_replay_"+strconv.Itoa(n))
			}
		})
	}
}

// movedTimestamp is a captured Aghanim request whose timestamp header has the start of the body
// appended after a dot: "{ts}.{P}" with body Q signs the same bytes as "{ts}" with body "P.Q".
func movedTimestamp(h http.Header, p string) http.Header {
	out := h.Clone()
	out.Set("X-Aghanim-Signature-Timestamp", h.Get("X-Aghanim-Signature-Timestamp")+"."+p)
	return out
}
