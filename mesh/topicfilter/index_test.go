package topicfilter

import (
	"slices"
	"strings"
	"testing"
)

type pair struct {
	filter string
	v      int
}

func lookupAll(x *Index[int], topic string) []pair {
	var got []pair
	x.Lookup(topic, func(f string, v int) { got = append(got, pair{f, v}) })
	slices.SortFunc(got, func(a, b pair) int {
		if c := strings.Compare(a.filter, b.filter); c != 0 {
			return c
		}
		return a.v - b.v
	})
	return got
}

func TestIndexLookup(t *testing.T) {
	x := NewIndex[int]()
	x.Add("sport/#", 1)
	x.Add("sport/#", 2)
	x.Add("sport/#", 2) // duplicate pair is stored once
	x.Add("sport/+", 3)
	x.Add("#", 4)
	x.Add("$SYS/#", 5)
	x.Add("bad/#/x", 6) // invalid: ignored
	if x.Len() != 5 || x.FilterCount() != 4 {
		t.Fatalf("Len = %d, FilterCount = %d, want 5, 4", x.Len(), x.FilterCount())
	}
	got := lookupAll(x, "sport/tennis")
	want := []pair{{"#", 4}, {"sport/#", 1}, {"sport/#", 2}, {"sport/+", 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("Lookup = %v, want %v", got, want)
	}
	if got := lookupAll(x, "$SYS/uptime"); !slices.Equal(got, []pair{{"$SYS/#", 5}}) {
		t.Fatalf("Lookup($SYS/uptime) = %v", got)
	}
	if !x.Remove("sport/#", 1) || x.Remove("sport/#", 1) || x.Remove("nope", 1) || x.Remove("sport/+", 9) {
		t.Fatal("Remove results wrong")
	}
	if !x.Remove("sport/#", 2) {
		t.Fatal("Remove of last value failed")
	}
	if got := lookupAll(x, "sport"); !slices.Equal(got, []pair{{"#", 4}}) {
		t.Fatalf("after removals Lookup(sport) = %v", got)
	}
	if x.Len() != 3 || x.FilterCount() != 3 { // sport/+, #, $SYS/#
		t.Fatalf("Len = %d, FilterCount = %d, want 3, 3", x.Len(), x.FilterCount())
	}
	x.Lookup("inv+alid", func(string, int) { t.Fatal("invalid topic matched") })
}
