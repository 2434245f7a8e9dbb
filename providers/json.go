package providers

import (
	"bytes"
	"math"
	"strconv"
)

// Helpers for reading the few fields a mapping needs from a raw JSON body. Payloads are kept as
// raw bytes; only these fields are decoded, leniently.

// stringOrNumber reads a JSON string or number as a string ("" for null, absent or other kinds).
// Providers document ids as integers and send them as strings, or the other way round.
func stringOrNumber(raw []byte) string {
	text, _ := jsonScalarText(bytes.TrimSpace(raw))
	return string(text)
}

// unixSeconds reads a JSON number or numeric string of Unix seconds.
func unixSeconds(raw []byte) (int64, bool) {
	text, ok := jsonScalarText(bytes.TrimSpace(raw))
	if !ok || len(text) == 0 {
		return 0, false
	}
	s := string(text) // does not escape: no allocation for a short number
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	// A fraction is dropped; NaN, infinities and floats beyond int64 are no time at all
	// (converting them to int64 is not defined).
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f), true
	}
	return 0, false
}
