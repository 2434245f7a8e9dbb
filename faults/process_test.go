package faults

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bridgeProcess is the bridge binary running as a process of its own, so a test can signal it
// (SIGTERM) or kill it outright (SIGKILL) as an orchestrator or a crash would.
type bridgeProcess struct {
	cmd    *exec.Cmd
	base   string        // http://host:port
	exited chan error    // cmd.Wait's result, once
	done   chan struct{} // closed when the process has exited
	logs   *tailBuffer
	// shuttingDown is closed when the bridge logs that it is shutting down (at info).
	shuttingDown chan struct{}
}

// startBridgeProcess writes yaml to a file and runs the bridge with it, with the tests' secret in
// its environment; it returns once the bridge logs "bridge started" (yaml must log at info).
func startBridgeProcess(t *testing.T, yaml string) *bridgeProcess {
	t.Helper()
	configPath := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(configPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &bridgeProcess{
		cmd:          exec.Command(bridgeBinary(t), "-config", configPath),
		exited:       make(chan error, 1),
		done:         make(chan struct{}),
		logs:         &tailBuffer{max: 8 << 10},
		shuttingDown: make(chan struct{}),
	}
	p.cmd.Env = append(os.Environ(), "FAULTS_AGHANIM_SECRET="+secret)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		// Read every line (the pipe must not fill up) and report the listen address once.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.logs.Write(append(line, '\n'))
			var entry struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal(line, &entry) != nil {
				continue
			}
			switch {
			case entry.Message == "bridge started":
				addr <- entry.Listen
			case strings.HasPrefix(entry.Message, "shutting down"):
				select {
				case <-p.shuttingDown:
				default:
					close(p.shuttingDown)
				}
			}
		}
		p.exited <- p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("bridge process output (tail):\n%s", p.logs)
		}
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case err := <-p.exited:
		t.Fatalf("bridge exited before serving: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("bridge did not log \"bridge started\" within 30 s\n%s", p.logs)
	}
	return p
}

// signal sends sig to the process.
func (p *bridgeProcess) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// kill ends the process with SIGKILL (nothing is flushed or drained) and waits for it; a no-op
// once it has exited.
func (p *bridgeProcess) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
