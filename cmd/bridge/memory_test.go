package main

import (
	"testing"

	"github.com/webhookbridge/bridge/bridge"
)

func TestGCPolicy(t *testing.T) {
	embedded := bridge.DemoConfig()
	remote := bridge.DemoConfig()
	remote.NATS.URL = "nats://nats:4222"
	env := func(vars ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for _, v := range vars {
				if v == k {
					return "set", true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name   string
		env    func(string) (string, bool)
		cfg    *bridge.Config
		cgroup int64
		want   gcSettings
	}{
		{"embedded, no container limit: GOGC 200, no soft limit at all", env(), embedded, 0, gcSettings{percent: 200, limit: -1}},
		{"remote: GOGC 300, no soft limit", env(), remote, 0, gcSettings{percent: 300, limit: -1}},
		{"in a 2 GiB container: 90 % of it", env(), embedded, 2 << 30, gcSettings{percent: 200, limit: 2 << 30 / 10 * 9}},
		{"GOGC and GOMEMLIMIT set: left alone", env("GOGC", "GOMEMLIMIT"), remote, 2 << 30, gcSettings{percent: -1, limit: -1}},
	}
	for _, tc := range tests {
		if got := gcPolicy(tc.env, tc.cfg, tc.cgroup); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
