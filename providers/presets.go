package providers

import (
	"fmt"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Senders by name (docs/providers/README.md): a sender whose scheme an hmac block can express
// is a preset made of exactly such a block, shipped with the bridge. An endpoint then needs only
// its credentials (`provider: github`), and a user can copy the block (Provider.HMACBlock) to
// describe a sender that is not listed.

// hmacPresetSpec describes one such sender.
type hmacPresetSpec struct {
	name       string // the provider's name: "github"
	typePrefix string // "com.github"
	// block is the hmac block as a user would write it in YAML (the value of "hmac:").
	block string
	// success is the status the sender documents for a delivery it accepted (0: 200).
	success int
	// keys are endpoint keys beyond the common ones (e.g. "public_url"), read by configure.
	keys []string
	// configure, when set, builds the endpoint's scheme from the compiled block and its keys
	// (a public URL, a verify token); nil: the block as compiled.
	configure func(s *hmacScheme, creds Credentials, read SettingReader) (*hmacScheme, error)
	// handshake answers the sender's requests that are not events (nil: none).
	handshake func(s *hmacScheme, req Request, creds Credentials) (Answer, bool)
	// load describes its webhooks to the load tool and the registry tests.
	load LoadProfile
}

// hmacPreset builds a provider from spec. The block is compiled once, here; an error in it is a
// mistake in this file and stops the program at start (every test compiles it).
func hmacPreset(spec hmacPresetSpec) *Provider {
	var keys map[string]any
	if err := yaml.Unmarshal([]byte(spec.block), &keys); err != nil {
		panic(fmt.Sprintf("preset %s: block: %v", spec.name, err))
	}
	c, problems := decodeHMACConfig(keys)
	scheme, invalid := compileHMAC(c)
	if problems = append(problems, invalid...); len(problems) > 0 {
		panic(fmt.Sprintf("preset %s: block: %v", spec.name, problems))
	}
	success := spec.success
	if success == 0 {
		success = http.StatusOK
	}
	scheme.success = emptyAnswer(success)
	scheme.rejection = emptyAnswer(http.StatusUnauthorized)
	p := &Provider{
		Name:             spec.name,
		TypePrefix:       spec.typePrefix,
		Success:          scheme.success,
		Rejection:        scheme.rejection,
		Retry:            retryLater(http.StatusServiceUnavailable),
		CheckCredentials: needSecret,
		SettingKeys:      spec.keys,
		HMACBlock:        strings.TrimSpace(spec.block),
		Configure: func(_ string, creds Credentials, read SettingReader) (Settings, error) {
			s := scheme
			if spec.configure != nil {
				var err error
				if s, err = spec.configure(scheme, creds, read); err != nil {
					return Settings{}, err
				}
			}
			return Settings{TypePrefix: spec.typePrefix, Value: s}, nil
		},
		DemoCredentials: func(secret string) Credentials {
			return Credentials{Secrets: []string{secret}, Settings: scheme}
		},
		Authenticate: HMAC.Authenticate,
		Map:          HMAC.Map,
		Sign:         HMAC.Sign,
		Load:         spec.load,
	}
	if spec.handshake != nil {
		p.Handshake = func(req Request, creds Credentials) (Answer, bool) {
			s, _ := creds.Settings.(*hmacScheme)
			if s == nil {
				s = scheme
			}
			return spec.handshake(s, req, creds)
		}
	}
	return p
}
