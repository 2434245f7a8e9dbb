package main

import (
	"os"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
)

// CPU per event: the user + system time a process spent during a run, per 1,000 events. Unlike
// req/s, it does not depend on how fast the client is.

// cpuTime is a process's user + system CPU time so far (utime + stime of /proc/<pid>/stat).
func cpuTime(pid int) (time.Duration, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	stat, err := p.Stat()
	if err != nil {
		return 0, err
	}
	return time.Duration(stat.CPUTime() * float64(time.Second)).Round(time.Millisecond), nil // ticks of 10 ms
}

// processName is the process's command name (/proc/<pid>/comm).
func processName(pid int) string {
	if p, err := procfs.NewProc(pid); err == nil {
		if name, err := p.Comm(); err == nil {
			return name
		}
	}
	return "pid " + strconv.Itoa(pid)
}

// cpuUse is one process's CPU time over a run.
type cpuUse struct {
	PID        int     `json:"pid"`
	Name       string  `json:"name"`
	CPUSeconds float64 `json:"cpu_seconds"`
	MSPer1000  float64 `json:"cpu_ms_per_1000_events"`
}

// cpuMeter reads the processes' CPU time before and after a run; the load tool's own process is
// always among them, so the report shows what the client cost too.
type cpuMeter struct {
	pids   []int
	before []time.Duration
}

func startCPUMeter(pids []int) *cpuMeter {
	m := &cpuMeter{pids: append([]int{os.Getpid()}, pids...)}
	for _, pid := range m.pids {
		t, _ := cpuTime(pid)
		m.before = append(m.before, t)
	}
	return m
}

// stop returns each process's CPU time since start per 1,000 of events.
func (m *cpuMeter) stop(events uint64) []cpuUse {
	var out []cpuUse
	for i, pid := range m.pids {
		t, err := cpuTime(pid)
		if err != nil {
			continue
		}
		used := t - m.before[i]
		u := cpuUse{PID: pid, Name: processName(pid), CPUSeconds: used.Seconds()}
		if i == 0 {
			u.Name = "loadgen (the client)"
		}
		if events > 0 {
			u.MSPer1000 = float64(used.Milliseconds()) * 1000 / float64(events)
		}
		out = append(out, u)
	}
	return out
}
