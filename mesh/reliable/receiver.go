package reliable

import "time"

// Receiver is the receiving half of a reliable channel: it buffers out-of-order items within
// the reorder window, hands them out in order with Pop and builds ACKs. It is not safe for
// concurrent use: one goroutine (the endpoint's loop) drives it, so it needs no locks.
//
// Unpopped items occupy the window, so the caller should Pop after each OnData.
type Receiver[T any] struct {
	cfg Config

	slots      ring[recvSlot[T]] // sequence numbers [next, next+MaxInFlight)
	next       uint64            // next sequence number Pop returns
	cumulative uint64            // every sequence number <= cumulative has been received
	highest    uint64            // highest sequence number received
	above      rangeSet          // ranges received above cumulative+1
	cumArrival time.Time         // arrival of item cumulative, for the ACK delay

	ackAt          time.Time // when an ACK becomes due; zero = none due
	unackedArrival int       // new items since the last ACK
	stats          ReceiverStats
}

type recvSlot[T any] struct {
	item    T
	arrival time.Time
	present bool
}

// ackEveryItems: an ACK is due at once after this many new items (RFC 9000's default).
const ackEveryItems = 2

// NewReceiver returns a Receiver; invalid Config fields are replaced by defaults.
func NewReceiver[T any](cfg Config) *Receiver[T] {
	return &Receiver[T]{cfg: cfg.normalized(), slots: newRing[recvSlot[T]](), next: 1}
}

// OnData takes item with sequence number seq. It returns false for a duplicate (already
// delivered or already buffered) or for a sequence number beyond the reorder window (so memory
// stays bounded); both are counted. Anything received, even a refused item, makes an ACK due:
// the sender evidently missed one.
func (r *Receiver[T]) OnData(seq uint64, item T, now time.Time) (accepted bool) {
	switch {
	case seq == 0 || seq-r.next >= uint64(r.cfg.MaxInFlight) && seq > r.cumulative:
		r.stats.OutOfWindow++
		r.ackDue(now)
		return false
	case seq <= r.cumulative:
		r.stats.Duplicates++
		r.ackDue(now)
		return false
	}
	r.slots.fit(r.next, max(r.highest+1, r.next), seq+1)
	slot := r.slots.at(seq)
	if slot.present {
		r.stats.Duplicates++
		r.ackDue(now)
		return false
	}
	*slot = recvSlot[T]{item: item, arrival: now, present: true}
	r.highest = max(r.highest, seq)
	r.stats.Accepted++
	r.stats.Buffered++
	r.unackedArrival++
	if r.unackedArrival >= ackEveryItems {
		r.ackDue(now)
	} else {
		r.ackDue(now.Add(r.cfg.MaxAckDelay))
	}
	if seq != r.cumulative+1 {
		r.above.add(seq, seq, nil)
		r.ackDue(now) // a gap: tell the sender at once so it can recover quickly
		return true
	}
	r.cumulative = seq
	if first, ok := r.above.first(); ok && first.Lo == seq+1 {
		r.cumulative = first.Hi
		r.above.dropFirst()
		r.ackDue(now) // a gap filled: the sender is waiting for this news
	}
	r.cumArrival = r.slots.at(r.cumulative).arrival
	return true
}

// Wants reports whether OnData would accept seq as a new item: not yet received and within the
// reorder window. A caller that must refuse new items (its memory budget is spent) asks first,
// and still feeds duplicates to OnData so that they are acknowledged again.
func (r *Receiver[T]) Wants(seq uint64) bool {
	if seq == 0 || seq <= r.cumulative || seq-r.next >= uint64(r.cfg.MaxInFlight) {
		return false
	}
	if seq > r.highest {
		return true
	}
	return !r.slots.at(seq).present
}

// Expected is the sequence number that would extend the in-order run: cumulative + 1.
func (r *Receiver[T]) Expected() uint64 { return r.cumulative + 1 }

// ackDue makes an ACK due at t at the latest.
func (r *Receiver[T]) ackDue(t time.Time) {
	if r.ackAt.IsZero() || t.Before(r.ackAt) {
		r.ackAt = t
	}
}

// Pop returns the next item in order, if it has arrived.
func (r *Receiver[T]) Pop() (item T, ok bool) {
	if r.next > r.cumulative {
		return item, false
	}
	slot := r.slots.at(r.next)
	item = slot.item
	*slot = recvSlot[T]{}
	r.next++
	r.stats.Delivered++
	r.stats.Buffered--
	return item, true
}

// AckDue reports whether an ACK should be sent now: two new items arrived, an item arrived out
// of order or filled a gap, a duplicate arrived, or MaxAckDelay passed since the first unacked
// arrival.
func (r *Receiver[T]) AckDue(now time.Time) bool {
	return !r.ackAt.IsZero() && !now.Before(r.ackAt)
}

// AckDeadline returns when an ACK becomes due; zero if none is pending.
func (r *Receiver[T]) AckDeadline() time.Time { return r.ackAt }

// Ack builds an ACK: the cumulative point and up to maxRanges ranges received above it, appended
// to dst. If there are more ranges, the lowest are reported, since those hold up delivery. delay
// is how long ago the largest sequence number reported arrived. It clears AckDue.
func (r *Receiver[T]) Ack(now time.Time, maxRanges int, dst []Range) (cumulative uint64, ranges []Range, delay time.Duration) {
	n := min(max(maxRanges, 0), r.above.len())
	ranges = append(dst, r.above.r[:n]...)
	arrival := r.cumArrival
	if n > 0 {
		arrival = r.slots.at(ranges[len(ranges)-1].Hi).arrival
	}
	if r.cumulative > 0 || n > 0 {
		delay = max(now.Sub(arrival), 0)
	}
	r.ackAt, r.unackedArrival = time.Time{}, 0
	r.stats.Acks++
	return r.cumulative, ranges, delay
}

// Stats returns the counters.
func (r *Receiver[T]) Stats() ReceiverStats { return r.stats }
