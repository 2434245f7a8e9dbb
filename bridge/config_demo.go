package bridge

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/webhookbridge/bridge/providers"
)

// DemoSecret is every credential of demo mode.
const DemoSecret = "demo-secret"

// DemoAdminListen is where the demo (`bridge` without -config) serves the admin listener: the
// console at /, /metrics and /-/reload. DemoConfig leaves it off, so that the tests and tools
// that start from DemoConfig can run side by side; the demo command sets it.
const DemoAdminListen = "127.0.0.1:9090"

// DemoConfig is demo mode (docs/configuration.md): loopback only, an embedded server, one endpoint per
// provider with its name as id and every secret "demo-secret".
func DemoConfig() *Config {
	cfg := &Config{}
	cfg.HTTP.Listen = "127.0.0.1:8080"
	for _, p := range providers.All() {
		creds := p.DemoCredentials(DemoSecret)
		cfg.Endpoints = append(cfg.Endpoints, EndpointConfig{
			ID: p.Name, Provider: p.Name, Secrets: creds.Secrets, BasicAuth: creds.BasicAuth, BearerTokens: creds.BearerTokens,
			// A provider configured per endpoint (hmac) brings its demo keys, compiled as any.
			ProviderKeys: demoKeys(p),
		})
	}
	cfg.ApplyDefaults()
	return cfg
}

// demoKeys are a provider's DemoKeys as the endpoint's own keys.
func demoKeys(p *providers.Provider) map[string]yaml.Node {
	if p.DemoKeys == "" {
		return nil
	}
	var keys map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(p.DemoKeys), &keys); err != nil {
		panic(fmt.Sprintf("provider %s: DemoKeys: %v", p.Name, err)) // a mistake in the provider's file
	}
	return keys
}
