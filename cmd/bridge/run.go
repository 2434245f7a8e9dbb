package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/webhookbridge/bridge/bridge"
)

const usage = `usage:
  bridge [-config FILE]         serve (no config: the demo, on 127.0.0.1:8080, console on 127.0.0.1:9090)
  bridge sign [flags]           print the headers a provider would send with a body
  bridge send [flags]           sign a body and POST it, printing the answer
  bridge check -config FILE     validate a configuration against NATS and print what it serves
  bridge rejections [-config FILE] [-endpoint E] [-since 1h] [-follow]
                                print the refused requests the bridge kept, with their diagnosis
  bridge hub apply -config FILE -replicas N
                                create or update the hub stream (store-and-forward mode)
Run "bridge <command> -h" for a command's flags.`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "sign":
			return runSign(args[1:], stdin, stdout, stderr)
		case "send":
			return runSend(ctx, args[1:], stdin, stdout, stderr)
		case "check":
			return runCheck(ctx, args[1:], getenv, stdout, stderr)
		case "hub":
			return runHub(ctx, args[1:], getenv, stdout, stderr)
		case "rejections":
			return runRejections(ctx, args[1:], getenv, stdout, stderr)
		case "help":
			fmt.Fprintln(stdout, usage)
			return nil
		}
	}
	return serve(ctx, args, getenv, stderr, nil)
}

// serve runs the bridge until ctx ends. started, when set, receives the running app (tests).
func serve(ctx context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer, started func(*bridge.App)) error {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	configPath := fs.String("config", "", "YAML configuration file (none: demo mode)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for BENCHMARKS.md)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	// SIGHUP is taken from the start, so that one arriving during start-up, or in the demo (which
	// has no file to reload), does not end the process as its default action would.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	cfg := bridge.DemoConfig()
	if *configPath == "" {
		cfg.HTTP.AdminListen = bridge.DemoAdminListen // the console, without a token on loopback
	} else {
		var err error
		if cfg, err = bridge.LoadConfig(*configPath, getenv); err != nil {
			return err
		}
	}
	// Compiled once; the configuration is checked here and nowhere else at start-up.
	plan, err := bridge.Compile(cfg)
	if err != nil {
		return err
	}
	gcPolicy(getenv, cfg, cgroupMemoryLimit()).apply()
	logOut := bridge.NewLogWriter(stderr, 100*time.Millisecond)
	defer logOut.Close()
	log := bridge.NewLogger(cfg.Log, logOut)
	if *configPath == "" {
		log.Warn().Msg("DEMO MODE: every secret is \"demo-secret\"; do not expose this to the internet. Use -config FILE in production.")
	}
	tp, err := bridge.NewTracerProvider(ctx, getenv)
	if err != nil {
		return err
	}
	var opts bridge.Options
	if tp != nil {
		opts.Tracer = tp
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tp.Shutdown(sctx) // export what is still batched
		}()
		log.Info().Msg("tracing: exporting spans over OTLP/HTTP as the OTEL_* variables say")
	}
	app, err := bridge.StartPlan(ctx, plan, log, opts)
	if err != nil {
		return err
	}
	if *configPath != "" {
		app.EnableReload(func() (*bridge.Config, error) { return bridge.LoadConfig(*configPath, getenv) })
	}
	stopHUP := reloadOnSIGHUP(ctx, app, hup)
	defer stopHUP()
	if started != nil {
		started(app)
	}
	return app.Wait(ctx)
}

// reloadOnSIGHUP reloads the configuration file on every SIGHUP (already delivered to hup) until
// ctx ends or the returned function is called. Reload logs its outcome and counts it; the demo
// logs that it has nothing to reload.
func reloadOnSIGHUP(ctx context.Context, app *bridge.App, hup <-chan os.Signal) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				_, _ = app.Reload()
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}
