// Package deploy holds the files that run the bridge in containers; its test checks them, since
// no container engine runs where the tests do.
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/providers"
)

// TestNATSConf parses nats.conf with nats-server's own parser.
func TestNATSConf(t *testing.T) {
	t.Setenv("SERVER_NAME", "nats-1")
	opts, err := server.ProcessConfigFile(filepath.Join("..", "nats.conf"))
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	if !opts.JetStream || opts.StoreDir == "" {
		t.Error("JetStream is not enabled with a store")
	}
	if opts.ServerName != "nats-1" {
		t.Errorf("server_name %q, want it from $SERVER_NAME", opts.ServerName)
	}
	if opts.Cluster.Name == "" || len(opts.Routes) != 3 {
		t.Errorf("cluster %q with %d routes, want a named cluster of 3", opts.Cluster.Name, len(opts.Routes))
	}
	if opts.MaxPayload < 1<<20+64<<10 {
		t.Errorf("max_payload %d is below the bridge's 1 MiB body + 64 KiB headers", opts.MaxPayload)
	}
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   []string          `yaml:"depends_on"`
		Profiles    []string          `yaml:"profiles"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestDockerCompose checks docker-compose.yml's structure: three NATS nodes, two bridge
// replicas and the consumer, files it mounts exist, and the bridge's configuration loads with the
// environment compose gives it.
func TestDockerCompose(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"nats-1", "nats-2", "nats-3", "bridge-1", "bridge-2", "consumer", "responder"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		for _, dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("service %s depends on unknown %s", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s uses undeclared volume %s", name, src)
			}
		}
	}
	for _, name := range []string{"bridge-1", "bridge-2"} {
		s := c.Services[name]
		plan, err := bridge.LoadPlan(filepath.Join("..", "deploy", "bridge.yaml"), func(k string) (string, bool) {
			v, ok := s.Environment[k]
			return v, ok
		})
		if err != nil {
			t.Fatalf("%s: deploy/bridge.yaml: %v", name, err)
		}
		cfg := plan.Config()
		if cfg.Stream.Replicas != 3 || strings.Count(cfg.NATS.URL, ",") != 2 {
			t.Errorf("%s: replicas %d, nats.url %q: want R3 on three seeds", name, cfg.Stream.Replicas, cfg.NATS.URL)
		}
		checkResponderAnswers(t, c.Services["responder"].Entrypoint, c.Services["responder"].Command, cfg)
	}
}

// checkResponderAnswers: the compose responder listens where the bridge asks its questions — the
// same reply prefix, an endpoint of the bridge's that asks questions — so player.verify gets an
// answer instead of the retry answer.
func checkResponderAnswers(t *testing.T, entrypoint, command []string, cfg *bridge.Config) {
	t.Helper()
	if len(entrypoint) != 1 || !strings.HasSuffix(entrypoint[0], "/responder-example") {
		t.Errorf("responder entrypoint %v, want the responder example", entrypoint)
	}
	flags := map[string]string{"-reply-prefix": "webhooks-reply", "-endpoint": "aghanim"} // its defaults
	for i := 0; i+1 < len(command); i += 2 {
		flags[command[i]] = command[i+1]
	}
	if flags["-reply-prefix"] != cfg.Stream.ReplyPrefix {
		t.Errorf("responder -reply-prefix %q, bridge's stream.reply_prefix %q", flags["-reply-prefix"], cfg.Stream.ReplyPrefix)
	}
	if strings.Count(flags["-nats"], ",") != 2 {
		t.Errorf("responder -nats %q: want the three NATS nodes", flags["-nats"])
	}
	for _, ep := range cfg.Endpoints {
		if ep.ID == flags["-endpoint"] && ep.Provider == "aghanim" && (ep.ReplyEvents == nil || len(*ep.ReplyEvents) > 0) {
			return
		}
	}
	t.Errorf("responder -endpoint %q is not an Aghanim endpoint of the bridge that asks questions", flags["-endpoint"])
}

// TestStoreAndForwardDeployment checks the compose profile of store-and-forward mode: the hub's
// configuration (nats-server's own parser: a JetStream domain and a leafnode listener), two
// replicas whose configuration loads in that mode with a domain and a volume each, and hub-apply
// writing exactly their sources.
func TestStoreAndForwardDeployment(t *testing.T) {
	opts, err := server.ProcessConfigFile(filepath.Join("hub.conf"))
	if err != nil {
		t.Fatalf("deploy/hub.conf: %v", err)
	}
	if !opts.JetStream || opts.JetStreamDomain == "" || opts.LeafNode.Port == 0 || opts.MaxPayload < 1<<20+64<<10 {
		t.Errorf("hub.conf: JetStream %v, domain %q, leafnode port %d, max_payload %d", opts.JetStream, opts.JetStreamDomain, opts.LeafNode.Port, opts.MaxPayload)
	}
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	domains := map[string]string{} // domain → service
	volumes := map[string]string{}
	for _, name := range []string{"hub", "edge-0", "edge-1", "hub-apply"} {
		s, ok := c.Services[name]
		if !ok || !slices.Contains(s.Profiles, "store-and-forward") {
			t.Errorf("service %s missing or not in the store-and-forward profile", name)
			continue
		}
		if !strings.HasPrefix(name, "edge-") {
			continue
		}
		plan, err := bridge.LoadPlan(filepath.Join("edge.yaml"), func(k string) (string, bool) { v, ok := s.Environment[k]; return v, ok })
		if err != nil {
			t.Fatalf("%s: deploy/edge.yaml: %v", name, err)
		}
		cfg := plan.Config()
		e := cfg.NATS.Embedded
		if !cfg.NATS.StoreAndForward() || e.Leaf.HubDomain != opts.JetStreamDomain || !strings.Contains(e.Leaf.URL, "hub:"+strconv.Itoa(opts.LeafNode.Port)) {
			t.Errorf("%s: store-and-forward %v, leaf %+v; want the hub's domain %q and leafnode port", name, cfg.NATS.StoreAndForward(), e.Leaf, opts.JetStreamDomain)
		}
		if other, dup := domains[e.Domain]; dup {
			t.Errorf("%s and %s share the domain %q", name, other, e.Domain)
		}
		domains[e.Domain] = name
		for _, v := range s.Volumes {
			if src, dst, _ := strings.Cut(v, ":"); dst == e.StoreDir {
				if other, dup := volumes[src]; dup {
					t.Errorf("%s and %s share the store volume %s", name, other, src)
				}
				volumes[src] = name
			}
		}
	}
	if len(volumes) != len(domains) {
		t.Errorf("%d replicas with a store volume of their own, want %d", len(volumes), len(domains))
	}
	apply := strings.Join(c.Services["hub-apply"].Command, " ")
	if want := fmt.Sprintf("-replicas %d", len(domains)); !strings.Contains(apply, want) {
		t.Errorf("hub-apply %q: want %s (edge-0 … edge-%d)", apply, want, len(domains)-1)
	}
	for d := range domains {
		if !slices.Contains(bridge.EdgeDomains(len(domains)), d) {
			t.Errorf("replica domain %s is not one hub apply -replicas %d sources", d, len(domains))
		}
	}
}

// TestDockerfile checks that the Dockerfile builds commands that exist and runs as non-root.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, m := range regexp.MustCompile(`\./cmd/[a-z-]+`).FindAllString(text, -1) {
		if _, err := os.Stat(filepath.Join("..", m)); err != nil {
			t.Errorf("Dockerfile builds %s: %v", m, err)
		}
	}
	if !strings.Contains(text, "USER nonroot") || !strings.Contains(text, "CGO_ENABLED=0") {
		t.Error("the image must be a static binary run as non-root")
	}
	if n := strings.Count(text, "FROM "); n < 2 {
		t.Errorf("%d stages, want a multi-stage build", n)
	}
}

// TestExampleConfig loads examples/config.yaml with every variable set: it has an endpoint for
// every registered provider, and an example payload for each in examples/<provider>/.
func TestExampleConfig(t *testing.T) {
	// Every variable set to a value any secret may take (base64, as whsec_ secrets need).
	plan, err := bridge.LoadPlan(filepath.Join("..", "examples", "config.yaml"), func(string) (string, bool) { return "c2VjcmV0", true })
	if err != nil {
		t.Fatal(err)
	}
	cfg := plan.Config()
	served := map[string]bool{}
	for _, ep := range cfg.Endpoints {
		served[ep.Provider] = true
	}
	for _, name := range providers.Names() {
		if !served[name] {
			t.Errorf("examples/config.yaml has no endpoint for provider %s", name)
		}
		if files, _ := filepath.Glob(filepath.Join("..", "examples", name, "*")); len(files) == 0 {
			t.Errorf("examples/%s/ has no example payload", name)
		}
	}
}
