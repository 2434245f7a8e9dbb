package providers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GitLab (project, group and system webhooks). Documentation: "Webhooks" and "Webhook events"
// (https://docs.gitlab.com/user/project/integrations/webhooks/, docs/providers/gitlab.md): the
// webhook's "Secret token" is sent as it is in X-Gitlab-Token; nothing is signed. The body's
// object_kind names the event (X-Gitlab-Event names the same as a title, "Push Hook");
// Idempotency-Key stays the same across retries of one delivery.
const (
	GitLabTokenHeader          = "X-Gitlab-Token"
	GitLabEventHeader          = "X-Gitlab-Event"
	GitLabEventUUIDHeader      = "X-Gitlab-Event-UUID"
	GitLabIdempotencyKeyHeader = "Idempotency-Key"
)

// GitLab declares the GitLab provider.
var GitLab = &Provider{
	Name:             "gitlab",
	TypePrefix:       "com.gitlab",
	Success:          emptyAnswer(http.StatusOK),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	DemoCredentials:  secretsOnly,
	CheckCredentials: needSecret,
	Load: LoadProfile{
		DefaultType: "push",
		Example: func(eventType, run string, n uint64, _ time.Time) Example {
			num := strconv.FormatUint(n, 10)
			key := gitLabLoadKey(run, n)
			body := `{"object_kind":"` + eventType + `","event_name":"` + eventType + `","ref":"refs/heads/main","checkout_sha":"load-` +
				run + "-" + num + `","user_username":"loadgen","project":{"id":15,"path_with_namespace":"loadgen/project-` + num + `"}}`
			h := http.Header{}
			h.Set(GitLabIdempotencyKeyHeader, key)
			h.Set(GitLabEventHeader, gitLabEventTitle(eventType))
			return Example{Body: []byte(body), Header: h, ID: key}
		},
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		return verifyToken(req.Header, GitLabTokenHeader, creds.Secrets)
	}),

	Map: func(req Request) (Event, error) {
		ev := Event{ID: strings.TrimSpace(req.Header.Get(GitLabIdempotencyKeyHeader))}
		if ev.ID == "" {
			// GitLab before 17.4 sends no Idempotency-Key; the event UUID is shared only by
			// webhooks that a webhook's own receiver triggered.
			ev.ID = strings.TrimSpace(req.Header.Get(GitLabEventUUIDHeader))
		}
		// The token covers no header (nor the body): whoever holds one request could give it a
		// new id, so the bridge recognises retries by the type and body instead.
		ev.IDUnsigned = true
		// object_kind in every project and group webhook; system hooks for projects, users,
		// groups and keys carry event_name instead.
		f, err := scanFields(req.Body, "object_kind", "event_name", "project.path_with_namespace", "path_with_namespace")
		if err == nil {
			kind, _ := jsonString(f[0])
			if kind == "" {
				kind, _ = jsonString(f[1])
			}
			ev.Type = strings.ToLower(strings.TrimSpace(kind))
			ev.Subject, _ = jsonString(f[2])
			if ev.Subject == "" {
				ev.Subject, _ = jsonString(f[3])
			}
		}
		if ev.Type == "" {
			// The header's title as a name: "Push Hook" → "push_hook".
			title := strings.ToLower(strings.TrimSpace(req.Header.Get(GitLabEventHeader)))
			ev.Type = strings.Join(strings.Fields(title), "_")
		}
		if ev.Type == "" {
			return ev, fmt.Errorf("no object_kind, event_name or %s: %w", GitLabEventHeader, ErrUnmappable)
		}
		return ev, nil
	},

	// Sign sends the body with the token, the event header GitLab would send for its
	// object_kind, and a fresh Idempotency-Key.
	Sign: func(creds Credentials, body []byte, _ time.Time) (http.Header, error) {
		h, err := tokenHeader(GitLabTokenHeader, creds)
		if err != nil {
			return nil, err
		}
		h.Set("User-Agent", "GitLab/17.4.0")
		if f, err := scanFields(body, "object_kind"); err == nil {
			if kind, _ := jsonString(f[0]); kind != "" {
				h.Set(GitLabEventHeader, gitLabEventTitle(kind))
			}
		}
		h.Set(GitLabIdempotencyKeyHeader, newCentrePointDelivery()) // a random UUID, as GitLab sends
		return h, nil
	},
}

// gitLabEventTitle is the X-Gitlab-Event GitLab sends for an object_kind: "merge_request" →
// "Merge Request Hook"; a job's object_kind is "build" but its header "Job Hook".
func gitLabEventTitle(kind string) string {
	if kind == "build" {
		return "Job Hook"
	}
	words := strings.Split(kind, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ") + " Hook"
}

// gitLabLoadKey is a load example's Idempotency-Key: the same on every retry of event n of run.
func gitLabLoadKey(run string, n uint64) string {
	return "load-" + run + "-" + strconv.FormatUint(n, 10)
}
