package main

import (
	"reflect"
	"testing"
)

func TestTally(t *testing.T) {
	acked := func(id string) eventRecord { return eventRecord{msgID: id, acked: true} }
	unacked := func(id string) eventRecord { return eventRecord{msgID: id} }
	tests := []struct {
		name    string
		records []eventRecord
		counts  map[string]int
		want    streamReport
	}{
		{
			name:    "every acknowledged event stored once",
			records: []eventRecord{acked("a"), acked("b")},
			counts:  map[string]int{"a": 1, "b": 1},
			want:    streamReport{Acknowledged: 2, Stored: 2},
		},
		{
			name:    "an acknowledged event missing",
			records: []eventRecord{acked("a"), acked("b")},
			counts:  map[string]int{"a": 1, "b": 0},
			want:    streamReport{Acknowledged: 2, Stored: 1, Missing: 1, MissingIDs: []string{"b"}},
		},
		{
			name:    "an event stored twice",
			records: []eventRecord{acked("a"), unacked("b")},
			counts:  map[string]int{"a": 2, "b": 2},
			want: streamReport{Acknowledged: 1, Stored: 2, Duplicated: 2, StoredWithout2xx: 1,
				DuplicatedIDs: []string{"a", "b"}},
		},
		{
			name:    "stored without 2xx is fine; not stored without 2xx is nothing",
			records: []eventRecord{unacked("a"), unacked("b")},
			counts:  map[string]int{"a": 1},
			want:    streamReport{Stored: 1, StoredWithout2xx: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tally(tt.records, tt.counts)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("tally = %+v\nwant    %+v", *got, tt.want)
			}
			if got.failed() != (tt.want.Missing > 0 || tt.want.Duplicated > 0) {
				t.Fatalf("failed() = %v", got.failed())
			}
		})
	}
}
