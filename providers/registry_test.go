package providers

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEveryProviderIsComplete walks the registry: the rest of the program (the pipeline, sign,
// send, the load tool, the demo) calls each of these parts of every provider, so a provider that
// lacks one would fail at run time. The test names the provider and the field.
func TestEveryProviderIsComplete(t *testing.T) {
	token := regexp.MustCompile(`^[a-z0-9_-]+$`)
	seen := map[string]bool{}
	for _, p := range All() {
		missing := func(field string) { t.Errorf("provider %q: %s is missing", p.Name, field) }
		if !token.MatchString(p.Name) {
			t.Errorf("provider %q: Name must be a lower-case subject token", p.Name)
		}
		if seen[p.Name] {
			t.Errorf("provider %q registered twice", p.Name)
		}
		seen[p.Name] = true
		if !strings.HasPrefix(p.TypePrefix, "com.") && !strings.Contains(p.TypePrefix, ".") {
			t.Errorf("provider %q: TypePrefix %q is not reverse-DNS", p.Name, p.TypePrefix)
		}
		for field, a := range map[string]Answer{"Success": p.Success, "Rejection": p.Rejection, "Retry": p.Retry} {
			if a.Status == 0 {
				missing(field)
			}
		}
		if p.Success.Status/100 != 2 || p.Rejection.Status/100 != 4 {
			t.Errorf("provider %q: Success %d must be 2xx and Rejection %d 4xx", p.Name, p.Success.Status, p.Rejection.Status)
		}
		if p.Retry.Status != 0 && (p.Retry.Status < 400 || p.Retry.Header.Get("Retry-After") == "") {
			t.Errorf("provider %q: Retry %d must be a 4xx or 5xx with Retry-After", p.Name, p.Retry.Status)
		}
		for field, fn := range map[string]bool{
			"Authenticate": p.Authenticate != nil, "Map": p.Map != nil, "Sign": p.Sign != nil,
			"CheckCredentials": p.CheckCredentials != nil, "DemoCredentials": p.DemoCredentials != nil,
			"Load.Example": p.Load.Example != nil,
		} {
			if !fn {
				missing(field)
			}
		}
		if p.Load.DefaultType == "" {
			missing("Load.DefaultType")
		}
		if t.Failed() {
			continue
		}
		// The parts work together: the demo's credentials are usable, a load example signed
		// with them authenticates and maps to its type.
		creds := p.DemoCredentials("demo-secret")
		if err := p.CheckCredentials(creds); err != nil {
			t.Errorf("provider %q: DemoCredentials refused by CheckCredentials: %v", p.Name, err)
			continue
		}
		ex := p.Load.Example(p.Load.DefaultType, "run1", 7, time.Unix(1725548450, 0))
		h, err := p.Sign(creds, ex.Body, time.Now())
		if err != nil {
			t.Errorf("provider %q: Sign: %v", p.Name, err)
			continue
		}
		for name, values := range ex.Header {
			h[name] = values
		}
		req := Request{Header: h, Body: ex.Body}
		v, err := p.Verify(req, creds)
		if err != nil {
			t.Errorf("provider %q: its own load example, signed, does not verify: %v", p.Name, err)
			continue
		}
		if ex.IDFromBody != nil {
			ex.ID = ex.IDFromBody(ex.Body)
		}
		ev, err := v.Map()
		// (A type may gain a refinement, as CentrePoint's upload.completed.)
		if err != nil || (ev.Type != p.Load.DefaultType && !strings.HasPrefix(ev.Type, p.Load.DefaultType+".")) || ev.ID != ex.ID {
			t.Errorf("provider %q: load example maps to %+v, %v; want type %q, id %q", p.Name, ev, err, p.Load.DefaultType, ex.ID)
		}
		if other := p.Load.Example(p.Load.DefaultType, "run1", 8, time.Unix(1725548450, 0)); string(other.Body) == string(ex.Body) && other.ID == ex.ID {
			t.Errorf("provider %q: load examples 7 and 8 are the same event", p.Name)
		}
	}
}
