package bridge

import "github.com/webhookbridge/bridge/providers"

// DemoSecret is every credential of demo mode.
const DemoSecret = "demo-secret"

// DemoConfig is demo mode (docs/configuration.md): loopback only, an embedded server, one endpoint per
// provider with its name as id and every secret "demo-secret".
func DemoConfig() *Config {
	cfg := &Config{}
	cfg.HTTP.Listen = "127.0.0.1:8080"
	for _, p := range providers.All() {
		creds := p.DemoCredentials(DemoSecret)
		cfg.Endpoints = append(cfg.Endpoints, EndpointConfig{
			ID: p.Name, Provider: p.Name, Secrets: creds.Secrets, BasicAuth: creds.BasicAuth, BearerTokens: creds.BearerTokens,
			// A provider configured per endpoint (hmac) brings its demo settings ready-made.
			settings: providers.Settings{Value: creds.Settings},
		})
	}
	cfg.ApplyDefaults()
	return cfg
}
