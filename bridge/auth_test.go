package bridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestRemoteNATSAuthentication connects to real servers that demand a user/password or a token.
func TestRemoteNATSAuthentication(t *testing.T) {
	tests := []struct {
		name    string
		server  func(*server.Options)
		client  func(*bridge.NATSConfig)
		wantErr string
	}{
		{"user and password", func(o *server.Options) { o.Username, o.Password = "bridge", "pw" },
			func(c *bridge.NATSConfig) { c.User, c.Password = "bridge", "pw" }, ""},
		{"wrong password", func(o *server.Options) { o.Username, o.Password = "bridge", "pw" },
			func(c *bridge.NATSConfig) { c.User, c.Password = "bridge", "nope" }, "connect to NATS"},
		{"token", func(o *server.Options) { o.Authorization = "s3cret-token" },
			func(c *bridge.NATSConfig) { c.Token = "s3cret-token" }, ""},
		{"no credentials", func(o *server.Options) { o.Authorization = "s3cret-token" },
			func(c *bridge.NATSConfig) {}, "connect to NATS"},
		{"credentials file missing", func(o *server.Options) {},
			func(c *bridge.NATSConfig) { c.Credentials = "/nonexistent/bridge.creds" }, "nats.credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := natstest.WithOptions(t, tc.server)
			cfg := testConfig(ns.URL())
			tc.client(&cfg.NATS)
			app, err := bridge.Start(context.Background(), cfg, zerolog.Nop())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				app.Shutdown()
				return
			}
			if err == nil {
				app.Shutdown()
				t.Fatal("started without the right credentials")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want one about %s", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), "s3cret-token") {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}
