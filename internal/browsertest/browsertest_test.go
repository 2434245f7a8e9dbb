package browsertest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/webhookbridge/bridge/internal/browsertest"
)

// TestNew: the browser loads a page and runs its script.
func TestNew(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><p id="p">before</p><script>document.getElementById("p").textContent = "after"</script>`))
	}))
	t.Cleanup(srv.Close)
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("p")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "after" {
		t.Errorf("text %q, want after", text)
	}
}

// TestFindHonoursCHROMIUM: $CHROMIUM names the browser, and a wrong one is reported, not
// replaced by another found on $PATH.
func TestFindHonoursCHROMIUM(t *testing.T) {
	t.Setenv(browsertest.PathEnv, "/nonexistent/chromium")
	if _, err := browsertest.Find(); !errors.Is(err, browsertest.ErrNoBrowser) {
		t.Errorf("Find with CHROMIUM=/nonexistent/chromium: %v, want ErrNoBrowser", err)
	}
}
