package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookbridge/bridge/bridge"
)

// runHub is `bridge hub apply`: the one writer of the hub stream in store-and-forward mode.
func runHub(ctx context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "apply" {
		return errors.New("usage: bridge hub apply -config FILE (-replicas N | -domains a,b,…) [-nats URL]")
	}
	fs := flag.NewFlagSet("bridge hub apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "a replica's YAML configuration (store-and-forward mode)")
	replicas := fs.Int("replicas", 0, "number of bridge replicas: sources from domains edge-0 … edge-N-1")
	domainList := fs.String("domains", "", "the replicas' domains, comma-separated (instead of -replicas)")
	url := fs.String("nats", "", "where to reach the hub's JetStream: a hub server, or a replica's embedded server (default: this configuration's embedded listen address)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *configPath == "" {
		return errors.New("hub apply: -config FILE is required")
	}
	plan, err := bridge.LoadPlan(*configPath, getenv)
	if err != nil {
		return err
	}
	cfg := plan.Config()
	if !cfg.NATS.StoreAndForward() {
		return errors.New("hub apply: the configuration is not in store-and-forward mode (nats.embedded.domain and leaf)")
	}
	var domains []string
	switch {
	case *replicas > 0 && *domainList != "":
		return errors.New("hub apply: give -replicas or -domains, not both")
	case *replicas > 0:
		domains = bridge.EdgeDomains(*replicas)
	case *domainList != "":
		for _, d := range strings.Split(*domainList, ",") {
			if d = strings.TrimSpace(d); d != "" {
				domains = append(domains, d)
			}
		}
	default:
		return errors.New("hub apply: -replicas N or -domains a,b,… is required")
	}
	if *url == "" {
		*url = "nats://" + cfg.NATS.Embedded.Listen
	}
	nc, err := nats.Connect(*url, nats.Timeout(5*time.Second))
	if err != nil {
		// nats.go's error may quote the URL: neither it nor the URL may show its password.
		return fmt.Errorf("hub apply: connect %s: %s", bridge.RedactURLs(*url), bridge.RedactPasswords(err.Error(), *url))
	}
	defer nc.Close()
	js, err := bridge.HubJetStream(nc, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return bridge.ApplyHub(ctx, js, cfg, domains, stdout)
}
