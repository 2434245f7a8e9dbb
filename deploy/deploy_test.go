// Package deploy holds the files that run the bridge in containers; its test checks them, since
// no container engine runs where the tests do.
package deploy

import (
	"fmt"
	"net/url"
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

// TestNATSConf parses nats.conf with nats-server's own parser, in the environment compose gives
// the service nats-1.
func TestNATSConf(t *testing.T) {
	c, _ := readCompose(t)
	for k, v := range c.Services["nats-1"].Environment {
		t.Setenv(k, v)
	}
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

// composeVar is a variable reference compose interpolates: ${VAR}, ${VAR:?message},
// ${VAR:-default}, … and the escape $$.
var composeVar = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)((:?[?+-])([^}]*))?\}|\$[A-Za-z_][A-Za-z0-9_]*`)

// interpolateCompose does what docker compose does with the variables of .env: it replaces every
// reference. Each must be ${VAR:?…} naming scripts/compose-env.sh, so that compose stops with that
// hint when .env is missing, and each VAR must be one the script writes. It returns the
// variables referenced.
func interpolateCompose(t *testing.T, text string, env map[string]string) (string, map[string]bool) {
	t.Helper()
	used := map[string]bool{}
	out := composeVar.ReplaceAllStringFunc(text, func(ref string) string {
		if ref == "$$" {
			return "$"
		}
		m := composeVar.FindStringSubmatch(ref)
		if m[1] == "" {
			t.Errorf("docker-compose.yml: %s: write ${VAR:?run scripts/compose-env.sh}", ref)
			return ref
		}
		if m[3] != ":?" || !strings.Contains(m[4], "scripts/compose-env.sh") {
			t.Errorf("docker-compose.yml: %s: write ${%s:?run scripts/compose-env.sh}, so that compose says what is missing", ref, m[1])
		}
		used[m[1]] = true
		v, ok := env[m[1]]
		if !ok {
			t.Errorf("docker-compose.yml: %s is not written by scripts/compose-env.sh", m[1])
		}
		return v
	})
	return out, used
}

// readCompose parses docker-compose.yml with the variables of a .env that
// scripts/compose-env.sh wrote.
func readCompose(t *testing.T) (composeFile, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	env := composeEnv(t)
	text, used := interpolateCompose(t, string(data), env)
	for k := range env {
		if !used[k] {
			t.Errorf("scripts/compose-env.sh writes %s, which docker-compose.yml never uses", k)
		}
	}
	var c composeFile
	if err := yaml.Unmarshal([]byte(text), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c, env
}

// TestDockerCompose checks docker-compose.yml's structure: three NATS nodes, two bridge
// replicas and the consumer, files it mounts exist, and the bridge's configuration loads with the
// environment compose gives it (the .env scripts/compose-env.sh writes). Every port is published
// on loopback only, and every NATS client logs in as its user.
func TestDockerCompose(t *testing.T) {
	c, env := readCompose(t)
	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") || strings.Count(p, ":") != 2 {
				t.Errorf("service %s publishes %q: want 127.0.0.1:HOST:CONTAINER (loopback only)", name, p)
			}
		}
	}
	natsConf, err := os.ReadFile(filepath.Join("..", "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nats-1", "nats-2", "nats-3"} {
		checkNATSEnvironment(t, name, "nats.conf", string(natsConf), c.Services[name].Environment)
	}
	for name, user := range map[string]string{"consumer": "consumer", "responder": "responder"} {
		s := c.Services[name]
		checkNATSURLs(t, name+" -nats", flagValue(s.Command, "-nats"), user, env[natsPasswordVars[user]], 3)
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
		if cfg.NATS.User != "bridge" || cfg.NATS.Password != env["NATS_BRIDGE_PASSWORD"] {
			t.Errorf("%s: logs in to NATS as %q: want the bridge user with $NATS_BRIDGE_PASSWORD", name, cfg.NATS.User)
		}
		checkResponderAnswers(t, c.Services["responder"].Entrypoint, c.Services["responder"].Command, cfg)
	}
}

// checkNATSEnvironment: a NATS service's environment has every variable its configuration file
// references (nats-server stops at an unset one), with the value .env gives it.
func checkNATSEnvironment(t *testing.T, service, file, conf string, environment map[string]string) {
	t.Helper()
	for _, v := range natsVars(conf) {
		if _, ok := environment[v]; !ok {
			t.Errorf("service %s: %s references $%s, which its environment lacks", service, file, v)
		}
	}
}

// checkNATSURLs: a comma-separated list of n URLs, each logging in as user with password.
func checkNATSURLs(t *testing.T, what, list, user, password string, n int) {
	t.Helper()
	urls := strings.Split(list, ",")
	if len(urls) != n {
		t.Errorf("%s: %d URLs, want %d", what, len(urls), n)
	}
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		p, _ := u.User.Password()
		if u.User.Username() != user || p != password || password == "" {
			t.Errorf("%s: %s logs in as %q: want %s with its password", what, u.Redacted(), u.User.Username(), user)
		}
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
	c, env := readCompose(t)
	for k, v := range c.Services["hub"].Environment {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join("hub.conf"))
	if err != nil {
		t.Fatalf("deploy/hub.conf with the hub service's environment: %v", err)
	}
	if !opts.JetStream || opts.JetStreamDomain == "" || opts.LeafNode.Port == 0 || opts.MaxPayload < 1<<20+64<<10 {
		t.Errorf("hub.conf: JetStream %v, domain %q, leafnode port %d, max_payload %d", opts.JetStream, opts.JetStreamDomain, opts.LeafNode.Port, opts.MaxPayload)
	}
	hubConf, err := os.ReadFile("hub.conf")
	if err != nil {
		t.Fatal(err)
	}
	checkNATSEnvironment(t, "hub", "hub.conf", string(hubConf), c.Services["hub"].Environment)
	checkNATSURLs(t, "hub-apply -nats", flagValue(c.Services["hub-apply"].Command, "-nats"), "admin", env["NATS_ADMIN_PASSWORD"], 1)
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
		checkNATSURLs(t, name+" leaf.url", e.Leaf.URL, "leaf", env["NATS_LEAF_PASSWORD"], 1)
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
	plan, err := bridge.LoadPlan(filepath.Join("..", "examples", "config.yaml"), func(name string) (string, bool) {
		if strings.HasSuffix(name, "_HEX") {
			return "736563726574", true // a key written in hex (Adyen's)
		}
		return "c2VjcmV0", true
	})
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

// TestNoDemoCredentials: what the repository ships for deployment carries no credential — not
// the demo's, not a placeholder meant to be replaced (the bridge refuses both outside demo
// mode, and a NATS password left at one would be public). Credentials come from files the
// user generates: .env, secrets.env, nats-users.env.
func TestNoDemoCredentials(t *testing.T) {
	files := []string{filepath.Join("..", "docker-compose.yml"), filepath.Join("..", "nats.conf")}
	for _, pattern := range []string{"*.yaml", "*.yml", "*.conf", filepath.Join("kubernetes", "*"), filepath.Join("kubernetes", "*", "*")} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	demo := regexp.MustCompile(`(?i)demo-secret|replace-me`)
	checked := 0
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(data), "\n") {
			if m := demo.FindString(line); m != "" {
				t.Errorf("%s:%d holds %q", f, i+1, m)
			}
		}
	}
	if checked < 15 {
		t.Errorf("checked %d files: the globs miss the deployment files", checked)
	}
}

// imageRef is an image reference: name, tag and digest.
var imageRef = regexp.MustCompile(`^([a-z0-9./_-]+)(?::([A-Za-z0-9._-]+))?(?:@(sha256:[0-9a-f]{64}))?$`)

// TestImagesPinned: every base image the Dockerfile builds on and every image compose and the
// Kubernetes NATS values pull is pinned by digest — a tag alone can move under a released
// commit — and the NATS image is the same exact release everywhere. The Dockerfile's Go is at
// least go.mod's.
func TestImagesPinned(t *testing.T) {
	dockerfile, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)`).FindAllStringSubmatch(string(dockerfile), -1)
	stages := regexp.MustCompile(`(?im)\bAS\s+(\S+)\s*$`).FindAllStringSubmatch(string(dockerfile), -1)
	for _, f := range froms {
		if slices.ContainsFunc(stages, func(s []string) bool { return s[1] == f[1] }) {
			continue // an earlier stage
		}
		m := imageRef.FindStringSubmatch(f[1])
		if m == nil || m[3] == "" {
			t.Errorf("Dockerfile FROM %s: pin it by digest (name:tag@sha256:…)", f[1])
		}
		if m != nil && m[1] == "golang" {
			checkGoVersion(t, m[2])
		}
	}

	c, _ := readCompose(t)
	built := map[string]bool{}
	for _, s := range c.Services {
		if s.Build != nil {
			built[s.Image] = true
		}
	}
	var natsImages []string
	for name, s := range c.Services {
		if built[s.Image] {
			continue // this repository's image, built by compose
		}
		m := imageRef.FindStringSubmatch(s.Image)
		if m == nil || m[3] == "" || !exactTag.MatchString(m[2]) {
			t.Errorf("service %s image %q: want an exact release and its digest (name:1.2.3@sha256:…)", name, s.Image)
		}
		if m != nil && m[1] == "nats" {
			natsImages = append(natsImages, s.Image)
		}
	}
	v := readHelmValues(t)
	k8s := fmt.Sprintf("%s:%s@%s", v.Container.Image.Repository, v.Container.Image.Tag, v.Container.Image.Digest)
	if len(natsImages) == 0 {
		t.Error("compose runs no nats image")
	}
	for _, img := range natsImages {
		if img != k8s {
			t.Errorf("compose runs %s, the Kubernetes NATS values %s: keep them the same release", img, k8s)
		}
	}
}

