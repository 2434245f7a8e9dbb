package providers

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEveryProviderIsComplete walks the registry: the rest of the program (the pipeline, sign,
// send, the load tool, the demo) calls each of these parts of every provider, so a provider that
// lacks one would fail at run time. Each provider is its own subtest and each check reports on
// its own, so one provider's failure hides nothing about it or the others.
func TestEveryProviderIsComplete(t *testing.T) {
	token := regexp.MustCompile(`^[a-z0-9_-]+$`)
	seen := map[string]bool{}
	for _, p := range All() {
		t.Run(p.Name, func(t *testing.T) {
			if !token.MatchString(p.Name) {
				t.Errorf("Name %q must be a lower-case subject token", p.Name)
			}
			if seen[p.Name] {
				t.Errorf("registered twice")
			}
			seen[p.Name] = true
			if got, ok := Lookup(p.Name); !ok || got != p {
				t.Errorf("Lookup(%q) = %v, %v; want this provider", p.Name, got, ok)
			}
			if !slices.Contains(Names(), p.Name) {
				t.Errorf("Names() %v lack it", Names())
			}
			if !strings.HasPrefix(p.TypePrefix, "com.") && !strings.Contains(p.TypePrefix, ".") {
				t.Errorf("TypePrefix %q is not reverse-DNS", p.TypePrefix)
			}

			answers := []struct {
				field string
				a     Answer
			}{{"Success", p.Success}, {"Rejection", p.Rejection}, {"Retry", p.Retry}}
			for _, a := range answers {
				if a.a.Status == 0 {
					t.Errorf("%s is missing", a.field)
				}
			}
			if p.Success.Status/100 != 2 {
				t.Errorf("Success %d must be 2xx", p.Success.Status)
			}
			if p.Rejection.Status/100 != 4 {
				t.Errorf("Rejection %d must be 4xx", p.Rejection.Status)
			}
			if p.Retry.Status != 0 && (p.Retry.Status < 400 || p.Retry.Header.Get("Retry-After") == "") {
				t.Errorf("Retry %d must be a 4xx or 5xx with Retry-After", p.Retry.Status)
			}

			parts := []struct {
				field   string
				present bool
			}{
				{"Authenticate", p.Authenticate != nil},
				{"Map", p.Map != nil},
				{"Sign", p.Sign != nil},
				{"CheckCredentials", p.CheckCredentials != nil},
				{"DemoCredentials", p.DemoCredentials != nil},
				{"Load.Example", p.Load.Example != nil},
			}
			whole := true
			for _, part := range parts {
				if !part.present {
					t.Errorf("%s is missing", part.field)
					whole = false
				}
			}
			if p.Load.DefaultType == "" {
				t.Errorf("Load.DefaultType is missing")
			}
			if !whole {
				return // the round trip below would call a missing part; each is reported above
			}
			checkDemoRoundTrip(t, p)
		})
	}
}

// checkDemoRoundTrip checks that the parts work together: the demo's credentials are usable, and
// a load example signed with them authenticates and maps to its type and id. Each step needs the
// one before it; a failure ends the round trip only.
func checkDemoRoundTrip(t *testing.T, p *Provider) {
	t.Helper()
	creds := p.DemoCredentials("demo-secret")
	if err := p.CheckCredentials(creds); err != nil {
		t.Errorf("DemoCredentials refused by CheckCredentials: %v", err)
		return
	}
	// One clock for the example, its signature and its receipt: a sender may put its timestamp
	// in the body (Linear) as well as in a header.
	now := time.Now()
	ex := p.Load.Example(p.Load.DefaultType, "run1", 7, now)
	if other := p.Load.Example(p.Load.DefaultType, "run1", 8, now); string(other.Body) == string(ex.Body) && other.ID == ex.ID {
		t.Errorf("load examples 7 and 8 are the same event")
	}
	h, err := p.Sign(creds, ex.Body, now)
	if err != nil {
		t.Errorf("Sign: %v", err)
		return
	}
	for name, values := range ex.Header {
		h[name] = values
	}
	v, err := p.Verify(Request{Header: h, Body: ex.Body, Received: now}, creds)
	if err != nil {
		t.Errorf("its own load example, signed, does not verify: %v", err)
		return
	}
	if ex.IDFromBody != nil {
		ex.ID = ex.IDFromBody(ex.Body)
	}
	ev, err := v.Map()
	if err != nil {
		t.Errorf("load example does not map: %v", err)
		return
	}
	// (A type may gain a refinement, as CentrePoint's upload.completed.)
	if ev.Type != p.Load.DefaultType && !strings.HasPrefix(ev.Type, p.Load.DefaultType+".") {
		t.Errorf("load example maps to type %q, want %q", ev.Type, p.Load.DefaultType)
	}
	if ev.ID != ex.ID {
		t.Errorf("load example maps to id %q, want %q", ev.ID, ex.ID)
	}
}
