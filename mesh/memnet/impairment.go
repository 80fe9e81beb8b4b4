package memnet

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Impairment describes what a link does to datagrams. The zero value is a perfect link.
type Impairment struct {
	Loss      float64       // probability a datagram is dropped
	Duplicate float64       // probability a datagram is delivered twice
	Reorder   float64       // probability a datagram is held back so later ones overtake it
	Delay     time.Duration // base one-way delay
	Jitter    time.Duration // extra delay, uniform in [0, Jitter]
}

// minReorderHold is the least extra delay of a reordered datagram, so it is overtaken even on a
// link without delay.
const minReorderHold = 10 * time.Millisecond

func (imp Impairment) validate() {
	for _, p := range []float64{imp.Loss, imp.Duplicate, imp.Reorder} {
		if p < 0 || p > 1 {
			panic(fmt.Sprintf("memnet: probability %v out of [0,1] in %+v", p, imp))
		}
	}
	if imp.Delay < 0 || imp.Jitter < 0 {
		panic(fmt.Sprintf("memnet: negative delay in %+v", imp))
	}
}

// delay draws the one-way delay of one copy of a datagram and says whether it was held back
// for reordering. The hold is uniform in [minReorderHold, minReorderHold+Delay+Jitter].
func (imp Impairment) delay(rng *rand.Rand) (d time.Duration, reordered bool) {
	d = imp.Delay
	if imp.Jitter > 0 {
		d += time.Duration(rng.Int64N(int64(imp.Jitter) + 1))
	}
	if imp.Reorder > 0 && rng.Float64() < imp.Reorder {
		d += minReorderHold + time.Duration(rng.Int64N(int64(imp.Delay+imp.Jitter)+1))
		reordered = true
	}
	return d, reordered
}
