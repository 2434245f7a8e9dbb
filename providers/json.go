package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Helpers for reading the few fields a mapping needs from a raw JSON body. Payloads are kept as
// raw bytes; only these fields are decoded, leniently.

// decodeFields unmarshals body into v, a small struct of the fields a mapping needs.
func decodeFields(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("not a JSON object: %v: %w", err, ErrUnmappable)
	}
	return nil
}

// stringOrNumber reads a JSON string or number as a string ("" for null, absent or other kinds).
// Providers document ids as integers and send them as strings, or the other way round.
func stringOrNumber(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// unixSeconds reads a JSON number or numeric string of Unix seconds.
func unixSeconds(raw json.RawMessage) (int64, bool) {
	s := stringOrNumber(raw)
	if s == "" {
		return 0, false
	}
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
