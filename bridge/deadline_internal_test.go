package bridge

import (
	"testing"
	"time"
)

// TestReusedDeadlineNeverFiresEarly: a publish deadline that fired unread (the publish ended
// another way at that moment) goes back to the pool; the next publish that reuses it must get a
// full timeout, not the old tick.
func TestReusedDeadlineNeverFiresEarly(t *testing.T) {
	for i := 0; i < 50; i++ {
		fired := startDeadline(time.Millisecond)
		time.Sleep(3 * time.Millisecond) // fired; nobody reads it
		stopDeadline(fired)

		next := startDeadline(time.Hour)
		select {
		case <-next.C:
			t.Fatalf("round %d: a reused deadline fired at once (reused: %v)", i, next == fired)
		case <-time.After(5 * time.Millisecond):
		}
		stopDeadline(next)
	}
}
