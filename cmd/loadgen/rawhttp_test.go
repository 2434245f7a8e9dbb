package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		status int
		sample string
		keep   bool
		err    bool
	}{
		{"200 with a length", "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}", 200, "", true, false},
		{"204 without a body", "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n", 204, "", true, false},
		{"503 with a body: no sample", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 2\r\n\r\nno", 503, "", true, false},
		{"401: a sample", "HTTP/1.1 401 Unauthorized\r\ncontent-length: 3\r\n\r\nbad", 401, "bad", true, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "", true, false},
		{"chunked 400 sample", "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: y\r\n\r\n", 400, "abc", true, false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 200, "", false, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", false, false},
		{"no length: to the end", "HTTP/1.1 200 OK\r\n\r\nrest of the stream", 200, "", false, false},
		{"garbage", "SMTP ready\r\n", 0, "", false, true},
		{"truncated", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", 0, "", false, true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, sample, keep, err := readResponse(bufio.NewReader(strings.NewReader(tc.raw)))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if status != tc.status || string(sample) != tc.sample || keep != tc.keep {
				t.Errorf("status %d sample %q keep %v; want %d %q %v", status, sample, keep, tc.status, tc.sample, tc.keep)
			}
		})
	}
	// Two answers in a row on one connection: each read ends exactly at its end.
	r := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n"))
	for _, want := range []int{200, 204} {
		if status, _, _, err := readResponse(r); err != nil || status != want {
			t.Fatalf("pipelined answer: %d %v, want %d", status, err, want)
		}
	}
}

// FuzzReadResponse: whatever a server sends, reading its answer ends without a panic.
func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	f.Add("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Add("HTTP/1.1 999 X\r\nContent-Length: 99999999999\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		_, _, _, _ = readResponse(bufio.NewReader(strings.NewReader(raw)))
	})
}
