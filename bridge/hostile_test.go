package bridge_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/cloudevents"
)

// hostileLimit is http.max_body_bytes in these tests: small enough to send, large enough for
// 100,000 levels of nested JSON.
const hostileLimit = 256 << 10

// otherSecret is the secret of a second Aghanim endpoint, "aghanim-b" (another game).
const otherSecret = "secret-of-another-game"

// startHostile is a bridge with the test body limit and a second Aghanim endpoint.
func startHostile(t *testing.T) *harness {
	t.Helper()
	return startBridge(t, func(c *bridge.Config) {
		c.HTTP.MaxBodyBytes = hostileLimit
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{
			ID: "aghanim-b", Provider: "aghanim", Secrets: []string{otherSecret}, ReplyTimeout: time.Second,
		})
	})
}

// padded is a mappable Aghanim event of exactly size bytes.
func padded(id string, size int) []byte {
	head := fmt.Sprintf(`{"event_type":"item.purchased","event_id":%q,"pad":"`, id)
	return []byte(head + strings.Repeat("a", size-len(head)-2) + `"}`)
}

// hostileCase is one request that starts from a valid signed webhook and changes one thing.
type hostileCase struct {
	name     string
	endpoint string
	method   string
	header   http.Header
	body     io.Reader // nil: bytes.NewReader(rawBody)
	rawBody  []byte
	status   int
	// stored is the body the stream must hold afterwards (one new message with exactly these
	// bytes); nil means no new message.
	stored []byte
	// storedType, if set, is the CloudEvents type of the stored message.
	storedType string
	// storedContentType, if set, is its datacontenttype.
	storedContentType string
}

