package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webhookbridge/bridge/providers"
)

// TestEveryProviderDocumented: every registered provider has its page in docs/providers/ and a
// row in that folder's index, so adding a provider without documenting it fails here.
func TestEveryProviderDocumented(t *testing.T) {
	index, err := os.ReadFile(filepath.Join("..", "docs", "providers", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range providers.All() {
		t.Run(p.Name, func(t *testing.T) {
			page := filepath.Join("..", "docs", "providers", p.Name+".md")
			if _, err := os.Stat(page); err != nil {
				t.Errorf("no page: %v", err)
			}
			if !strings.Contains(string(index), "("+p.Name+".md)") || !strings.Contains(string(index), "`"+p.Name+"`") {
				t.Errorf("docs/providers/README.md has no row linking %s.md and naming `%s`", p.Name, p.Name)
			}
		})
	}
}
