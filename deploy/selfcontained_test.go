package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRepositoryStandsAlone: a clone is all a user has, so no file may point at documents that
// live outside it (the design briefs the project was written from), and every relative link in
// the Markdown files must lead to a file of the repository.
func TestRepositoryStandsAlone(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Spelled in pieces so that this file does not match itself.
	outside := regexp.MustCompile(strings.Join([]string{"CON" + "TRACT", "seeds" + "/", "PROVIDERS" + `\.md`, `\.\./` + "shared"}, "|"))
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "data" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > 4<<20 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(data), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %q, which is not in the repository", rel, i+1, m)
			}
			if !strings.HasSuffix(path, ".md") {
				continue
			}
			for _, l := range link.FindAllStringSubmatch(line, -1) {
				target := l[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				abs := filepath.Join(filepath.Dir(path), target)
				if r, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(r, "..") {
					t.Errorf("%s:%d links to %s, outside the repository", rel, i+1, target)
				} else if _, err := os.Stat(abs); err != nil {
					t.Errorf("%s:%d links to %s, which does not exist", rel, i+1, target)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
