package bridge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	h := startBridge(t, nil)
	h.post("usercheck", userCheckHeaders(testSecret, domainFlagged), domainFlagged)
	h.post("usercheck", userCheckHeaders(testSecret, domainFlagged), domainFlagged) // duplicate
	h.post("usercheck", userCheckHeaders("wrong", domainFlagged), domainFlagged)
	h.post("usercheck", nil, domainFlagged)
	h.post("usercheck", userCheckHeaders(testSecret, []byte("x")), []byte("x")) // unmapped

	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`bridge_requests_total{endpoint="usercheck",status="200"} 3`,
		`bridge_requests_total{endpoint="usercheck",status="401"} 2`,
		`bridge_rejections_total{endpoint="usercheck",reason="bad_signature"} 1`,
		`bridge_rejections_total{endpoint="usercheck",reason="missing_proof"} 1`,
		`bridge_duplicates_total{endpoint="usercheck"} 1`,
		`bridge_unmapped_total{endpoint="usercheck"} 1`,
		`bridge_publish_duration_seconds_count{endpoint="usercheck"} 3`,
		`bridge_nats_connected 1`,
		`bridge_requests_in_flight 0`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