func TestHostileInput(t *testing.T) {
	h := startHostile(t)
	atLimit := padded("whevt_at_limit", hostileLimit)
	chunkedAtLimit := padded("whevt_chunked_at_limit", hostileLimit)
	overLimit := padded("whevt_over_limit", hostileLimit+1)
	event := func(id string) []byte {
		return []byte(`{"event_type":"item.purchased","event_id":"` + id + `","event_time":1725548450}`)
	}
	textPlain, ctParams, noCT := event("whevt_text_plain"), event("whevt_ct_params"), event("whevt_no_ct")
	validJSON := event("whevt_hostile") // never stored: every case with it is refused
	invalidUTF8 := []byte("{\"event_type\":\"item.purchased\",\"event_id\":\"whevt_utf8\",\"note\":\"\xff\xfe\xc3\x28 \xed\xa0\x80\"}")
	invalidUTF8ID := []byte("{\"event_type\":\"item.purchased\",\"event_id\":\"whevt_\xff\xfe\"}")
	binary := []byte("\xff\xfe\x00\x01\x80\x81\xc0\xc1 not JSON, not UTF-8 \xf5\xf6\xf7")
	deepArray := []byte(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000))
	deepInEvent := []byte(`{"event_type":"item.purchased","event_id":"whevt_deep","event_data":` +
		strings.Repeat(`[`, 100_000) + strings.Repeat(`]`, 100_000) + `}`)
	signed := func(secret string, body []byte) http.Header { return aghanimHeaders(secret, 1725548450, body) }
	with := func(hdr http.Header, name string, values ...string) http.Header {
		hdr[http.CanonicalHeaderKey(name)] = values
		return hdr
	}
	sig := func(body []byte) string { return signed(testSecret, body).Get("X-Aghanim-Signature") }

	tests := []hostileCase{
		// Body limit (docs/how-it-works.md: larger bodies 413).
		{name: "body exactly at the limit", rawBody: atLimit, header: signed(testSecret, atLimit), status: 200, stored: atLimit},
		{name: "body one byte over the limit", rawBody: overLimit, header: signed(testSecret, overLimit), status: 413},
		{name: "chunked body exactly at the limit", body: chunked(chunkedAtLimit), header: signed(testSecret, chunkedAtLimit), status: 200, stored: chunkedAtLimit},
		{name: "chunked body one byte over the limit", body: chunked(overLimit), rawBody: overLimit, header: signed(testSecret, overLimit), status: 413},
		{name: "chunked body far over the limit", body: chunked(padded("whevt_far_over", 4*hostileLimit)), header: signed(testSecret, padded("whevt_far_over", 4*hostileLimit)), status: 413},

		// Bodies that are authentic but odd are published byte for byte (docs/providers/, docs/how-it-works.md).
		{name: "invalid UTF-8 in a string", rawBody: invalidUTF8, header: signed(testSecret, invalidUTF8), status: 200, stored: invalidUTF8},
		{name: "invalid UTF-8 event id falls back to the body hash", rawBody: invalidUTF8ID, header: signed(testSecret, invalidUTF8ID), status: 200, stored: invalidUTF8ID},
		{name: "binary body, neither JSON nor UTF-8", rawBody: binary, header: signed(testSecret, binary), status: 200, stored: binary, storedType: "com.aghanim.unmapped"},
		{name: "100,000 levels of nested arrays", rawBody: deepArray, header: signed(testSecret, deepArray), status: 200, stored: deepArray, storedType: "com.aghanim.unmapped"},
		{name: "100,000 levels of nesting inside an event", rawBody: deepInEvent, header: signed(testSecret, deepInEvent), status: 200, stored: deepInEvent},
		{name: "Content-Type text/plain", rawBody: textPlain, header: with(signed(testSecret, textPlain), "Content-Type", "text/plain"), status: 200,
			stored: textPlain, storedType: "com.aghanim.item.purchased", storedContentType: "text/plain"},
		{name: "Content-Type with parameters and a quote", rawBody: ctParams, header: with(signed(testSecret, ctParams), "Content-Type", `text/plain; charset="utf-8"`), status: 200,
			stored: ctParams, storedContentType: `text/plain; charset="utf-8"`},
		{name: "no Content-Type", rawBody: noCT, header: without(signed(testSecret, noCT), "Content-Type"), status: 200,
			stored: noCT, storedContentType: "application/json"},
		{name: "empty body without a signature", header: http.Header{"Content-Type": {"application/json"}}, status: 403},
		{name: "empty body with a valid signature", rawBody: []byte{}, header: signed(testSecret, nil), status: 200, stored: []byte{}, storedType: "com.aghanim.unmapped"},

		// Proofs that must not pass (docs/how-it-works.md).
		{name: "two signature headers, one valid", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", strings.Repeat("0", 64), sig(validJSON)), status: 403},
		{name: "two signature headers, both valid", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", sig(validJSON), sig(validJSON)), status: 403},
		{name: "two timestamp headers", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature-Timestamp", "1725548450", "1725548451"), status: 403},
		{name: "signature one byte short", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", sig(validJSON)[:62]), status: 403},
		{name: "signature one byte long", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", sig(validJSON)+"00"), status: 403},
		{name: "signature of odd length", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", sig(validJSON)[:63]), status: 403},
		{name: "signature 10 KiB long", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", strings.Repeat(sig(validJSON), 160)), status: 403},
		{name: "signature not hex", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", strings.Repeat("zz", 32)), status: 403},
		{name: "signature in base64", rawBody: validJSON, header: with(signed(testSecret, validJSON), "X-Aghanim-Signature", hexToBase64(sig(validJSON))), status: 403},
		{name: "another endpoint's secret", endpoint: "aghanim-b", rawBody: validJSON, header: signed(testSecret, validJSON), status: 403},
		{name: "this endpoint's secret sent to the other endpoint", endpoint: "aghanim", rawBody: validJSON, header: signed(otherSecret, validJSON), status: 403},

		// Routes.
		{name: "unknown endpoint", endpoint: "nope", rawBody: validJSON, header: signed(testSecret, validJSON), status: 404},
		{name: "endpoint that differs in case", endpoint: "Aghanim", rawBody: validJSON, header: signed(testSecret, validJSON), status: 404},
		{name: "GET", method: http.MethodGet, header: http.Header{}, status: 405},
		{name: "PUT with a valid signature", method: http.MethodPut, rawBody: validJSON, header: signed(testSecret, validJSON), status: 405},
		{name: "DELETE", method: http.MethodDelete, header: http.Header{}, status: 405},
		{name: "PATCH with a valid signature", method: http.MethodPatch, rawBody: validJSON, header: signed(testSecret, validJSON), status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.endpoint == "" {
				tc.endpoint = "aghanim"
			}
			if tc.method == "" {
				tc.method = http.MethodPost
			}
			body := tc.body
			if body == nil {
				body = bytes.NewReader(tc.rawBody)
			}
			before := len(h.messages())
			req, err := http.NewRequest(tc.method, h.base+"/webhooks/"+tc.endpoint, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tc.header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.method, err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%.200s)", resp.StatusCode, tc.status, answer)
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("405 with Allow %q, want POST", resp.Header.Get("Allow"))
			}
			h.checkStored(t, before, tc)
		})
	}
	h.checkAlive(t)
}

// TestHostileConnections are requests a client library would not send, written on the wire.
func TestHostileConnections(t *testing.T) {
	h := startHostile(t)
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_wire","event_time":1725548450}`)
	hdr := aghanimHeaders(testSecret, 1725548450, body)
	signedHead := func(contentLength string) string {
		return "POST /webhooks/aghanim HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n" +
			"X-Aghanim-Signature-Timestamp: " + hdr.Get("X-Aghanim-Signature-Timestamp") + "\r\n" +
			"X-Aghanim-Signature: " + hdr.Get("X-Aghanim-Signature") + "\r\n" + contentLength + "\r\n"
	}
	tests := []struct {
		name       string
		raw        string
		closeWrite bool // the client half-closes after sending raw (it sends nothing more)
		status     int
		stored     []byte
	}{
		{"valid, for comparison", signedHead("Content-Length: "+strconv.Itoa(len(body))+"\r\n") + string(body), false, 200, body},
		{"Content-Length over the limit, short body: 413 before reading", signedHead("Content-Length: "+strconv.Itoa(hostileLimit+1)+"\r\n") + string(body), false, 413, nil},
		{"Content-Length shorter than the body: the signature covers more than was read", signedHead("Content-Length: "+strconv.Itoa(len(body)-10)+"\r\n") + string(body), false, 403, nil},
		{"Content-Length longer than the body, then EOF", signedHead("Content-Length: "+strconv.Itoa(len(body)+10)+"\r\n") + string(body), true, 400, nil},
		{"two different Content-Lengths", signedHead("Content-Length: "+strconv.Itoa(len(body))+"\r\nContent-Length: 5\r\n") + string(body), false, 400, nil},
		{"negative Content-Length", signedHead("Content-Length: -1\r\n") + string(body), false, 400, nil},
		{"chunked, a thousand small chunks over the limit", signedHead("Transfer-Encoding: chunked\r\n") + strings.Repeat("400\r\n"+strings.Repeat(" ", 1024)+"\r\n", hostileLimit/1024+1) + "0\r\n\r\n", false, 413, nil},
		{"chunk size over the limit, then EOF", signedHead("Transfer-Encoding: chunked\r\n") + fmt.Sprintf("%x\r\n", hostileLimit+1) + string(body), true, 400, nil},
		{"malformed chunk", signedHead("Transfer-Encoding: chunked\r\n") + "zz\r\n" + string(body) + "\r\n0\r\n\r\n", false, 400, nil},
		{"headers over 64 KiB in one header", signedHead("X-Pad: "+strings.Repeat("a", 100<<10)+"\r\n") + string(body), false, 431, nil},
		{"headers over 64 KiB in many headers", signedHead(strings.Repeat("X-Pad: "+strings.Repeat("a", 100)+"\r\n", 1000)) + string(body), false, 431, nil},
		{"headers of 60 KiB are allowed", signedHead("X-Pad: "+strings.Repeat("a", 60<<10)+"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n") + string(body), false, 200, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.messages())
			status, err := rawRequest(h.app.Addr(), tc.raw, tc.closeWrite)
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			// The valid request stores its event once; the same event after it is a duplicate.
			h.checkStored(t, before, hostileCase{stored: tc.stored})
		})
	}
	h.checkAlive(t)
}

// TestMissingProofRejection: each provider's own rejection code for a request with no proof of
// authenticity at all (docs/providers/), and for a proof that is garbage; nothing is published.
func TestMissingProofRejection(t *testing.T) {
	h := startHostile(t)
	body := []byte(`{"event":"verification.passed","event_type":"item.purchased","id":"x","data":{"domain":"example.com"}}`)
	tests := []struct {
		endpoint string
		status   int
		garbage  http.Header // the provider's proof header with a value that proves nothing
	}{
		{"altdentifier", 403, http.Header{"Digest": {"MD5=zz"}}},
		{"aghanim", 403, http.Header{"X-Aghanim-Signature-Timestamp": {"1725548450"}, "X-Aghanim-Signature": {"zz"}}},
		{"zignsec", 401, http.Header{"X-Zignsec-Hmac-Sha256": {"zz"}}},
		{"centrepoint", 401, http.Header{"X-Actigraph-Signature": {"zz"}}},
		{"usercheck", 401, http.Header{"X-Usercheck-Signature": {"zz"}}},
	}
	for _, tc := range tests {
		for _, proof := range []string{"missing", "garbage"} {
			t.Run(tc.endpoint+" "+proof, func(t *testing.T) {
				hdr := http.Header{"Content-Type": {"application/json"}}
				if tc.endpoint == "centrepoint" {
					hdr.Set("X-ActiGraph-Event", "upload") // an event, not the validation handshake
				}
				if proof == "garbage" {
					for k, v := range tc.garbage {
						hdr[k] = v
					}
				}
				before := len(h.messages())
				resp, answer := h.post(tc.endpoint, hdr, body)
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.status, answer)
				}
				h.checkStored(t, before, hostileCase{})
			})
		}
	}
}

// checkStored checks that the stream gained exactly what tc says: nothing, or one message whose
// data is tc.stored byte for byte.
func (h *harness) checkStored(t *testing.T, before int, tc hostileCase) {
	t.Helper()
	msgs := h.messages()
	added := msgs[before:]
	if tc.stored == nil {
		if len(added) > 0 {
			t.Errorf("%d messages published, want none (first on %s)", len(added), added[0].Subject)
		}
		return
	}
	if len(added) != 1 {
		t.Fatalf("%d messages published, want 1", len(added))
	}
	m := added[0]
	if !bytes.Equal(m.Data, tc.stored) {
		t.Errorf("data is not the body byte for byte (%d bytes, want %d)", len(m.Data), len(tc.stored))
	}
	ev, err := cloudevents.Decode(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
	if err != nil {
		t.Fatalf("stored message is no CloudEvent: %v", err)
	}
	if tc.storedType != "" && ev.Type() != tc.storedType {
		t.Errorf("type %q, want %q", ev.Type(), tc.storedType)
	}
	if tc.storedContentType != "" && ev.DataContentType() != tc.storedContentType {
		t.Errorf("datacontenttype %q, want %q", ev.DataContentType(), tc.storedContentType)
	}
	if msgID := m.Header.Get(jetstream.MsgIDHeader); msgID != "aghanim:"+ev.ID() {
		t.Errorf("Nats-Msg-Id %q, want aghanim:%s", msgID, ev.ID())
	}
	if !strings.HasPrefix(ev.ID(), "whevt_") || strings.ContainsFunc(ev.ID(), func(r rune) bool { return r > 0x7e }) {
		sum := sha256.Sum256(tc.stored)
		if want := hex.EncodeToString(sum[:]); ev.ID() != want {
			t.Errorf("id %q: not the provider's event id, and not the body's hash %s", ev.ID(), want)
		}
	}
}

// checkAlive checks the bridge still serves after the hostile requests.
func (h *harness) checkAlive(t *testing.T) {
	t.Helper()
	resp, err := http.Get(h.base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after hostile input: %v %v", resp, err)
	}
	resp.Body.Close()
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_still_alive"}`)
	if resp, answer := h.post("aghanim", aghanimHeaders(testSecret, 1, body), body); resp.StatusCode != http.StatusOK {
		t.Fatalf("a valid webhook after hostile input: %d %s", resp.StatusCode, answer)
	}
}

// chunked hides body's length, so the client sends it with Transfer-Encoding: chunked.
func chunked(body []byte) io.Reader { return io.MultiReader(bytes.NewReader(body)) }

func hexToBase64(h string) string {
	b, _ := hex.DecodeString(h)
	return base64.StdEncoding.EncodeToString(b)
}

// rawRequest writes raw on a new connection to addr (while reading, as the server may answer
// before it has read everything) and returns the status of the first answer.
func rawRequest(addr, raw string, closeWrite bool) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		if _, err := io.WriteString(conn, raw); err == nil && closeWrite {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
