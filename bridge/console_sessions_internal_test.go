package bridge

import (
	"testing"
	"time"
)

// TestConsoleSessionsEnd: a session ends after consoleSessionAge on the server's clock, whatever
// the browser keeps, and at most maxConsoleSessions live at once: the sign-in past that ends the
// oldest, never a newer one.
func TestConsoleSessionsEnd(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := consoleSessions{now: func() time.Time { return now }}
	first, err := s.start()
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	ids := []string{first}
	for range maxConsoleSessions {
		id, err := s.start()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if s.valid(first) {
		t.Errorf("the oldest session lives on past %d sessions", maxConsoleSessions)
	}
	for i, id := range ids[1:] {
		if !s.valid(id) {
			t.Fatalf("session %d of the last %d ended", i+1, maxConsoleSessions)
		}
	}
	if s.valid("") || s.valid("not-a-session") {
		t.Errorf("an unknown id is a session")
	}
	now = now.Add(consoleSessionAge - time.Second)
	if !s.valid(ids[1]) {
		t.Errorf("a session ended before %s", consoleSessionAge)
	}
	now = now.Add(time.Second)
	if s.valid(ids[1]) {
		t.Errorf("a session lives on after %s", consoleSessionAge)
	}
	s.end(ids[2])
	if s.valid(ids[2]) {
		t.Errorf("an ended session is still valid")
	}
}
