//go:build phporacle

package providers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func phpOracle(t testing.TB, in []byte) ([]byte, bool) {
	cmd := exec.Command("php", "/tmp/enc.php")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		return nil, false
	}
	return out, true
}

func TestPHPOracleFiles(t *testing.T) {
	files, _ := filepath.Glob("/tmp/phpcases/*")
	for _, f := range files {
		in, _ := os.ReadFile(f)
		want, wok := phpOracle(t, in)
		got, err := phpJSONEncode(in)
		if wok != (err == nil) || (wok && !bytes.Equal(want, got)) {
			t.Errorf("%s: %q\n php %v %q\n go  %v %q", f, in, wok, want, err, got)
		}
	}
}

func FuzzPHPOracle(f *testing.F) {
	files, _ := filepath.Glob("/tmp/phpcases/*")
	for _, fn := range files {
		in, _ := os.ReadFile(fn)
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, wok := phpOracle(t, in)
		got, err := phpJSONEncode(in)
		if wok != (err == nil) || (wok && !bytes.Equal(want, got)) {
			t.Errorf("%q\n php %v %q\n go  %v %q", in, wok, want, err, got)
		}
	})
}
