//go:build race

package wire

// raceEnabled: the race detector adds allocations, so allocation counts are only asserted without it.
const raceEnabled = true
