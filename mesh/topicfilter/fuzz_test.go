package topicfilter

import (
	"strings"
	"testing"
)

// FuzzMatch checks that matching never panics, that Set and Index agree with Match, and that
// only valid arguments can match.
func FuzzMatch(f *testing.F) {
	for _, tt := range matchCases {
		f.Add(tt.filter, tt.topic)
	}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		got := Match(filter, topic)
		if got && (ValidateFilter(filter) != nil || ValidateTopic(topic) != nil) {
			t.Fatalf("Match(%q, %q) matched invalid input", filter, topic)
		}
		if got && ValidateFilter(filter) == nil && !strings.ContainsAny(filter, "+#") && filter != topic {
			t.Fatalf("wildcard-free filter %q matched different topic %q", filter, topic)
		}
		s := NewSet()
		s.Add(filter)
		if s.Matches(topic) != got {
			t.Fatalf("Set{%q}.Matches(%q) = %v, Match = %v", filter, topic, !got, got)
		}
		x := NewIndex[struct{}]()
		x.Add(filter, struct{}{})
		n := 0
		x.Lookup(topic, func(string, struct{}) { n++ })
		if (n == 1) != got || n > 1 {
			t.Fatalf("Index{%q}.Lookup(%q) called %d times, Match = %v", filter, topic, n, got)
		}
		if s.Remove(filter) != (ValidateFilter(filter) == nil) || s.Len() != 0 {
			t.Fatalf("Set did not return to empty after Remove(%q)", filter)
		}
	})
}
