package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/webhookbridge/bridge/bridge"
)

// gcSettings is what the bridge sets of the Go garbage collector; -1 leaves a setting alone.
type gcSettings struct {
	percent int   // GOGC
	limit   int64 // soft memory limit (GOMEMLIMIT), bytes
}

// gcPolicy chooses the collector's settings (docs/operations.md#memory). GOGC and GOMEMLIMIT,
// when set, always win.
//
//   - No soft memory limit below what the process needs: with the embedded server, the dedup
//     table of the stream's duplicate_window lives in this process's heap (hundreds of bytes per
//     event in the window), and a fixed limit under it makes the runtime collect without end as
//     the window fills. Only inside a container with a memory limit is a soft limit set, at 90 %
//     of it, so the collector works harder before the kernel kills the process, not before.
//   - GOGC 200 with the embedded server. Its live heap is then mostly that dedup table, three
//     small objects per id (the id, its entry, its slot in a map), and every collection marks
//     all of them: what a collection costs grows with the window, while the per-request garbage
//     that triggers collections does not. Measured at 1 M ids in the window on 2 cores: collection took about
//     17 % of the CPU at GOGC 100 and about 12 % at 200 (5–7 % on a fresh stream either way).
//     The price is memory: the heap peaks at about three times the live heap instead of twice.
//   - GOGC 300 against a remote server, where the live heap is small and nearly all allocation is
//     per-request garbage: collecting less often is cheaper.
func gcPolicy(getenv func(string) (string, bool), cfg *bridge.Config, cgroupLimit int64) gcSettings {
	s := gcSettings{percent: -1, limit: -1}
	if _, set := getenv("GOGC"); !set {
		s.percent = 200
		if cfg.NATS.URL != "" {
			s.percent = 300
		}
	}
	if _, set := getenv("GOMEMLIMIT"); !set && cgroupLimit > 0 {
		s.limit = cgroupLimit / 10 * 9
	}
	return s
}

// apply sets the collector.
func (s gcSettings) apply() {
	if s.percent >= 0 {
		debug.SetGCPercent(s.percent)
	}
	if s.limit >= 0 {
		debug.SetMemoryLimit(s.limit)
	}
}

// cgroupMemoryLimit is the container's memory limit in bytes (cgroup v2, else v1); 0 when there
// is none or it cannot be read.
func cgroupMemoryLimit() int64 {
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(data))
		if v == "max" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // cgroup v1 writes a huge number for "no limit"
			return 0
		}
		return n
	}
	return 0
}
