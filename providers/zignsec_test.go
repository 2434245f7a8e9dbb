package providers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ZignSec's "Webhooks" documentation (docs.zignsec.com): X-ZignSec-Hmac-SHA256 carries either
// HMAC-SHA256(secret, raw body) — base64 in its C# sample, hex in production receivers —
// or, for the session/workflow API, "t=<timestamp>,v1=<hex>" with the hex
// HMAC-SHA256(secret, "{t}.{raw body}").

const (
	zignSecTestSecret = "zignsec-test-secret"
	zignSecTestTime   = "1729585601"
)

// zignSecMAC is HMAC-SHA256(secret, parts concatenated).
func zignSecMAC(secret string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// zignSecLegacyBase64 is the legacy header as the documentation's C# sample writes it:
// Convert.ToBase64String(new HMACSHA256(secret).ComputeHash(body)).
func zignSecLegacyBase64(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(zignSecMAC(secret, string(body)))
}

// zignSecLegacyHex is the legacy MAC in lower-case hex, as production receivers compare it.
func zignSecLegacyHex(secret string, body []byte) string {
	return hex.EncodeToString(zignSecMAC(secret, string(body)))
}

// zignSecSessionHeader is the newer header for one signature.
func zignSecSessionHeader(secret, ts string, body []byte) string {
	return "t=" + ts + ",v1=" + zignSecSessionSig(secret, ts, body)
}

// zignSecSessionSig is the hex v1 signature over "{t}.{raw body}".
func zignSecSessionSig(secret, ts string, body []byte) string {
	return hex.EncodeToString(zignSecMAC(secret, ts, ".", string(body)))
}

func TestZignSecDeclaration(t *testing.T) {
	// "Your endpoint should return a 2xx HTTP status code"; 401 for a bad or missing proof.
	checkDeclaration(t, ZignSec, "zignsec", "com.zignsec", http.StatusOK, http.StatusUnauthorized)
}

func TestZignSecAuthenticate(t *testing.T) {
	legacyBody := providerPayload(t, "zignsec", "identification_result.json")
	sessionBody := providerPayload(t, "zignsec", "session_updated.json")
	sessionSig := zignSecSessionSig(zignSecTestSecret, zignSecTestTime, sessionBody)
	// A genuine XML body "P.Q" (its declaration's version="1.0") with P moved into t: the same
	// signed bytes, "{t}.{P}.{Q}", and the body Q a new event if t could hold it.
	xmlBody := providerPayload(t, "zignsec", "sms_status.xml")
	movedT, movedBody := moveIntoTimestamp(t, zignSecTestTime, xmlBody)
	movedSig := zignSecSessionSig(zignSecTestSecret, zignSecTestTime, xmlBody)
	if zignSecSessionSig(zignSecTestSecret, movedT, movedBody) != movedSig {
		t.Fatal("the moved bytes do not sign the same")
	}
	// signedAt is the session header for a timestamp other than digits, signed right: only the
	// timestamp rule can refuse it.
	signedAt := func(ts string) string { return zignSecSessionHeader(zignSecTestSecret, ts, sessionBody) }

	// The common cases start from a session/workflow webhook; the legacy form, which shares its
	// header, has its own cases below.
	valid := Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: sessionBody}
	valid.Header.Set(ZignSecSignatureHeader, zignSecSessionHeader(zignSecTestSecret, zignSecTestTime, sessionBody))
	cases := commonAuthCases(proofSpec{
		header:      ZignSecSignatureHeader,
		otherSecret: "another-secret",
		undecodable: "not a signature!", // neither a session value nor a legacy MAC in hex or base64
		tamper:      func(b []byte) []byte { return []byte(strings.Replace(string(b), "Finished", "Failed", 1)) },
	})
	cases = append(cases, []authCase{
		// Legacy v2 eID webhooks.
		{name: "legacy: base64 (the documented sample)", modify: zignSecAs(legacyBody, zignSecLegacyBase64(zignSecTestSecret, legacyBody))},
		{name: "legacy: base64 without padding", modify: zignSecAs(legacyBody, strings.TrimRight(zignSecLegacyBase64(zignSecTestSecret, legacyBody), "="))},
		{name: "legacy: lower-case hex", modify: zignSecAs(legacyBody, zignSecLegacyHex(zignSecTestSecret, legacyBody))},
		{name: "legacy: upper-case hex", modify: zignSecAs(legacyBody, strings.ToUpper(zignSecLegacyHex(zignSecTestSecret, legacyBody)))},
		{name: "legacy: rotation, second secret matches", modify: zignSecAs(legacyBody, zignSecLegacyBase64(zignSecTestSecret, legacyBody)), creds: secrets("old-secret", zignSecTestSecret)},
		{name: "legacy: tampered body", modify: zignSecAs([]byte(strings.Replace(string(legacyBody), "LARS", "LASSE", 1)), zignSecLegacyBase64(zignSecTestSecret, legacyBody)), wantErr: ErrBadSignature},
		{name: "legacy: wrong secret", modify: zignSecAs(legacyBody, zignSecLegacyHex("another-secret", legacyBody)), wantErr: ErrBadSignature},
		{name: "legacy: truncated hex", modify: zignSecAs(legacyBody, zignSecLegacyHex(zignSecTestSecret, legacyBody)[:62]), wantErr: ErrBadSignature},
		{name: "legacy: duplicate header", modify: zignSecAs(legacyBody, zignSecLegacyHex("x", legacyBody), zignSecLegacyHex(zignSecTestSecret, legacyBody)), wantErr: ErrMalformedProof},

		// Session/workflow API.
		{name: "session: several v1, the second matches", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v1="+zignSecSessionSig("their-old-secret", zignSecTestTime, sessionBody)+",v1="+sessionSig)},
		{name: "session: upper-case hex", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v1="+strings.ToUpper(sessionSig))},
		{name: "session: v1 before t, spaces after commas", modify: zignSecAs(sessionBody, "v1="+sessionSig+", t="+zignSecTestTime)},
		{name: "session: unknown elements are ignored", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v0=abc,v1="+sessionSig)},
		{name: "session: an old timestamp is accepted (retries last 48 hours)", modify: zignSecAs(sessionBody, zignSecSessionHeader(zignSecTestSecret, "1000000000", sessionBody))},
		{name: "session: timestamp changed", modify: zignSecAs(sessionBody, "t=1729585602,v1="+sessionSig), wantErr: ErrBadSignature},
		{name: "session: MAC of the body alone", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v1="+zignSecLegacyHex(zignSecTestSecret, sessionBody)), wantErr: ErrBadSignature},
		{name: "session: genuine XML body, bytes not moved", modify: zignSecAs(xmlBody, "t="+zignSecTestTime+",v1="+movedSig)},
		{name: "session: bytes moved from the body into t", modify: zignSecAs(movedBody, "t="+movedT+",v1="+movedSig), wantErr: ErrMalformedProof},
		{name: "session: t with a sign", modify: zignSecAs(sessionBody, signedAt("+"+zignSecTestTime)), wantErr: ErrMalformedProof},
		{name: "session: t negative", modify: zignSecAs(sessionBody, signedAt("-1")), wantErr: ErrMalformedProof},
		{name: "session: t with a space inside", modify: zignSecAs(sessionBody, signedAt("1729 585601")), wantErr: ErrMalformedProof},
		{name: "session: t with a letter", modify: zignSecAs(sessionBody, signedAt("12a")), wantErr: ErrMalformedProof},
		{name: "session: t with a fraction", modify: zignSecAs(sessionBody, signedAt(zignSecTestTime+".5")), wantErr: ErrMalformedProof},
		{name: "session: t of 20 digits", modify: zignSecAs(sessionBody, signedAt("17295856011729585601")), wantErr: ErrMalformedProof},
		{name: "session: t empty, signed as empty", modify: zignSecAs(sessionBody, signedAt("")), wantErr: ErrMalformedProof},
		{name: "session: t of 19 digits", modify: zignSecAs(sessionBody, signedAt("1729585601172958560"))},
		{name: "session: t missing", modify: zignSecAs(sessionBody, "v1="+sessionSig), wantErr: ErrMalformedProof},
		{name: "session: t empty", modify: zignSecAs(sessionBody, "t=,v1="+sessionSig), wantErr: ErrMalformedProof},
		{name: "session: t twice", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",t="+zignSecTestTime+",v1="+sessionSig), wantErr: ErrMalformedProof},
		{name: "session: v1 not hex", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v1="+base64.StdEncoding.EncodeToString(zignSecMAC(zignSecTestSecret, zignSecTestTime, ".", string(sessionBody)))), wantErr: ErrMalformedProof},
		{name: "session: one bad v1 among good ones", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v1="+sessionSig+",v1=xyz"), wantErr: ErrMalformedProof},
		{name: "session: element without =", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",v1="+sessionSig+",garbage"), wantErr: ErrMalformedProof},
		{name: "session: v1= only inside another key", modify: zignSecAs(sessionBody, "t="+zignSecTestTime+",xv1="+sessionSig), wantErr: ErrMalformedProof},
	}...)
	runAuthCases(t, ZignSec, valid, Credentials{Secrets: []string{zignSecTestSecret}}, cases)
}

// zignSecAs returns a request change that sends body with these values of X-ZignSec-Hmac-SHA256
// (none: the header is absent).
func zignSecAs(body []byte, values ...string) func(r *Request) {
	return func(r *Request) {
		r.Body = body
		r.Header.Del(ZignSecSignatureHeader)
		for _, v := range values {
			r.Header.Add(ZignSecSignatureHeader, v)
		}
	}
}

// TestZignSecTimestampTolerance: with timestamp_tolerance set, t further than it from the time
// of receipt, either way, is stale, and a legacy signature, which has no timestamp, is refused as
// stale too; unset, any age passes (ZignSec retries for 48 hours with the original signature).
func TestZignSecTimestampTolerance(t *testing.T) {
	body := providerPayload(t, "zignsec", "session_updated.json")
	received := time.Unix(1729585601, 0)
	at := func(d time.Duration) string { return strconv.FormatInt(received.Add(d).Unix(), 10) }
	session := func(d time.Duration) string { return zignSecSessionHeader(zignSecTestSecret, at(d), body) }
	tests := []struct {
		name      string
		tolerance time.Duration // 0: unset
		header    string
		wantErr   error
	}{
		{name: "unset: 47 hours old", header: session(-47 * time.Hour)},
		{name: "unset: a day ahead", header: session(24 * time.Hour)},
		{name: "unset: legacy", header: zignSecLegacyBase64(zignSecTestSecret, body)},
		{name: "1h: now", tolerance: time.Hour, header: session(0)},
		{name: "1h: an hour old", tolerance: time.Hour, header: session(-time.Hour)},
		{name: "1h: an hour ahead", tolerance: time.Hour, header: session(time.Hour)},
		{name: "1h: an hour and a second old", tolerance: time.Hour, header: session(-time.Hour - time.Second), wantErr: ErrStaleTimestamp},
		{name: "1h: an hour and a second ahead", tolerance: time.Hour, header: session(time.Hour + time.Second), wantErr: ErrStaleTimestamp},
		{name: "1h: legacy base64, no timestamp to judge", tolerance: time.Hour, header: zignSecLegacyBase64(zignSecTestSecret, body), wantErr: ErrStaleTimestamp},
		{name: "1h: legacy hex, no timestamp to judge", tolerance: time.Hour, header: zignSecLegacyHex(zignSecTestSecret, body), wantErr: ErrStaleTimestamp},
		{name: "1h: legacy, wrong secret", tolerance: time.Hour, header: zignSecLegacyHex("another-secret", body), wantErr: ErrBadSignature},
		{name: "1h: old and wrongly signed", tolerance: time.Hour, header: zignSecSessionHeader("another-secret", at(-2*time.Hour), body), wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := map[string]any{}
			if tt.tolerance != 0 {
				settings["timestamp_tolerance"] = tt.tolerance
			}
			configured, err := ZignSec.Configure("eid", Credentials{}, settingsOf(settings))
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(ZignSecSignatureHeader, tt.header)
			_, err = ZignSec.Verify(Request{Header: h, Body: body, Received: received}, Credentials{Secrets: []string{zignSecTestSecret}, Settings: configured.Value})
			checkAuthError(t, err, tt.wantErr)
		})
	}
}

func TestZignSecConfigure(t *testing.T) {
	if !slices.Contains(ZignSec.SettingKeys, "timestamp_tolerance") {
		t.Errorf("SettingKeys %v lack timestamp_tolerance", ZignSec.SettingKeys)
	}
	for name, tolerance := range map[string]time.Duration{"zero": 0, "negative": -time.Minute} {
		_, err := ZignSec.Configure("eid", Credentials{}, settingsOf(map[string]any{"timestamp_tolerance": tolerance}))
		if err == nil || !strings.HasPrefix(err.Error(), "timestamp_tolerance: ") {
			t.Errorf("%s tolerance: %v, want an error naming timestamp_tolerance", name, err)
		}
	}
}

func TestZignSecMap(t *testing.T) {
	const (
		identification = "61d300c2-cff8-4dc1-9abc-6d59f8876d32"
		session        = "8b2d1c3e-7f4a-4c21-9d0e-2a6b5f1c9e77"
		workflow       = "3f9a0b1c-5d6e-4f70-8a9b-c0d1e2f3a4b5"
		sms            = "5a1f7c2e-9b3d-4e8f-a0c6-d2b4e6f8a1c3"
	)
	cases := []struct {
		name     string
		body     []byte
		wantType string // "": unmappable
		subject  string
	}{
		{"legacy identification result (documented example)", providerPayload(t, "zignsec", "identification_result.json"), "identification.completed", identification},
		{"session_created", providerPayload(t, "zignsec", "session_created.json"), "session_created", session},
		{"Session_Created, capitalised", providerPayload(t, "zignsec", "session_created_capitalised.json"), "session_created", session},
		{"session_updated", providerPayload(t, "zignsec", "session_updated.json"), "session_updated", session},
		{"workflow_session_created", providerPayload(t, "zignsec", "workflow_session_created.json"), "workflow_session_created", workflow},
		{"workflow_session_state_updated without id: workflow_session_id", providerPayload(t, "zignsec", "workflow_session_state_updated.json"), "workflow_session_state_updated", workflow},
		{"SMS status change", providerPayload(t, "zignsec", "sms_status.json"), "sms.status_changed", sms},
		{"SMS status change, capitalised keys", []byte(`{"Id":"` + sms + `","Status":"Sent"}`), "sms.status_changed", sms},
		{"SMS status as an object", []byte(`{"id":"` + sms + `","status":{"code":2,"text":"Delivered"}}`), "sms.status_changed", sms},
		{"event with a numeric id", []byte(`{"event":"session_updated","id":4711}`), "session_updated", "4711"},
		{"event with id and workflow_session_id: id", []byte(`{"event":"Workflow_Session_Created","id":"a","workflow_session_id":"b"}`), "workflow_session_created", "a"},
		{"event without any id", []byte(`{"event":"session_updated"}`), "session_updated", ""},
		{"legacy result with only method and id", []byte(`{"method":"sbid-another","id":"x"}`), "identification.completed", "x"},
		{"legacy result with status too is an identification", []byte(`{"identity":{},"status":"Finished","id":"x"}`), "identification.completed", "x"},
		{"status without id", []byte(`{"status":"Delivered"}`), "", ""},
		{"status null", []byte(`{"id":"x","status":null}`), "", ""},
		{"only an id", []byte(`{"id":"x"}`), "", ""},
		{"empty event and nothing else", []byte(`{"event":"","id":"x"}`), "", ""},
		{"event not a string", []byte(`{"event":7,"id":"x"}`), "", ""},
		{"event null", []byte(`{"event":null,"id":"x","status":"Sent"}`), "sms.status_changed", "x"},
		{"keys in any case", []byte(`{"EVENT":"Session_Updated","iD":"a","WORKFLOW_SESSION_ID":"b"}`), "session_updated", "a"},
		{"BankIDSE in another case", []byte(`{"bankidse":{"signature":"x"},"ID":"y"}`), "identification.completed", "y"},
		{"the last event wins, whatever its case", []byte(`{"event":"session_created","Event":"session_updated"}`), "session_updated", ""},
		// json.Unmarshal failed on the first of these events; scanFieldsFold sees only the last.
		{"a repeated event: the last wins", []byte(`{"event":7,"Event":"session_updated","id":"x"}`), "session_updated", "x"},
		{"JSON null", []byte(`null`), "", ""},
		{"not JSON", []byte(`event=session_created`), "", ""},
		{"empty object", []byte(`{}`), "", ""},
		{"JSON array", []byte(`[{"event":"session_created"}]`), "", ""},
		{"empty body", nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ZignSec.Map(Request{Header: http.Header{}, Body: tc.body})
			if tc.wantType == "" {
				if !errors.Is(err, ErrUnmappable) {
					t.Fatalf("Map = %+v, %v; want ErrUnmappable", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			// ID is always empty: ZignSec's id names a session or an SMS that sends many events,
			// so the bridge identifies each event by the hash of its body.
			want := Event{Type: tc.wantType, Subject: tc.subject}
			if ev != want {
				t.Fatalf("Map = %+v, want %+v", ev, want)
			}
		})
	}
}

// zignSecXMLPayload reads one of the XML twins of the JSON payloads: the same webhooks as ZignSec
// says it can also send them ("event data can be stored in JSON or XML formats"), written the way
// .NET's serialisers write XML (declaration, indentation, xsi:nil, a default namespace).
func zignSecXMLPayload(t testing.TB, name string) []byte {
	t.Helper()
	return providerPayload(t, "zignsec", name+".xml")
}

func TestZignSecMapXML(t *testing.T) {
	const (
		identification = "61d300c2-cff8-4dc1-9abc-6d59f8876d32"
		session        = "8b2d1c3e-7f4a-4c21-9d0e-2a6b5f1c9e77"
		workflow       = "3f9a0b1c-5d6e-4f70-8a9b-c0d1e2f3a4b5"
		sms            = "5a1f7c2e-9b3d-4e8f-a0c6-d2b4e6f8a1c3"
		sessionBody    = `<webhook><event>session_created</event><id>` + session + `</id></webhook>`
	)
	cases := []struct {
		name        string
		contentType string
		body        []byte
		wantType    string // "": unmappable
		subject     string
	}{
		// The documented payloads as XML.
		{"identification result (documented example)", "application/xml", zignSecXMLPayload(t, "identification_result"), "identification.completed", identification},
		{"session_created", "application/xml", zignSecXMLPayload(t, "session_created"), "session_created", session},
		{"capitalised elements, default namespace, utf-16 declaration", "application/xml", zignSecXMLPayload(t, "session_created_capitalised"), "session_created", session},
		{"id nil: workflow_session_id; result/status is no direct child", "application/xml", zignSecXMLPayload(t, "workflow_session_state_updated"), "workflow_session_state_updated", workflow},
		{"SMS status change", "application/xml", zignSecXMLPayload(t, "sms_status"), "sms.status_changed", sms},

		// How a body is known to be XML.
		{"Content-Type text/xml", "text/xml", []byte(sessionBody), "session_created", session},
		{"Content-Type with charset", "application/xml; charset=utf-8", []byte(sessionBody), "session_created", session},
		{"Content-Type upper case", "Text/XML", []byte(sessionBody), "session_created", session},
		{"white space then < under application/json", "application/json", []byte(" \r\n\t" + sessionBody), "session_created", session},
		{"no Content-Type, starts with <", "", []byte(sessionBody), "session_created", session},
		{"UTF-8 byte order mark then <", "application/json", []byte("\xef\xbb\xbf" + sessionBody), "session_created", session},
		{"JSON under application/xml is malformed XML", "application/xml", []byte(`{"event":"session_created","id":"x"}`), "", ""},
		{"+xml is not XML unless it starts with <", "application/soap+xml", []byte(`{"event":"session_created","id":"x"}`), "session_created", "x"},

		// Names and values.
		{"capitalised <Event> and <ID>", "application/xml", []byte(`<Root><Event>Session_Updated</Event><ID>` + session + `</ID></Root>`), "session_updated", session},
		{"prefixed elements: the local name counts", "application/xml", []byte(`<z:w xmlns:z="urn:z"><z:event>session_updated</z:event><z:id>a</z:id></z:w>`), "session_updated", "a"},
		{"indented text is trimmed", "application/xml", []byte("<w>\n  <event>\n    session_updated\n  </event>\n  <id>\n    a\n  </id>\n</w>"), "session_updated", "a"},
		{"CDATA and entities", "application/xml", []byte(`<w><event><![CDATA[session_updated]]></event><id>a&amp;b</id></w>`), "session_updated", "a&b"},
		{"numeric id", "application/xml", []byte(`<w><event>session_updated</event><id>4711</id></w>`), "session_updated", "4711"},
		{"event with id and workflow_session_id: id", "application/xml", []byte(`<w><workflow_session_id>b</workflow_session_id><event>Workflow_Session_Created</event><id>a</id></w>`), "workflow_session_created", "a"},
		{"empty id: workflow_session_id", "application/xml", []byte(`<w><event>session_updated</event><id/><workflow_session_id>b</workflow_session_id></w>`), "session_updated", "b"},
		{"id with child elements is no id", "application/xml", []byte(`<w><event>session_updated</event><id><v>a</v></id></w>`), "session_updated", ""},
		{"repeated element: the last wins", "application/xml", []byte(`<w><event>session_created</event><id>a</id><Id>b</Id></w>`), "session_created", "b"},
		{"fields only as direct children of the root", "application/xml", []byte(`<w><data><event>session_created</event><id>a</id></data></w>`), "", ""},
		{"fields as the root's attributes are not read", "application/xml", []byte(`<w event="session_created" id="a"/>`), "", ""},
		{"comments, processing instructions and a doctype", "application/xml", []byte(`<?xml version="1.0"?><!DOCTYPE w><!-- c --><w><?pi x?><event>session_created<!-- c --></event></w><!-- c -->`), "session_created", ""},

		// Presence: an empty element and xsi:nil are null.
		{"identity with children", "application/xml", []byte(`<r><identity><FirstName>LARS</FirstName></identity><id>x</id></r>`), "identification.completed", "x"},
		{"identity with attributes only", "application/xml", []byte(`<r><identity PersonalNumber="191212121212"/><id>x</id></r>`), "identification.completed", "x"},
		{"method alone", "application/xml", []byte(`<r><method>sbid-another</method><id>x</id></r>`), "identification.completed", "x"},
		{"BankIDSE alone", "application/xml", []byte(`<r><bankidse><signature>PD94</signature></bankidse></r>`), "identification.completed", ""},
		{"identity and status: identification", "application/xml", []byte(`<r><identity><a>1</a></identity><status>Finished</status><id>x</id></r>`), "identification.completed", "x"},
		{"empty identity, method, BankIDSE", "application/xml", []byte(`<r><identity/><method></method><BankIDSE>  </BankIDSE><id>x</id></r>`), "", ""},
		{"identity nil with a namespace declaration only", "application/xml", []byte(`<r xmlns:i="` + xsiNamespace + `"><identity i:nil="true" xmlns="urn:x"/><id>x</id></r>`), "", ""},
		{"xsi:nil wins over content", "application/xml", []byte(`<r xmlns:xsi="` + xsiNamespace + `"><method xsi:nil="1">sbid</method><id>x</id></r>`), "", ""},
		{"xsi:nil false is no null", "application/xml", []byte(`<r xmlns:xsi="` + xsiNamespace + `"><method xsi:nil="false">sbid</method><id>x</id></r>`), "identification.completed", "x"},
		{"undeclared xsi prefix", "application/xml", []byte(`<r><event xsi:nil="true">session_created</event><Status>Sent</Status><id>x</id></r>`), "sms.status_changed", "x"},
		{"status empty", "application/xml", []byte(`<r><id>x</id><status/></r>`), "", ""},
		{"status without id", "application/xml", []byte(`<r><status>Delivered</status></r>`), "", ""},
		{"status with children", "application/xml", []byte(`<r><id>x</id><status><code>2</code></status></r>`), "sms.status_changed", "x"},
		{"empty event and nothing else", "application/xml", []byte(`<r><event> </event><id>x</id></r>`), "", ""},

		// Unmappable.
		{"no known fields", "application/xml", []byte(`<?xml version="1.0"?><order><number>4711</number><state>paid</state></order>`), "", ""},
		{"empty root", "application/xml", []byte(`<r/>`), "", ""},
		{"event with child elements (not a string, as in JSON)", "application/xml", []byte(`<r><event><name>session_created</name></event><id>x</id></r>`), "", ""},
		{"malformed: mismatched end tag", "application/xml", []byte(`<r><event>session_created</evnt></r>`), "", ""},
		{"malformed: unclosed root", "application/xml", []byte(`<r><event>session_created</event>`), "", ""},
		{"malformed: unknown entity", "application/xml", []byte(`<r><event>session_created&nbsp;</event></r>`), "", ""},
		{"malformed: invalid UTF-8", "application/xml", []byte("<r><event>session_created</event><x>\xff</x></r>"), "", ""},
		{"malformed: two root elements", "application/xml", []byte(`<r><event>session_created</event></r><r/>`), "", ""},
		{"malformed: text after the root", "application/xml", []byte(`<r><event>session_created</event></r>trailing`), "", ""},
		{"malformed: only <", "", []byte(`<`), "", ""},
		{"unsupported encoding", "application/xml", []byte(`<?xml version="1.0" encoding="ebcdic"?><r><event>session_created</event></r>`), "", ""},
		{"only a declaration", "application/xml", []byte(`<?xml version="1.0"?>`), "", ""},
		{"empty body under application/xml", "application/xml", nil, "", ""},
		{"too deep", "application/xml", []byte(`<r><event>session_created</event>` + strings.Repeat("<a>", zignSecMaxXMLDepth) + strings.Repeat("</a>", zignSecMaxXMLDepth) + `</r>`), "", ""},
		{"deep but within bounds", "application/xml", []byte(`<r><event>session_created</event>` + strings.Repeat("<a>", zignSecMaxXMLDepth-1) + strings.Repeat("</a>", zignSecMaxXMLDepth-1) + `</r>`), "session_created", ""},

		// JSON is still JSON.
		{"JSON under application/json", "application/json", providerPayload(t, "zignsec", "session_created.json"), "session_created", session},
		{"JSON without Content-Type", "", providerPayload(t, "zignsec", "identification_result.json"), "identification.completed", identification},
		{"JSON under text/plain", "text/plain", []byte(` {"event":"session_created","id":"x"}`), "session_created", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.contentType != "" {
				h.Set("Content-Type", tc.contentType)
			}
			ev, err := ZignSec.Map(Request{Header: h, Body: tc.body})
			if tc.wantType == "" {
				if !errors.Is(err, ErrUnmappable) {
					t.Fatalf("Map = %+v, %v; want ErrUnmappable", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if want := (Event{Type: tc.wantType, Subject: tc.subject}); ev != want {
				t.Fatalf("Map = %+v, want %+v", ev, want)
			}
		})
	}
}

// TestZignSecMapXMLLikeJSON maps the same webhook written both ways and expects the same answer:
// one set of rules, two formats. JSON's null is XML's missing element, empty element or xsi:nil.
func TestZignSecMapXMLLikeJSON(t *testing.T) {
	const nilNS = ` xmlns:i="` + xsiNamespace + `"`
	cases := []struct {
		name      string
		json, xml string
	}{
		{"session event", `{"event":"Session_Updated","id":"a"}`, `<w><event>Session_Updated</event><id>a</id></w>`},
		{"workflow session id as fallback", `{"event":"workflow_session_created","id":null,"workflow_session_id":"b"}`, `<w` + nilNS + `><event>workflow_session_created</event><id i:nil="true"/><workflow_session_id>b</workflow_session_id></w>`},
		{"event without any id", `{"event":"session_updated"}`, `<w><event>session_updated</event></w>`},
		{"numeric id", `{"event":"session_updated","id":4711}`, `<w><event>session_updated</event><id>4711</id></w>`},
		{"identification with status", `{"identity":{"a":1},"status":"Finished","id":"x"}`, `<w><identity><a>1</a></identity><status>Finished</status><id>x</id></w>`},
		{"identity null", `{"identity":null,"id":"x"}`, `<w` + nilNS + `><identity i:nil="true"/><id>x</id></w>`},
		{"SMS, capitalised", `{"Id":"s","Status":"Sent"}`, `<w><Id>s</Id><Status>Sent</Status></w>`},
		{"status null", `{"id":"x","status":null}`, `<w><id>x</id><status/></w>`},
		{"only an id", `{"id":"x"}`, `<w><id>x</id></w>`},
		{"nothing known", `{"order":4711}`, `<w><order>4711</order></w>`},
		{"event not a string", `{"event":{"name":"x"},"id":"x"}`, `<w><event><name>x</name></event><id>x</id></w>`},
		{"the last repeated key wins", `{"id":"a","ID":"b","event":"e"}`, `<w><id>a</id><ID>b</ID><event>e</event></w>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fromJSON, jsonErr := ZignSec.Map(Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.json)})
			fromXML, xmlErr := ZignSec.Map(Request{Header: http.Header{"Content-Type": {"application/xml"}}, Body: []byte(tc.xml)})
			if fromJSON != fromXML || (jsonErr == nil) != (xmlErr == nil) {
				t.Fatalf("JSON: %+v, %v; XML: %+v, %v", fromJSON, jsonErr, fromXML, xmlErr)
			}
			if xmlErr != nil && !errors.Is(xmlErr, ErrUnmappable) {
				t.Fatalf("XML: %v does not wrap ErrUnmappable", xmlErr)
			}
		})
	}
}

// TestZignSecMapXMLErrorQuotesNoBody: the error of a malformed body ends up in the logs, and the
// body carries personal data.
func TestZignSecMapXMLErrorQuotesNoBody(t *testing.T) {
	body := []byte(`<r><identity><FirstName>LARS&SVENSSON;</FirstName></identity></r>`)
	_, err := ZignSec.Map(Request{Header: http.Header{"Content-Type": {"text/xml"}}, Body: body})
	if !errors.Is(err, ErrUnmappable) {
		t.Fatalf("Map: %v, want ErrUnmappable", err)
	}
	if strings.Contains(err.Error(), "SVENSSON") || strings.Contains(err.Error(), "LARS") {
		t.Fatalf("error %q quotes the body", err)
	}
}

func TestZignSecSign(t *testing.T) {
	creds := Credentials{Secrets: []string{zignSecTestSecret, "next-secret"}}
	now := time.Unix(1729585601, 0)
	format := regexp.MustCompile(`^t=([0-9]+),v1=([0-9a-f]{64})$`)
	for _, name := range []string{"session_created.json", "identification_result.json", "sms_status.json"} {
		t.Run(name, func(t *testing.T) {
			body := providerPayload(t, "zignsec", name)
			h, err := ZignSec.Sign(creds, body, now)
			if err != nil {
				t.Fatal(err)
			}
			got := h.Get(ZignSecSignatureHeader)
			m := format.FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("header %q is not t=<unix>,v1=<hex>", got)
			}
			if m[1] != strconv.FormatInt(now.Unix(), 10) {
				t.Errorf("t = %s, want %d", m[1], now.Unix())
			}
			if want := zignSecSessionHeader(zignSecTestSecret, m[1], body); got != want {
				t.Errorf("header = %q, want %q", got, want)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			v, err := ZignSec.Verify(Request{Header: h, Body: body}, creds)
			if err != nil {
				t.Fatalf("Verify(signed): %v", err)
			}
			if _, err := v.Map(); err != nil {
				t.Errorf("Map(signed): %v", err)
			}
		})
	}
	if _, err := ZignSec.Sign(Credentials{}, []byte(`{}`), now); err == nil {
		t.Error("Sign without a secret succeeded")
	}
}

func TestZignSecCheckCredentials(t *testing.T) {
	cases := []struct {
		name  string
		creds Credentials
		ok    bool
	}{
		{"one secret", Credentials{Secrets: []string{"s"}}, true},
		{"no secret", Credentials{}, false},
		{"only basic auth", Credentials{BasicAuth: &BasicAuth{Username: "u", Password: "p"}}, false},
		{"empty secret", Credentials{Secrets: []string{""}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := ZignSec.CheckCredentials(tc.creds); (err == nil) != tc.ok {
				t.Fatalf("CheckCredentials = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// zignSecAccepts is an independent reading of the documentation: it reports whether value is a
// right signature of body in either scheme, however leniently spelled (a superset of what the
// provider accepts), with a timestamp of 1 to 19 digits.
func zignSecAccepts(value string, body []byte) bool {
	value = strings.TrimSpace(value)
	if strings.Contains(value, "v1=") {
		var stamps, sigs []string
		for _, part := range strings.Split(value, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch strings.TrimSpace(k) {
			case "t":
				stamps = append(stamps, strings.TrimSpace(v))
			case "v1":
				sigs = append(sigs, strings.TrimSpace(v))
			}
		}
		for _, ts := range stamps {
			if !timestampDigits.MatchString(ts) {
				continue
			}
			for _, sig := range sigs {
				if strings.EqualFold(sig, zignSecSessionSig(zignSecTestSecret, ts, body)) {
					return true
				}
			}
		}
		return false
	}
	mac := zignSecMAC(zignSecTestSecret, string(body))
	for _, decode := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString} {
		if b, err := decode(value); err == nil && hmac.Equal(b, mac) {
			return true
		}
	}
	return false
}

func FuzzZignSecAuthenticate(f *testing.F) {
	creds := Credentials{Secrets: []string{zignSecTestSecret}}
	request := func(body []byte, header string) Request {
		h := http.Header{}
		h.Set(ZignSecSignatureHeader, header)
		return Request{Header: h, Body: body}
	}
	// Bytes of a genuine body moved into t: the same signed bytes, refused.
	xmlBody := providerPayload(f, "zignsec", "sms_status.xml")
	p, q, _ := strings.Cut(string(xmlBody), ".")
	f.Add([]byte(q), "t="+zignSecTestTime+"."+p+",v1="+zignSecSessionSig(zignSecTestSecret, zignSecTestTime, xmlBody))
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		_, err := ZignSec.Authenticate(request(body, header), creds)
		if err == nil && !zignSecAccepts(header, body) {
			t.Fatalf("accepted %q, which is no signature of the body", header)
		}
		if err != nil && !knownAuthError(err) {
			t.Fatalf("Authenticate: unexpected error %v", err)
		}
		for _, right := range []string{
			zignSecSessionHeader(zignSecTestSecret, zignSecTestTime, body),
			zignSecLegacyBase64(zignSecTestSecret, body),
			zignSecLegacyHex(zignSecTestSecret, body),
		} {
			if _, err := ZignSec.Authenticate(request(body, right), creds); err != nil {
				t.Fatalf("rejected the right signature %q: %v", right, err)
			}
		}
	})
}

func FuzzZignSecMap(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		if jsonNesting(body) > jsonMaxDepth {
			return // deeper than the scanner reads (unmapped), where json.Unmarshal may still read it
		}
		if !zignSecIsXML(Request{Header: http.Header{}, Body: body}) {
			got, err := zignSecJSONFields(body)
			want, wantErr := zignSecJSONFieldsUnmarshal(body)
			// json.Unmarshal fails on an event that is not a string even when a later key
			// replaces it; scanFieldsFold only sees the last.
			repeated := wantErr != nil && err == nil && zignSecEventKeys(body) > 1
			if !repeated && (got != want || (err == nil) != (wantErr == nil)) {
				t.Fatalf("fields %+v, %v; with json.Unmarshal %+v, %v", got, err, want, wantErr)
			}
		}
		ev, err := ZignSec.Map(Request{Header: http.Header{}, Body: body})
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("Map: error %v does not wrap ErrUnmappable", err)
			}
			return
		}
		if ev.Type == "" || ev.Type != strings.ToLower(ev.Type) {
			t.Fatalf("Map: type %q is empty or not lower case", ev.Type)
		}
		if ev.ID != "" || !ev.Time.IsZero() {
			t.Fatalf("Map: %+v has an id or a time; the bridge must hash the body", ev)
		}
	})
}

// FuzzZignSecMapXML feeds XML-ish bodies under any Content-Type: the mapping must end in an event
// or in ErrUnmappable, and an XML body must map the same whichever way it was recognised.
func FuzzZignSecMapXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		ev, err := ZignSec.Map(Request{Header: http.Header{"Content-Type": {contentType}}, Body: body})
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("Map: error %v does not wrap ErrUnmappable", err)
			}
		} else {
			if ev.Type == "" || ev.Type != strings.ToLower(ev.Type) {
				t.Fatalf("Map: type %q is empty or not lower case", ev.Type)
			}
			if ev.ID != "" || !ev.Time.IsZero() {
				t.Fatalf("Map: %+v has an id or a time; the bridge must hash the body", ev)
			}
		}
		if !zignSecIsXML(Request{Header: http.Header{"Content-Type": {contentType}}, Body: body}) {
			return
		}
		for _, ct := range []string{"application/xml", "text/xml; charset=utf-8"} {
			again, againErr := ZignSec.Map(Request{Header: http.Header{"Content-Type": {ct}}, Body: body})
			if again != ev || (againErr == nil) != (err == nil) {
				t.Fatalf("as %q: %+v, %v; as %q: %+v, %v", contentType, ev, err, ct, again, againErr)
			}
		}
	})
}

func BenchmarkZignSecMap(b *testing.B) {
	for _, name := range []string{"identification_result.json", "session_created_capitalised.json"} {
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			benchmarkMap(b, ZignSec, Request{Header: http.Header{}, Body: providerPayload(b, "zignsec", name)})
		})
	}
}

// zignSecJSONFieldsUnmarshal is zignSecJSONFields as it was written with json.Unmarshal into a
// struct, whose case-insensitive key matching scanFieldsFold reproduces: FuzzZignSecMap holds the
// two to the same fields.
func zignSecJSONFieldsUnmarshal(body []byte) (zignSecFields, error) {
	var raw struct {
		Event             string          `json:"event"`
		ID                json.RawMessage `json:"id"`
		WorkflowSessionID json.RawMessage `json:"workflow_session_id"`
		Identity          json.RawMessage `json:"identity"`
		BankIDSE          json.RawMessage `json:"BankIDSE"`
		Method            json.RawMessage `json:"method"`
		Status            json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return zignSecFields{}, fmt.Errorf("not a JSON object: %v: %w", err, ErrUnmappable)
	}
	return zignSecFields{
		event:             raw.Event,
		id:                stringOrNumber(raw.ID),
		workflowSessionID: stringOrNumber(raw.WorkflowSessionID),
		identity:          zignSecHas(raw.Identity),
		bankIDSE:          zignSecHas(raw.BankIDSE),
		method:            zignSecHas(raw.Method),
		status:            zignSecHas(raw.Status),
	}, nil
}

// zignSecEventKeys counts the keys of a JSON object that name the event field.
func zignSecEventKeys(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return 0
	}
	n := 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return n
		}
		if k, _ := key.(string); strings.EqualFold(k, "event") {
			n++
		}
		var value json.RawMessage
		if dec.Decode(&value) != nil {
			return n
		}
	}
	return n
}
