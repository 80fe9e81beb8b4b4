package topicfilter

import (
	"fmt"
	"testing"
)

// benchFilters returns n distinct filters shaped like real device interest.
func benchFilters(n int) []string {
	out := make([]string, n)
	for i := range out {
		switch i % 4 {
		case 0:
			out[i] = fmt.Sprintf("site/%d/+/temperature", i)
		case 1:
			out[i] = fmt.Sprintf("site/%d/device/%d/#", i, i)
		case 2:
			out[i] = fmt.Sprintf("+/%d/status", i)
		default:
			out[i] = fmt.Sprintf("fleet/%d/telemetry", i)
		}
	}
	return out
}

const benchTopic = "site/500/device/temperature"

func BenchmarkMatch1000Filters(b *testing.B) {
	filters := benchFilters(1000)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range filters {
			Match(f, benchTopic)
		}
	}
}

func BenchmarkSetMatches1000Filters(b *testing.B) {
	s := NewSet()
	for _, f := range benchFilters(1000) {
		s.Add(f)
	}
	if !s.Matches(benchTopic) {
		b.Fatal("benchmark topic should match")
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Matches(benchTopic)
	}
}

func BenchmarkIndexLookup1000Filters(b *testing.B) {
	x := NewIndex[int]()
	for i, f := range benchFilters(1000) {
		x.Add(f, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		x.Lookup(benchTopic, func(string, int) {})
	}
}
