package mesh

// dedupeWindow remembers which of the last 1024 message IDs of one sender boot were delivered, so
// a best-effort message duplicated by the network is delivered once. (Reliable messages need no
// such window: the transport delivers each sequence number once.) IDs older than the window are
// treated as seen: a best-effort message that late is better dropped than delivered twice.
type dedupeWindow struct {
	highest uint64
	bits    [16]uint64 // bit (id % 1024) set: id seen, for ids in (highest-1024, highest]
}

const dedupeSpan = 1024

// seen reports whether id was seen before and records it.
func (w *dedupeWindow) seen(id uint64) bool {
	switch {
	case id > w.highest:
		// Clear the slots that slide out of the window.
		if id-w.highest >= dedupeSpan {
			w.bits = [16]uint64{}
		} else {
			for i := w.highest + 1; i <= id; i++ {
				w.bits[(i%dedupeSpan)/64] &^= 1 << (i % 64)
			}
		}
		w.highest = id
	case w.highest-id >= dedupeSpan:
		return true
	}
	slot, bit := (id%dedupeSpan)/64, uint64(1)<<(id%64)
	if w.bits[slot]&bit != 0 {
		return true
	}
	w.bits[slot] |= bit
	return false
}
