package topicfilter

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Small alphabets make collisions between random filters and topics likely.
var (
	filterLevels = []string{"a", "b", "", "$SYS", "$x", "c d", "é", "+", "#", "a+", "#b"}
	topicLevels  = []string{"a", "b", "", "$SYS", "$x", "c d", "é"}
)

func randomPath(r *rand.Rand, levels []string) string {
	n := 1 + r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = levels[r.IntN(len(levels))]
	}
	return strings.Join(parts, "/")
}

func TestPropertySetMatchesAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		s := NewSet()
		var filters []string
		for i := r.IntN(20); i >= 0; i-- {
			f := randomPath(r, filterLevels)
			filters = append(filters, f)
			s.Add(f)
		}
		// Remove some again, so pruning is exercised too.
		for i := r.IntN(len(filters) + 1); i > 0; i-- {
			j := r.IntN(len(filters))
			s.Remove(filters[j])
			filters = slices.Delete(filters, j, j+1)
		}
		for i := 0; i < 50; i++ {
			topic := randomPath(r, topicLevels)
			want := slices.ContainsFunc(filters, func(f string) bool { return Match(f, topic) })
			if got := s.Matches(topic); got != want {
				t.Fatalf("Set%q.Matches(%q) = %v, Match says %v", filters, topic, got, want)
			}
		}
	}
}

func TestPropertyIndexLookupIsExactlyTheMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 300; round++ {
		x := NewIndex[int]()
		stored := map[pair]bool{}
		for i := r.IntN(30); i >= 0; i-- {
			p := pair{randomPath(r, filterLevels), r.IntN(4)}
			x.Add(p.filter, p.v)
			if ValidateFilter(p.filter) == nil {
				stored[p] = true
			}
			if r.IntN(4) == 0 { // remove a random stored pair
				for q := range stored {
					if !x.Remove(q.filter, q.v) {
						t.Fatalf("Remove(%q, %d) of a stored pair failed", q.filter, q.v)
					}
					delete(stored, q)
					break
				}
			}
		}
		if x.Len() != len(stored) {
			t.Fatalf("Len = %d, want %d", x.Len(), len(stored))
		}
		for i := 0; i < 50; i++ {
			topic := randomPath(r, topicLevels)
			var want []pair
			for p := range stored {
				if Match(p.filter, topic) {
					want = append(want, p)
				}
			}
			got := lookupAll(x, topic)
			slices.SortFunc(want, func(a, b pair) int {
				if c := strings.Compare(a.filter, b.filter); c != 0 {
					return c
				}
				return a.v - b.v
			})
			if !slices.Equal(got, want) {
				t.Fatalf("Lookup(%q) = %v, want %v", topic, got, want)
			}
		}
	}
}
