package providers

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// GitLab's documentation ("Webhooks", https://docs.gitlab.com/user/project/integrations/webhooks/):
// the webhook's secret token travels as it is in X-Gitlab-Token; the delivery headers are
// X-Gitlab-Event ("Push Hook"), X-Gitlab-Event-UUID, X-Gitlab-Webhook-UUID and, since 17.4,
// Idempotency-Key ("unique ID that remains consistent across webhook retries"). The bodies in
// testdata/gitlab are the payload examples of "Webhook events"
// (https://docs.gitlab.com/user/project/integrations/webhook_events/, gitlabhq/gitlabhq
// doc/user/project/integrations/webhook_events.md, "Push events" and "Tag events").

const gitLabTestToken = "My-Secret-Token 42" // any text the user types in "Secret token"

func gitLabExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "gitlab", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// gitLabRequest is body as GitLab delivers it, with the documented headers.
func gitLabRequest(token, event string, body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/17.4.0")
	h.Set("X-Gitlab-Instance", "https://gitlab.example.com")
	h.Set("X-Gitlab-Webhook-UUID", "02affd2d-2cba-4033-917d-ec22d5dc4b38")
	h.Set("X-Gitlab-Event", event)
	h.Set("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")
	h.Set("Idempotency-Key", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f")
	h.Set("X-Gitlab-Token", token)
	return Request{Method: http.MethodPost, Header: h, Body: body}
}

// tokenAuthCases are the common cases as a token sender answers them: a token that matches no
// secret is ErrBadCredentials, and a body changed after sending is still accepted — the token
// vouches for the sender, not for the bytes.
func tokenAuthCases(t *testing.T, header string) []authCase {
	t.Helper()
	cases := commonAuthCases(proofSpec{header: header, otherSecret: "not-the-token"})
	cases = withAuthAnswer(t, cases, "wrong secret", ErrBadCredentials)
	cases = withAuthAnswer(t, cases, "no secret configured", ErrBadCredentials)
	cases = withAuthAnswer(t, cases, "tampered body", nil)
	return append(cases, []authCase{
		{name: "token with a character more", modify: appendToHeader(header, "x"), wantErr: ErrBadCredentials},
		{name: "token cut short", modify: func(r *Request) { v := r.Header.Get(header); r.Header.Set(header, v[:len(v)-1]) }, wantErr: ErrBadCredentials},
		{name: "token in another case", modify: func(r *Request) { r.Header.Set(header, swapCase(r.Header.Get(header))) }, wantErr: ErrBadCredentials},
		{name: "token with a scheme the user did not configure", modify: func(r *Request) { r.Header.Set(header, "Bearer "+r.Header.Get(header)) }, wantErr: ErrBadCredentials},
		{name: "configured token with space around it", creds: func(c *Credentials) { c.Secrets = []string{"  " + c.Secrets[0] + "\n"} }},
	}...)
}

// appendToHeader returns a change that adds s to the end of header's value.
func appendToHeader(header, s string) func(r *Request) {
	return func(r *Request) { r.Header.Set(header, r.Header.Get(header)+s) }
}

// swapCase swaps the case of ASCII letters.
func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

func TestGitLabAuthenticate(t *testing.T) {
	body := gitLabExample(t, "push.json")
	cases := append(tokenAuthCases(t, GitLabTokenHeader),
		authCase{name: "token in another header", modify: func(r *Request) {
			r.Header.Set("Authorization", r.Header.Get(GitLabTokenHeader))
			r.Header.Del(GitLabTokenHeader)
		}, wantErr: ErrMissingProof},
		authCase{name: "no delivery headers at all", modify: func(r *Request) {
			for _, h := range []string{"X-Gitlab-Event", "X-Gitlab-Event-UUID", "Idempotency-Key", "X-Gitlab-Webhook-UUID"} {
				r.Header.Del(h)
			}
		}},
	)
	runAuthCases(t, GitLab, gitLabRequest(gitLabTestToken, "Push Hook", body), Credentials{Secrets: []string{gitLabTestToken}}, cases)
}

// TestGitLabDocumentedExamples: the documentation's payloads with their request headers verify and
// map to their object_kind.
func TestGitLabDocumentedExamples(t *testing.T) {
	tests := []struct {
		file, header string
		want         Event
	}{
		{"push.json", "Push Hook", Event{Type: "push", ID: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", Subject: "mike/diaspora", IDUnsigned: true}},
		{"tag_push.json", "Tag Push Hook", Event{Type: "tag_push", ID: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", Subject: "jsmith/example", IDUnsigned: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v, err := GitLab.Verify(gitLabRequest(gitLabTestToken, tt.header, gitLabExample(t, tt.file)), Credentials{Secrets: []string{gitLabTestToken}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Map()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
			if gitLabEventTitle(got.Type) != tt.header {
				t.Errorf("Sign would send X-Gitlab-Event %q for %s, GitLab sends %q", gitLabEventTitle(got.Type), got.Type, tt.header)
			}
		})
	}
}

func TestGitLabMap(t *testing.T) {
	withHeaders := func(pairs ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(pairs); i += 2 {
			h.Set(pairs[i], pairs[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   Event
	}{
		{
			name:   "Idempotency-Key is the id",
			header: withHeaders("Idempotency-Key", "k-1", "X-Gitlab-Event-UUID", "u-1"),
			body:   `{"object_kind":"merge_request","project":{"path_with_namespace":"a/b"}}`,
			want:   Event{Type: "merge_request", ID: "k-1", Subject: "a/b", IDUnsigned: true},
		},
		{
			name:   "before GitLab 17.4: the event UUID",
			header: withHeaders("X-Gitlab-Event-UUID", "u-1"),
			body:   `{"object_kind":"pipeline"}`,
			want:   Event{Type: "pipeline", ID: "u-1", IDUnsigned: true},
		},
		{
			name: "no id header: the body's hash, still marked unsigned",
			body: `{"object_kind":"note"}`,
			want: Event{Type: "note", IDUnsigned: true},
		},
		{
			name:   "a job: object_kind build",
			header: withHeaders("X-Gitlab-Event", "Job Hook"),
			body:   `{"object_kind":"build","project_id":380}`,
			want:   Event{Type: "build", IDUnsigned: true},
		},
		{
			name: "object_kind lower-cased",
			body: `{"object_kind":"Deployment"}`,
			want: Event{Type: "deployment", IDUnsigned: true},
		},
		{
			// System hooks ("System hooks", https://docs.gitlab.com/administration/system_hooks/).
			name:   "system hook: event_name",
			header: withHeaders("X-Gitlab-Event", "System Hook"),
			body:   `{"created_at":"2012-07-21T07:30:54Z","event_name":"project_create","name":"StoreCloud","path":"storecloud","path_with_namespace":"jsmith/storecloud","project_id":74}`,
			want:   Event{Type: "project_create", Subject: "jsmith/storecloud", IDUnsigned: true},
		},
		{
			name:   "no kind in the body: the header's title",
			header: withHeaders("X-Gitlab-Event", "Emoji  Hook"),
			body:   `{"user":{"id":1}}`,
			want:   Event{Type: "emoji_hook", IDUnsigned: true},
		},
		{
			name:   "not JSON: the header's title",
			header: withHeaders("X-Gitlab-Event", "Push Hook"),
			body:   `ref=main`,
			want:   Event{Type: "push_hook", IDUnsigned: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			got, err := GitLab.Map(Request{Header: h, Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestGitLabMapUnmappable(t *testing.T) {
	for name, body := range map[string]string{
		"no kind, no header": `{"user":{"id":1}}`,
		"empty object_kind":  `{"object_kind":""}`,
		"not JSON":           `push`,
		"empty":              ``,
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := GitLab.Map(Request{Header: http.Header{"Idempotency-Key": {"k-9"}}, Body: []byte(body)})
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want ErrUnmappable", err)
			}
			if ev.ID != "k-9" || !ev.IDUnsigned {
				t.Errorf("unmapped event %+v lost its id or its unsigned mark", ev)
			}
		})
	}
}

// TestGitLabDuplicate: a retry carries the same Idempotency-Key and body, so the same event; a
// request whose key was changed (the token covers none) is still marked unsigned, so the bridge
// recognises it by type and body.
func TestGitLabDuplicate(t *testing.T) {
	body := gitLabExample(t, "push.json")
	creds := Credentials{Secrets: []string{gitLabTestToken}}
	var events []Event
	for _, key := range []string{"f5e5f430-f57b-4e6e-9fac-d9128cd7232f", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", "forged"} {
		req := gitLabRequest(gitLabTestToken, "Push Hook", body)
		req.Header.Set("Idempotency-Key", key)
		v, err := GitLab.Verify(req, creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if events[0] != events[1] {
		t.Errorf("a retry maps to %+v, the original to %+v", events[1], events[0])
	}
	if !events[2].IDUnsigned || events[2].Type != events[0].Type {
		t.Errorf("a changed key gives %+v: want the same type, marked unsigned", events[2])
	}
}

func TestGitLabSign(t *testing.T) {
	body := gitLabExample(t, "push.json")
	h, err := GitLab.Sign(Credentials{Secrets: []string{gitLabTestToken, "other"}}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Gitlab-Token"); got != gitLabTestToken {
		t.Errorf("X-Gitlab-Token = %q, want the first secret", got)
	}
	if got := h.Get("X-Gitlab-Event"); got != "Push Hook" {
		t.Errorf("X-Gitlab-Event = %q, want Push Hook", got)
	}
	if h.Get("Idempotency-Key") == "" {
		t.Error("no Idempotency-Key")
	}
	if _, err := GitLab.Sign(Credentials{}, body, time.Now()); err == nil {
		t.Error("Sign without a secret succeeded")
	}
}

func TestGitLabDeclaration(t *testing.T) {
	if GitLab.TypePrefix != "com.gitlab" || GitLab.Success.Status != http.StatusOK || GitLab.Rejection.Status != http.StatusUnauthorized ||
		GitLab.Retry.Status != http.StatusServiceUnavailable || GitLab.Handshake != nil {
		t.Errorf("GitLab declares %s, %d, %d, %d, handshake %t", GitLab.TypePrefix, GitLab.Success.Status, GitLab.Rejection.Status, GitLab.Retry.Status, GitLab.Handshake != nil)
	}
	for _, kind := range []string{"push", "tag_push", "merge_request", "wiki_page"} {
		if got := gitLabEventTitle(kind); got == "" || got[len(got)-5:] != " Hook" {
			t.Errorf("gitLabEventTitle(%q) = %q", kind, got)
		}
	}
	if got := gitLabEventTitle("merge_request"); got != "Merge Request Hook" {
		t.Errorf("gitLabEventTitle(merge_request) = %q", got)
	}
}

func FuzzGitLabAuthenticate(f *testing.F) {
	f.Add(gitLabTestToken, []byte(`{"object_kind":"push"}`))
	f.Add("", []byte(`{}`))
	f.Add(gitLabTestToken+" ", []byte(`x`))
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		h := http.Header{}
		h.Set("X-Gitlab-Token", token)
		_, err := GitLab.Authenticate(Request{Header: h, Body: body}, Credentials{Secrets: []string{"other", gitLabTestToken}})
		// The value as proofHeader reads it (space around it is not part of it) must be a secret.
		if given := strings.TrimSpace(token); err == nil && given != gitLabTestToken && given != "other" {
			t.Fatalf("accepted token %q", token)
		}
		if err != nil && !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("error %v wraps no expected sentinel", err)
		}
		if _, err := GitLab.Map(Request{Header: h, Body: body}); err != nil && !errors.Is(err, ErrUnmappable) {
			t.Fatalf("Map error %v does not wrap ErrUnmappable", err)
		}
	})
}
