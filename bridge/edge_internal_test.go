package bridge

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestCheckAckOrigin: a PubAck is accepted only from the stream the bridge publishes to and, in
// store-and-forward mode, from the local domain — never from the hub or another replica's stream.
func TestCheckAckOrigin(t *testing.T) {
	edge := &Broker{stream: jetstream.StreamConfig{Name: "WEBHOOKS_EDGE"}, domain: "edge-0"}
	remote := &Broker{stream: jetstream.StreamConfig{Name: "WEBHOOKS"}}
	tests := []struct {
		name           string
		b              *Broker
		stream, domain string
		ok             bool
	}{
		{"edge: the local stream, the local domain", edge, "WEBHOOKS_EDGE", "edge-0", true},
		{"edge: the hub's stream", edge, "WEBHOOKS", "hub", false},
		{"edge: another replica's local stream", edge, "WEBHOOKS_EDGE", "edge-1", false},
		{"edge: no domain given", edge, "WEBHOOKS_EDGE", "", false},
		{"remote: the stream, in any domain the cluster has", remote, "WEBHOOKS", "central", true},
		{"remote: another stream on the subjects", remote, "AUDIT", "", false},
	}
	for _, tc := range tests {
		if err := tc.b.checkAckOrigin(tc.stream, tc.domain); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want accepted %v", tc.name, err, tc.ok)
		}
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs("nats-leaf://user:s3cret@hub:7422,nats-leaf://hub2:7422")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "hub2:7422") {
		t.Errorf("redactURLs = %q", got)
	}
}