// checkGoVersion: the golang image's tag is an exact release no older than go.mod's go line
// (the image sets GOTOOLCHAIN=local: an older Go refuses to build the module).
func checkGoVersion(t *testing.T, tag string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	version := func(s string) []int {
		var v []int
		for _, p := range strings.Split(s, ".") {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil
			}
			v = append(v, n)
		}
		for len(v) < 3 {
			v = append(v, 0)
		}
		return v
	}
	image, need := version(tag), version(string(m[1]))
	if image == nil || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tag) {
		t.Errorf("Dockerfile golang:%s: want an exact Go release (1.2.3)", tag)
		return
	}
	if slices.Compare(image, need) < 0 {
		t.Errorf("Dockerfile golang:%s is older than go.mod's go %s", tag, m[1])
	}
}

// TestDockerignore: the build context leaves out local state and credentials — the embedded
// server's data, the .env compose reads, version control, test binaries and profiles.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	for _, want := range []string{"data/", ".git", ".env", "*.test", "*.prof"} {
		if !slices.Contains(patterns, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	// Nothing the build needs: the Dockerfile copies go.mod, go.sum and the sources.
	for _, p := range patterns {
		for _, needed := range []string{"go.mod", "go.sum", "cmd/", "bridge/", "providers/", "internal/", "cloudevents/", "*.go"} {
			if strings.TrimPrefix(strings.TrimSuffix(p, "/"), "/") == strings.TrimSuffix(needed, "/") {
				t.Errorf(".dockerignore excludes %s, which the build needs", p)
			}
		}
	}
}
