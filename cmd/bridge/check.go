package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/webhookbridge/bridge/bridge"
)

func runCheck(ctx context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bridge check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file to check")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *configPath == "" {
		return errors.New("check: -config FILE is required")
	}
	plan, err := bridge.LoadPlan(*configPath, getenv)
	if err != nil {
		return err
	}
	return bridge.Check(ctx, plan, stdout)
}
