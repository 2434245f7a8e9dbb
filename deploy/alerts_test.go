package deploy

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestAlertRules: deploy/prometheus/alerts.yaml is a Prometheus rule file whose every rule reads
// only metrics the bridge exports, and it covers what operators must hear about.
func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	exp := exportedMetrics(t)
	read := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %q: needs alert, expr, a severity label and a summary", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("rule %s: for %q: %v", r.Alert, r.For, err)
				}
			}
			names := promqlMetricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("rule %s reads no metric", r.Alert)
			}
			for _, name := range names {
				base, err := exp.resolve(name)
				if err != nil {
					t.Errorf("rule %s reads %s: %v", r.Alert, name, err)
					continue
				}
				read[base] = true
			}
		}
	}
	for _, metric := range []string{
		"bridge_rejections_total",               // a rejection spike per endpoint
		"bridge_nats_connected",                 // NATS unavailable
		"bridge_retry_answers_total",            // the retry answer being given
		"bridge_edge_backlog",                   // the edge backlog growing
		"bridge_stream_bytes",                   // stream storage filling
		"bridge_stream_max_bytes",               //   against its limit
		"bridge_nats_connections_rebuilt_total", // a connection closed for good
		"bridge_rejections_dropped_total",       // rejections not kept
	} {
		if !read[metric] {
			t.Errorf("no rule reads %s", metric)
		}
	}
	if len(alerts) < 5 {
		t.Errorf("%d alerts", len(alerts))
	}
}
