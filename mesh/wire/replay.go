package wire

// ReplayWindow is how many packet numbers below the highest one seen are still accepted (once).
const ReplayWindow = 1024

// replayBlocks is the ring size in 64-bit blocks: a power of two with room for the window plus
// the partially filled block of the highest packet number (RFC 6479).
const replayBlocks = 32

// replayFilter is an RFC 6479 sliding-window bitmap (as in WireGuard). The bitmap is a ring of
// blocks indexed by packet number / 64, so advancing the window only clears the blocks it skips.
type replayFilter struct {
	highest uint64
	ring    [replayBlocks]uint64
}

// accept reports whether pn is new and inside the window, and records it if so. Packet number 0
// is never valid (ParseHeader rejects it), so a zero filter is ready to use.
func (f *replayFilter) accept(pn uint64) bool {
	if pn == 0 {
		return false
	}
	if pn > f.highest {
		cur, next := f.highest/64, pn/64
		skip := next - cur
		if skip > replayBlocks {
			skip = replayBlocks
		}
		for i := uint64(1); i <= skip; i++ {
			f.ring[(cur+i)%replayBlocks] = 0
		}
		f.highest = pn
	} else if f.highest-pn >= ReplayWindow {
		return false
	}
	block, bit := (pn/64)%replayBlocks, uint64(1)<<(pn%64)
	if f.ring[block]&bit != 0 {
		return false
	}
	f.ring[block] |= bit
	return true
}

func (f *replayFilter) reset() { *f = replayFilter{} }
