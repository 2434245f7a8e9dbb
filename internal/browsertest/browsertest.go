// Package browsertest starts a headless Chromium for tests that drive a page in a real browser
// (the operator console's tests in bridge/). Without a browser those tests skip, unless
// BRIDGE_BROWSER_TESTS=1 (CI sets it) makes a missing browser a failure: CI never skips them
// silently.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequiredEnv is the variable that turns a missing browser from a skip into a failure.
const RequiredEnv = "BRIDGE_BROWSER_TESTS"

// PathEnv names a Chromium binary to use instead of the ones looked up on $PATH.
const PathEnv = "CHROMIUM"

// hangGuard ends a test's browser if the test has not finished by then. It is there so that a
// test waiting for something that never happens fails instead of hanging; no test relies on it
// as a measure of speed.
const hangGuard = 60 * time.Second

// names are the binaries looked up on $PATH, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser is returned by Find when no Chromium is installed.
var ErrNoBrowser = errors.New("console browser tests need Chromium: apt-get install chromium, or set CHROMIUM=/path")

// Find returns the path of a Chromium: $CHROMIUM if set, else the first of chromium,
// chromium-browser, google-chrome on $PATH.
func Find() (string, error) {
	if p := os.Getenv(PathEnv); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", errors.Join(ErrNoBrowser, err)
		}
		return path, nil
	}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", ErrNoBrowser
}

// New starts a headless Chromium with a fresh profile for t and returns a context for one tab of
// it. The browser ends with the test (or after a generous hang guard). Without a browser the
// test is skipped, or fails when BRIDGE_BROWSER_TESTS=1. The page's console errors and uncaught
// exceptions are written to the test log.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := Find()
	if err != nil {
		if os.Getenv(RequiredEnv) == "1" {
			t.Fatalf("%s=1 and %v", RequiredEnv, err)
		}
		t.Skip(err)
	}
	profile := t.TempDir() // registered before the browser's cleanup, so removed after it ends
	guard, cancelGuard := context.WithTimeout(context.Background(), hangGuard)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners often lack the user namespaces it needs
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(guard, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	logged := make(chan struct{})
	t.Cleanup(func() {
		cancelTab()
		<-logged      // no t.Logf once the test has ended
		cancelAlloc() // waits until the browser has exited
		cancelGuard()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser now, so a failure is named
		close(logged)
		t.Fatalf("start %s: %v", path, err)
	}
	console := chromedp.Console(ctx) // subscribed before the first page loads
	go func() {
		defer close(logged)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				t.Logf("browser console: %s", m)
			}
		}
	}()
	return ctx
}
