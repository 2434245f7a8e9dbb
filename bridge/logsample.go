package bridge

import (
	"sync"
	"time"
)

// Lines of refused requests (4xx) and retry answers are sampled: anyone can send a flood of them,
// and a log line per request would make the handlers wait on a slow standard error. At most
// logBurst such lines pass at once and logRate a second after that; the next line that passes
// says how many were left out ("suppressed"). Metrics still count every request.
const (
	logRate  = 20
	logBurst = 100
)

// logSampler counts what its token bucket leaves out.
type logSampler struct {
	mu         sync.Mutex
	bucket     tokenBucket
	suppressed uint64
}

func newLogSampler() *logSampler {
	return &logSampler{bucket: tokenBucket{rate: logRate, burst: logBurst, tokens: logBurst}}
}

// allow reports whether a line may be written at now and, if so, how many were left out since
// the last one written.
func (l *logSampler) allow(now time.Time) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.bucket.take(now) {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.suppressed = 0
	return true, n
}
