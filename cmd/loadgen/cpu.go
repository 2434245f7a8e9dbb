package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU per event: the user + system time a process spent during a run, per 1,000 events. Unlike
// req/s, it does not depend on how fast the client is.

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's utime and stime (100 on
// every Linux this runs on).
const clockTicks = 100

// cpuTime is a process's user + system CPU time so far, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces: fields after it.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// processName is /proc/<pid>/comm.
func processName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "pid " + strconv.Itoa(pid)
	}
	return strings.TrimSpace(string(b))
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
