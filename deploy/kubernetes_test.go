package deploy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// The Kubernetes objects of deploy/kubernetes/, as far as the test reads them.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`       // ConfigMap; Secret (base64)
	StringData map[string]string `yaml:"stringData"` // Secret
	Spec       yaml.Node         `yaml:"spec"`
	file       string
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []any             `yaml:"matchExpressions"`
}

type deploymentSpec struct {
	Replicas *int          `yaml:"replicas"`
	Selector labelSelector `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Spec podSpec `yaml:"spec"`
	} `yaml:"template"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               securityContext `yaml:"securityContext"`
	TopologySpreadConstraints     []struct {
		LabelSelector labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string `yaml:"name"`
			Items []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type securityContext struct {
	RunAsNonRoot             *bool                    `yaml:"runAsNonRoot"`
	RunAsUser                *int64                   `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool                    `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool                    `yaml:"allowPrivilegeEscalation"`
	Capabilities             *struct{ Drop []string } `yaml:"capabilities"`
	SeccompProfile           *struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom any    `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
	TimeoutSeconds int `yaml:"timeoutSeconds"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name       string      `yaml:"name"`
		Port       int         `yaml:"port"`
		TargetPort intOrString `yaml:"targetPort"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MinAvailable   *intOrString  `yaml:"minAvailable"`
	MaxUnavailable *intOrString  `yaml:"maxUnavailable"`
	Selector       labelSelector `yaml:"selector"`
}

// intOrString is Kubernetes' IntOrString: a port number or a port's name, a count or a percentage.
type intOrString string

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a number or a string")
	}
	*v = intOrString(n.Value)
	return nil
}

// The API versions the manifests may use, by kind.
var k8sKinds = map[string]string{
	"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
	"Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1",
}

// The distroless image's "nonroot" user, which the Dockerfile's USER nonroot:nonroot names.
const distrolessNonroot = 65532

// TestKubernetesManifests checks deploy/kubernetes/: kustomization.yaml lists every manifest;
// the objects' references agree (selectors, ports, names of the ConfigMap, Secret and volume);
// the ConfigMap's bridge.yaml loads with exactly the Secret's keys as its environment (the keys
// of secrets.env.example, with random values); the pods are locked down and sized; the bridge
// logs in to NATS as its user; and a real bridge serving that configuration answers the probes'
// paths on the port they name and /metrics on the admin port alone.
func TestKubernetesManifests(t *testing.T) {
	dir := "kubernetes"
	objects := readKustomization(t, dir)

	byKind := map[string][]*k8sObject{}
	namespace := ""
	for _, o := range objects {
		byKind[o.Kind] = append(byKind[o.Kind], o)
		if o.Kind == "Namespace" {
			namespace = o.Metadata.Name
		}
	}
	seen := map[string]string{}
	for _, o := range objects {
		if want, ok := k8sKinds[o.Kind]; !ok || o.APIVersion != want {
			t.Errorf("%s: %s %s: want one of the kinds %v with its apiVersion", o.file, o.APIVersion, o.Kind, slices.Sorted(maps.Keys(k8sKinds)))
		}
		if o.Metadata.Name == "" {
			t.Errorf("%s: a %s without a name", o.file, o.Kind)
		}
		key := o.Kind + "/" + o.Metadata.Name
		if prev, dup := seen[key]; dup {
			t.Errorf("%s and %s both define %s", prev, o.file, key)
		}
		seen[key] = o.file
		if o.Kind != "Namespace" && o.Metadata.Namespace != namespace {
			t.Errorf("%s: %s in namespace %q, want the Namespace's %q", o.file, key, o.Metadata.Namespace, namespace)
		}
	}
	find := func(kind, name string) *k8sObject {
		for _, o := range byKind[kind] {
			if o.Metadata.Name == name {
				return o
			}
		}
		return nil
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} {
		if len(byKind[kind]) != 1 {
			t.Fatalf("%d %s objects, want one", len(byKind[kind]), kind)
		}
	}

	// The Deployment and its one container.
	depObj := byKind["Deployment"][0]
	var dep deploymentSpec
	decodeSpec(t, depObj, &dep)
	if dep.Replicas == nil || *dep.Replicas < 2 {
		t.Errorf("Deployment replicas %v, want at least 2", dep.Replicas)
	}
	selector := dep.Selector.MatchLabels
	if len(selector) == 0 || len(dep.Selector.MatchExpressions) > 0 {
		t.Fatalf("Deployment selector %+v: want matchLabels only", dep.Selector)
	}
	if !selects(selector, dep.Template.Metadata.Labels) {
		t.Errorf("Deployment selector %v does not match its template's labels %v", selector, dep.Template.Metadata.Labels)
	}
	pod := dep.Template.Spec
	for _, c := range pod.TopologySpreadConstraints {
		if !maps.Equal(c.LabelSelector.MatchLabels, selector) {
			t.Errorf("topologySpreadConstraints selector %v, want the Deployment's %v", c.LabelSelector.MatchLabels, selector)
		}
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the bridge alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "webhook-bridge:latest" || len(c.Command) != 0 {
		t.Errorf("image %q command %v: want webhook-bridge:latest with the image's ENTRYPOINT", c.Image, c.Command)
	}
	type containerPort = struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}
	var port, adminPort containerPort // the webhooks' and the admin listener's
	for _, p := range c.Ports {
		switch p.Name {
		case "http":
			port = p
		case "admin":
			adminPort = p
		default:
			t.Errorf("container port %+v: want http and admin only", p)
		}
	}
	if port.ContainerPort == 0 || adminPort.ContainerPort == 0 {
		t.Fatalf("container ports %+v, want http and admin", c.Ports)
	}
	isPort := func(p containerPort, v intOrString) bool {
		n, err := strconv.Atoi(string(v))
		return err == nil && n == p.ContainerPort || string(v) == p.Name
	}
	portOf := func(what string, v intOrString) {
		t.Helper()
		if !isPort(port, v) {
			t.Errorf("%s %q is not the container's port %d (%q)", what, v, port.ContainerPort, port.Name)
		}
	}
	dockerfile, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^EXPOSE (\d+)`).FindSubmatch(dockerfile); m == nil || string(m[1]) != strconv.Itoa(port.ContainerPort) {
		t.Errorf("containerPort %d, the Dockerfile's EXPOSE %q", port.ContainerPort, m)
	}
	if !bytes.Contains(dockerfile, []byte(`ENTRYPOINT ["/usr/local/bin/bridge"]`)) {
		t.Error("the Dockerfile's ENTRYPOINT is not /usr/local/bin/bridge, which the container's args are for")
	}

	// Probes: the paths the bridge serves, on the container's port.
	for _, p := range []struct {
		name  string
		probe *probe
		path  string
	}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s with httpGet", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s path %q, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		portOf(p.name+" port", p.probe.HTTPGet.Port)
		// The bridge answers both within a second; Kubernetes' default timeout is exactly that.
		if p.probe.TimeoutSeconds < 2 {
			t.Errorf("%s timeoutSeconds %d: leave the bridge's one second some margin", p.name, p.probe.TimeoutSeconds)
		}
	}

	// The configuration: -config names the file the ConfigMap volume puts there.
	configPath := flagValue(c.Args, "-config")
	var configMap *k8sObject
	configKey := ""
	for _, m := range c.VolumeMounts {
		rel, err := filepath.Rel(m.MountPath, configPath)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			if configMap = find("ConfigMap", v.ConfigMap.Name); configMap == nil {
				t.Fatalf("volume %s: no ConfigMap %s", v.Name, v.ConfigMap.Name)
			}
			switch {
			case m.SubPath != "":
				configKey = m.SubPath // the mount is the key's file itself
				if rel != "." {
					configKey = ""
				}
			case len(v.ConfigMap.Items) > 0:
				for _, it := range v.ConfigMap.Items {
					if it.Path == rel {
						configKey = it.Key
					}
				}
			default:
				configKey = rel
			}
		}
	}
	if configMap == nil || configMap.Data[configKey] == "" {
		t.Fatalf("-config %q is not a key of a ConfigMap mounted in the container", configPath)
	}

	// Its environment: the Secret's keys, and nothing else asked of it goes unset or unused.
	env := map[string]string{}
	var secret *k8sObject
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			t.Errorf("envFrom %+v: want the Secret only", from)
			continue
		}
		if secret = find("Secret", from.SecretRef.Name); secret == nil {
			t.Fatalf("envFrom names Secret %s, which is not in the manifests", from.SecretRef.Name)
		}
		maps.Copy(env, secretValues(t, secret))
	}
	if secret == nil {
		t.Fatal("the container takes no Secret as its environment")
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	asked := map[string]bool{}
	getenv := func(k string) (string, bool) {
		asked[k] = true
		v, ok := env[k]
		return v, ok
	}
	plan, err := bridge.ParsePlan(strings.NewReader(configMap.Data[configKey]), getenv)
	if err != nil {
		t.Fatalf("ConfigMap %s %s with the Secret's keys: %v", configMap.Metadata.Name, configKey, err)
	}
	cfg := plan.Config()
	for _, k := range slices.Sorted(maps.Keys(secretValues(t, secret))) {
		if !asked[k] {
			t.Errorf("Secret %s key %s is no ${VAR} of %s", secret.Metadata.Name, k, configKey)
		}
	}
	if cfg.NATS.URL == "" || cfg.NATS.StoreAndForward() {
		t.Errorf("nats.url %q: a Deployment's replicas are stateless, against a remote NATS (store-and-forward needs a StatefulSet)", cfg.NATS.URL)
	}
	if cfg.Stream.Replicas != 3 {
		t.Errorf("stream.replicas %d, want 3 on the three-node cluster", cfg.Stream.Replicas)
	}
	if _, p, err := net.SplitHostPort(cfg.HTTP.Listen); err != nil || p != strconv.Itoa(port.ContainerPort) {
		t.Errorf("http.listen %q, containerPort %d", cfg.HTTP.Listen, port.ContainerPort)
	}
	if _, p, err := net.SplitHostPort(cfg.HTTP.AdminListen); err != nil || p != strconv.Itoa(adminPort.ContainerPort) {
		t.Errorf("http.admin_listen %q, the admin containerPort %d", cfg.HTTP.AdminListen, adminPort.ContainerPort)
	}
	if cfg.HTTP.AdminToken == "" || cfg.HTTP.AdminToken != env["ADMIN_TOKEN"] {
		t.Error("http.admin_token is not the Secret's ADMIN_TOKEN")
	}
	if cfg.NATS.User != "bridge" || cfg.NATS.Password == "" || cfg.NATS.Password != env["NATS_BRIDGE_PASSWORD"] {
		t.Errorf("nats.user %q: want the bridge user (nats/values.yaml) with the Secret's NATS_BRIDGE_PASSWORD", cfg.NATS.User)
	}
	// The ingress controller's range, never a pod network's: any address in it may claim to be
	// any client.
	if len(cfg.HTTP.TrustedProxies) == 0 {
		t.Error("http.trusted_proxies is empty: behind the ingress every client would be the ingress controller")
	}
	for _, p := range cfg.HTTP.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if addr, aerr := netip.ParseAddr(p); err != nil && aerr == nil {
			prefix, err = netip.PrefixFrom(addr, addr.BitLen()), nil
		}
		if err != nil {
			t.Errorf("http.trusted_proxies %q: %v", p, err)
		} else if min := 16 + 32*btoi(prefix.Addr().Is6()); prefix.Bits() < min {
			t.Errorf("http.trusted_proxies %q: wider than /%d, a whole network rather than the ingress controller's pods", p, min)
		}
	}
	if cfg.HTTP.TLS.CertFile != "" {
		t.Error("the bridge serves HTTPS, but the probes and the Service speak HTTP")
	}

	// Service and PodDisruptionBudget select the Deployment's pods, all of them.
	svcObj := byKind["Service"][0]
	var svc serviceSpec
	decodeSpec(t, svcObj, &svc)
	if !maps.Equal(svc.Selector, selector) {
		t.Errorf("Service selector %v, want the Deployment's %v", svc.Selector, selector)
	}
	if len(svc.Ports) != 1 || svc.Ports[0].Port != 80 {
		t.Errorf("Service ports %+v, want port 80", svc.Ports)
	}
	for _, p := range svc.Ports {
		portOf("Service targetPort", p.TargetPort)
		if isPort(adminPort, p.TargetPort) {
			t.Errorf("the Service exposes the admin port %q", p.TargetPort)
		}
	}
	var pdb pdbSpec
	decodeSpec(t, byKind["PodDisruptionBudget"][0], &pdb)
	if !maps.Equal(pdb.Selector.MatchLabels, selector) || len(pdb.Selector.MatchExpressions) > 0 {
		t.Errorf("PodDisruptionBudget selector %+v, want the Deployment's %v", pdb.Selector, selector)
	}
	if pdb.MinAvailable == nil || *pdb.MinAvailable != "1" || pdb.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget minAvailable %v, maxUnavailable %v: want minAvailable 1", pdb.MinAvailable, pdb.MaxUnavailable)
	}

	// Prometheus scrape annotations, if any, name the metrics port (the admin listener's) and path.
	ann := dep.Template.Metadata.Annotations
	if p, ok := ann["prometheus.io/port"]; ok && !isPort(adminPort, intOrString(p)) {
		t.Errorf("prometheus.io/port %q is not the admin port %d, where /metrics is", p, adminPort.ContainerPort)
	}
	if p, ok := ann["prometheus.io/path"]; ok && p != "/metrics" {
		t.Errorf("prometheus.io/path %q, want /metrics", p)
	}

	// Locked down: the image's non-root user, no privileges, a read-only root filesystem.
	sc, psc := c.SecurityContext, pod.SecurityContext
	nonRoot, uid := sc.RunAsNonRoot, sc.RunAsUser // the container's, else the pod's
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if uid == nil {
		uid = psc.RunAsUser
	}
	if nonRoot == nil || !*nonRoot {
		t.Error("runAsNonRoot is not true")
	}
	if uid == nil || *uid != distrolessNonroot {
		t.Errorf("runAsUser is not %d (distroless nonroot)", distrolessNonroot)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("capabilities do not drop ALL")
	}
	if psc.SeccompProfile == nil && sc.SeccompProfile == nil {
		t.Error("no seccompProfile (the restricted Pod Security Standard asks for RuntimeDefault)")
	}

	// Sized: requests and limits for CPU and memory, requests within limits, and memory for at
	// least the peak RSS BENCHMARKS.md measured against an external nats-server.
	quantity := func(what, s string) float64 {
		t.Helper()
		v, err := parseQuantity(s)
		if err != nil {
			t.Errorf("resources %s %q: %v", what, s, err)
		}
		return v
	}
	for _, r := range []string{"cpu", "memory"} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req == "" || lim == "" {
			t.Errorf("resources %s: request %q, limit %q: want both", r, req, lim)
			continue
		}
		if quantity(r+" request", req) > quantity(r+" limit", lim) {
			t.Errorf("resources %s: request %s above limit %s", r, req, lim)
		}
	}
	benchmarks, err := os.ReadFile(filepath.Join("..", "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`\| (?:\*\*)?bridge, external nats-server(?:\*\*)? \|.*peak RSS (\d+) MB`).FindSubmatch(benchmarks); m == nil {
		t.Error("BENCHMARKS.md has no peak RSS for the bridge with an external nats-server")
	} else if rss, _ := strconv.Atoi(string(m[1])); quantity("memory request", c.Resources.Requests["memory"]) < float64(rss)*1e6 {
		t.Errorf("memory request %s is below the %d MB peak RSS of BENCHMARKS.md", c.Resources.Requests["memory"], rss)
	}

	// SIGTERM: the bridge finishes requests in flight for up to 30 s; give it that.
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Errorf("terminationGracePeriodSeconds %v, want more than the bridge's 30 s of draining", g)
	}

	// Who reaches the pods: the NetworkPolicy.
	checkBridgeNetworkPolicy(t, byKind["NetworkPolicy"][0], dep.Template.Metadata.Labels, port, adminPort)
	checkNATSNetworkPolicy(t, dep.Template.Metadata.Labels)

	// A real bridge serving this configuration (against a test nats-server) answers the probes'
	// paths on the webhook port, and the scrape path on the admin port only.
	app := startKubernetesBridge(t, cfg)
	get := func(addr, path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path} {
		if code, body := get(app.Addr(), path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	if code, _ := get(app.AdminAddr(), "/metrics"); code != http.StatusOK {
		t.Errorf("GET /metrics on the admin port: %d", code)
	}
	if code, _ := get(app.Addr(), "/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the webhook port: %d, want 404 (the ingress forwards every path)", code)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// startKubernetesBridge runs a bridge of cfg with its listeners on loopback, against a test
// nats-server, and waits until it is ready.
func startKubernetesBridge(t *testing.T, cfg *bridge.Config) *bridge.App {
	t.Helper()
	ns := natstest.Start(t)
	c := *cfg
	c.NATS.URL = ns.URL()
	c.Stream.Replicas = 1
	c.HTTP.Listen, c.HTTP.AdminListen = "127.0.0.1:0", "127.0.0.1:0"
	app, err := bridge.Start(context.Background(), &c, zerolog.Nop())
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	waitFor(t, 10*time.Second, "/readyz", func() bool {
		resp, err := http.Get("http://" + app.Addr() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return app
}

// networkPolicySpec is what the test reads of a NetworkPolicy.
type networkPolicySpec struct {
	PodSelector labelSelector `yaml:"podSelector"`
	PolicyTypes []string      `yaml:"policyTypes"`
	Ingress     []struct {
		From []struct {
			NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
			PodSelector       *labelSelector `yaml:"podSelector"`
			IPBlock           any            `yaml:"ipBlock"`
		} `yaml:"from"`
		Ports []struct {
			Port     intOrString `yaml:"port"`
			Protocol string      `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"ingress"`
}

// checkBridgeNetworkPolicy: the policy selects the bridge's pods and lets in only the ingress
// controller's namespace on the webhook port and only Prometheus on the admin port.
func checkBridgeNetworkPolicy(t *testing.T, o *k8sObject, podLabels map[string]string, http, admin struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}) {
	t.Helper()
	var np networkPolicySpec
	decodeSpec(t, o, &np)
	if len(np.PodSelector.MatchLabels) == 0 || !selects(np.PodSelector.MatchLabels, podLabels) {
		t.Errorf("NetworkPolicy %s podSelector %v does not select the bridge's pods %v", o.Metadata.Name, np.PodSelector.MatchLabels, podLabels)
	}
	if !slices.Contains(np.PolicyTypes, "Ingress") {
		t.Errorf("NetworkPolicy %s policyTypes %v: want Ingress", o.Metadata.Name, np.PolicyTypes)
	}
	reaches := map[string][]string{} // port name → who
	for i, rule := range np.Ingress {
		if len(rule.From) == 0 || len(rule.Ports) == 0 {
			t.Errorf("NetworkPolicy %s ingress[%d] lets everyone in or onto every port", o.Metadata.Name, i)
			continue
		}
		for _, p := range rule.Ports {
			name := string(p.Port)
			switch name {
			case strconv.Itoa(http.ContainerPort):
				name = http.Name
			case strconv.Itoa(admin.ContainerPort):
				name = admin.Name
			}
			for _, f := range rule.From {
				who := "?"
				switch {
				case f.IPBlock != nil:
					who = "an ipBlock"
				case f.NamespaceSelector != nil && len(f.NamespaceSelector.MatchLabels) > 0 && f.PodSelector == nil:
					who = "namespace " + f.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
				case f.NamespaceSelector != nil && len(f.NamespaceSelector.MatchLabels) > 0 && f.PodSelector != nil && len(f.PodSelector.MatchLabels) > 0:
					who = "pods " + f.PodSelector.MatchLabels["app.kubernetes.io/name"] + " of namespace " + f.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
				default:
					who = fmt.Sprintf("a wide selector %+v %+v", f.NamespaceSelector, f.PodSelector)
				}
				reaches[name] = append(reaches[name], who)
			}
		}
	}
	if got := reaches[http.Name]; len(got) != 1 || got[0] != "namespace ingress-nginx" {
		t.Errorf("the webhook port is reached by %v: want the ingress controller's namespace alone", got)
	}
	if got := reaches[admin.Name]; len(got) != 1 || got[0] != "pods prometheus of namespace monitoring" {
		t.Errorf("the admin port is reached by %v: want Prometheus alone", got)
	}
	for p := range reaches {
		if p != http.Name && p != admin.Name {
			t.Errorf("NetworkPolicy %s opens port %s, which the container does not serve", o.Metadata.Name, p)
		}
	}
}

// The labels the NATS Helm chart gives the servers of the release "nats" and its nats-box.
var (
	natsServerLabels = map[string]string{"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats"}
	natsBoxLabels    = map[string]string{"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats-box"}
)

// checkNATSNetworkPolicy reads deploy/kubernetes/nats/: a kustomization in namespace nats with the
// Secret nats-users and a NetworkPolicy that selects the NATS servers and lets onto the client
// port only pods labelled as NATS clients — the bridge's among them — and nats-box, and onto the
// cluster port only the servers.
func checkNATSNetworkPolicy(t *testing.T, bridgePodLabels map[string]string) {
	t.Helper()
	dir := filepath.Join("kubernetes", "nats")
	k, objects := readKustomizationIn(t, dir)
	if k.Namespace != "nats" {
		t.Errorf("nats/kustomization.yaml namespace %q, want nats (the Helm release's)", k.Namespace)
	}
	if len(k.SecretGenerator) != 1 || k.SecretGenerator[0].Name != "nats-users" || !k.GeneratorOptions.DisableNameSuffixHash {
		t.Errorf("nats/kustomization.yaml secretGenerator %+v: want nats-users, named as values.yaml names it (no hash suffix)", k.SecretGenerator)
	}
	var policies []*k8sObject
	for _, o := range objects {
		if want, ok := k8sKinds[o.Kind]; !ok || o.APIVersion != want {
			t.Errorf("%s: %s %s", o.file, o.APIVersion, o.Kind)
		}
		if o.Kind == "NetworkPolicy" {
			policies = append(policies, o)
		}
	}
	if len(policies) != 1 {
		t.Fatalf("%d NetworkPolicies in nats/, want one", len(policies))
	}
	o := policies[0]
	var np networkPolicySpec
	decodeSpec(t, o, &np)
	if len(np.PodSelector.MatchLabels) == 0 || !selects(np.PodSelector.MatchLabels, natsServerLabels) || selects(np.PodSelector.MatchLabels, natsBoxLabels) {
		t.Errorf("NATS NetworkPolicy podSelector %v: want the servers %v", np.PodSelector.MatchLabels, natsServerLabels)
	}
	bridgeReaches, boxReaches := false, false
	for i, rule := range np.Ingress {
		if len(rule.From) == 0 || len(rule.Ports) == 0 {
			t.Errorf("NATS NetworkPolicy ingress[%d] lets everyone in or onto every port", i)
			continue
		}
		for _, p := range rule.Ports {
			for _, f := range rule.From {
				if f.IPBlock != nil || f.PodSelector == nil || len(f.PodSelector.MatchLabels) == 0 {
					t.Errorf("NATS NetworkPolicy ingress[%d] port %s: from %+v is not a set of pods by label", i, p.Port, f)
					continue
				}
				switch string(p.Port) {
				case "4222":
					bridgeReaches = bridgeReaches || selects(f.PodSelector.MatchLabels, bridgePodLabels) && f.NamespaceSelector != nil
					boxReaches = boxReaches || selects(f.PodSelector.MatchLabels, natsBoxLabels) && f.NamespaceSelector == nil
				case "6222":
					if !selects(f.PodSelector.MatchLabels, natsServerLabels) || f.NamespaceSelector != nil {
						t.Errorf("the cluster port is reached by %v: want the servers alone", f.PodSelector.MatchLabels)
					}
				default:
					t.Errorf("NATS NetworkPolicy opens port %s", p.Port)
				}
			}
		}
	}
	if !bridgeReaches || !boxReaches {
		t.Errorf("NATS client port: the bridge's pods reach it %v, nats-box %v; want both", bridgeReaches, boxReaches)
	}
}

// kustomization is what the test understands of a kustomization.yaml: resources, and Secrets
// generated from env files.
type kustomization struct {
	APIVersion      string   `yaml:"apiVersion"`
	Kind            string   `yaml:"kind"`
	Namespace       string   `yaml:"namespace"`
	Resources       []string `yaml:"resources"`
	SecretGenerator []struct {
		Name      string   `yaml:"name"`
		Namespace string   `yaml:"namespace"`
		Envs      []string `yaml:"envs"`
		Options   struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"options"`
	} `yaml:"secretGenerator"`
	GeneratorOptions struct {
		DisableNameSuffixHash bool `yaml:"disableNameSuffixHash"`
	} `yaml:"generatorOptions"`
}

// readKustomization reads dir/kustomization.yaml (readKustomizationIn) and returns its objects.
func readKustomization(t *testing.T, dir string) []*k8sObject {
	t.Helper()
	_, objects := readKustomizationIn(t, dir)
	return objects
}

// readKustomizationIn reads dir/kustomization.yaml, checks that it lists every manifest of dir and
// nothing the test would not understand, and returns it and the objects of those manifests. A
// generated Secret is an object too, its keys those of the env file's ".example" (the file the
// user creates is not in the repository), each with a random value.
func readKustomizationIn(t *testing.T, dir string) (kustomization, []*k8sObject) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // patches, other generators, …: this test would not see their effect
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("kustomization.yaml: %v (the test reads only apiVersion, kind, namespace, resources and secretGenerator envs)", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: %s %s", k.APIVersion, k.Kind)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	var manifests []string
	for _, f := range files {
		// values.yaml is the NATS Helm chart's values, not a manifest.
		if base := filepath.Base(f); base != "kustomization.yaml" && base != "values.yaml" {
			manifests = append(manifests, base)
		}
	}
	if listed := slices.Sorted(slices.Values(k.Resources)); !slices.Equal(listed, manifests) {
		t.Errorf("kustomization.yaml resources %v, the directory's manifests %v", listed, manifests)
	}
	var objects []*k8sObject
	for _, name := range k.Resources {
		for _, o := range readManifests(t, filepath.Join(dir, name)) {
			if k.Namespace != "" && o.Kind != "Namespace" {
				o.Metadata.Namespace = k.Namespace
			}
			objects = append(objects, o)
		}
	}
	for _, g := range k.SecretGenerator {
		if len(g.Envs) != 1 {
			t.Errorf("secretGenerator %s: envs %v, want one env file", g.Name, g.Envs)
			continue
		}
		example := filepath.Join(dir, g.Envs[0]+".example")
		if _, err := os.Stat(filepath.Join(dir, g.Envs[0])); err == nil {
			t.Logf("%s exists: the test reads %s instead", g.Envs[0], example)
		}
		s := &k8sObject{APIVersion: "v1", Kind: "Secret", StringData: map[string]string{}, file: example}
		s.Metadata.Name, s.Metadata.Namespace, s.Metadata.Labels = g.Name, g.Namespace, g.Options.Labels
		if k.Namespace != "" {
			s.Metadata.Namespace = k.Namespace
		}
		for _, key := range envFileKeys(t, example) {
			s.StringData[key] = randomSecret(t)
		}
		objects = append(objects, s)
	}
	return k, objects
}

// readManifests reads every document of a YAML file.
func readManifests(t *testing.T, path string) []*k8sObject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var objects []*k8sObject
	dec := yaml.NewDecoder(f)
	for {
		o := &k8sObject{file: path}
		err := dec.Decode(o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if o.Kind == "" && o.APIVersion == "" {
			continue // an empty document
		}
		objects = append(objects, o)
	}
	return objects
}

func decodeSpec(t *testing.T, o *k8sObject, v any) {
	t.Helper()
	if err := o.Spec.Decode(v); err != nil {
		t.Fatalf("%s: %s %s spec: %v", o.file, o.Kind, o.Metadata.Name, err)
	}
}

// secretValues are a Secret's keys and values: stringData, and data decoded from base64.
func secretValues(t *testing.T, s *k8sObject) map[string]string {
	t.Helper()
	values := map[string]string{}
	for k, v := range s.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Errorf("Secret %s data.%s: %v", s.Metadata.Name, k, err)
		}
		values[k] = string(b)
	}
	maps.Copy(values, s.StringData)
	return values
}

// selects reports whether selector matches labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// flagValue is the value after name in args ("-config FILE" or "-config=FILE").
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// parseQuantity reads a Kubernetes quantity: a number with an optional decimal (m, k, M, G, T)
// or binary (Ki, Mi, Gi, Ti) suffix.
func parseQuantity(s string) (float64, error) {
	m := regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`).FindStringSubmatch(s)
	if m == nil {
		return 0, errors.New("not a quantity")
	}
	v, err := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}[m[2]]
	return v * mult, err
}
