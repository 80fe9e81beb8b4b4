package wire

import (
	"math/rand/v2"
	"testing"
)

// The bitmap filter agrees with a naive model (a set of everything seen plus the highest
// number) on random sequences mixing fresh, reordered, duplicate, old and far-jumping numbers.
func TestReplayFilterModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for run := range 50 {
		var f replayFilter
		seen := map[uint64]bool{}
		var highest uint64
		next := uint64(1)
		for step := range 20000 {
			var pn uint64
			switch r.IntN(10) {
			case 0: // far jump
				next += uint64(r.IntN(5000))
				pn = next
			case 1, 2: // something recent or old, possibly seen
				pn = next - min(next-1, uint64(r.IntN(1500)))
			default:
				next++
				pn = next
			}
			want := pn != 0 && !seen[pn] && (pn > highest || highest-pn < ReplayWindow)
			if got := f.accept(pn); got != want {
				t.Fatalf("run %d step %d: accept(%d) = %v, want %v (highest %d)", run, step, pn, got, want, highest)
			}
			if want {
				seen[pn] = true
				highest = max(highest, pn)
			}
		}
	}
}

func TestReplayFilterEdges(t *testing.T) {
	var f replayFilter
	if f.accept(0) {
		t.Fatal("packet number 0 accepted")
	}
	if !f.accept(5000) || f.accept(5000) {
		t.Fatal("first/duplicate")
	}
	if !f.accept(5000-ReplayWindow+1) || f.accept(5000-ReplayWindow) {
		t.Fatal("window edge: highest-1023 must pass, highest-1024 must not")
	}
	if !f.accept(^uint64(0)) || f.accept(^uint64(0)) {
		t.Fatal("max packet number")
	}
}
