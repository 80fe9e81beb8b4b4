package reliable

import "time"

// ackScan collects what one ACK newly acknowledged.
type ackScan struct {
	largest     uint64 // largest sequence number the ACK names (clipped to what was sent)
	newlyAcked  int
	rttSample   time.Duration
	hasSample   bool
	cwndLimited bool
}

// OnAck processes a cumulative ACK (everything <= cumulative) with selective ranges above it
// (inclusive; normally ascending). It frees acked items, takes an RTT sample, detects losses
// and adjusts the congestion window. Bogus input (ranges beyond what was sent, reversed,
// overlapping, out of order, stale) is clipped or ignored; it never corrupts the accounting.
func (s *Sender[T]) OnAck(cumulative uint64, ranges []Range, ackDelay time.Duration, now time.Time) {
	if s.base >= s.nextSeq {
		return // nothing outstanding: a stale or bogus ACK
	}
	top := s.nextSeq - 1
	scan := ackScan{cwndLimited: s.cc.limited(s.inFlightBytes)}
	if cumulative >= s.base {
		scan.largest = min(cumulative, top)
	}
	for _, r := range ranges {
		if r.Lo <= r.Hi && r.Lo <= top && r.Hi >= s.base {
			scan.largest = max(scan.largest, min(r.Hi, top))
		}
	}
	visit := func(lo, hi uint64) {
		for seq := lo; seq <= hi; seq++ {
			s.ackItem(seq, now, &scan)
		}
	}
	if cumulative >= s.base {
		s.sacked.add(s.base, min(cumulative, top), visit)
	}
	for _, r := range ranges {
		lo, hi := max(r.Lo, s.base), min(r.Hi, top)
		if lo <= hi {
			s.sacked.add(lo, hi, visit)
		}
	}
	if scan.newlyAcked == 0 {
		return
	}
	// A reported delay beyond the promised MaxAckDelay means the item named was received long
	// ago (its ACKs were lost, or the ACK was truncated to its lowest ranges): the sample would
	// measure the ACK's delay, not the path, so it is skipped rather than clamped as in RFC 9002.
	if scan.hasSample && ackDelay <= s.cfg.MaxAckDelay {
		s.rtt.update(scan.rttSample, ackDelay)
	}
	s.ptoCount = 0
	s.advanceBase()
	s.detectLoss(now)
}

// ackItem marks one sequence number acked; sacked guarantees it is called once per item.
func (s *Sender[T]) ackItem(seq uint64, now time.Time, scan *ackScan) {
	it := s.sent.at(seq)
	if it.acked {
		return
	}
	it.acked = true
	scan.newlyAcked++
	if it.inFlight {
		s.leaveFlight(seq, it)
		s.cc.onAcked(it.size, it.sentAt, scan.cwndLimited)
	}
	switch {
	case it.needRetx && it.declaredLost: // acked before we got to retransmit it
		s.spuriousLoss(it)
	case it.declaredLost && s.rtt.hasSample && now.Sub(it.sentAt) < s.rtt.minimum:
		s.spuriousLoss(it) // faster than any round trip: an earlier copy arrived
	}
	it.needRetx = false
	if it.pn > s.largestAckedPN {
		s.largestAckedPN = it.pn
	}
	if seq == scan.largest && !it.retransmitted {
		scan.rttSample, scan.hasSample = now.Sub(it.sentAt), true
	}
	s.unackedBytes -= it.size
	s.unackedItems--
	var zero T
	it.item = zero // free the memory now, not when base passes
	s.stats.Acked++
}

// advanceBase moves base past the acked prefix.
func (s *Sender[T]) advanceBase() {
	if r, ok := s.sacked.first(); ok && r.Lo == s.base {
		s.base = r.Hi + 1
		s.sacked.dropFirst()
	}
}

// detectLoss declares lost the in-flight items transmitted before the latest acked transmission
// that are either packetThreshold transmissions older or older than the loss delay. Both
// conditions are monotonic along the send-order list, so the lost items are a prefix of it and
// the walk costs O(lost).
func (s *Sender[T]) detectLoss(now time.Time) {
	lossDelay := s.reorder.lossDelay(&s.rtt)
	var lastLostSentAt time.Time
	lost := false
	for seq := s.sendHead; seq != 0; {
		it := s.sent.at(seq)
		if it.pn >= s.largestAckedPN {
			break
		}
		if it.pn+s.reorder.packets > s.largestAckedPN && now.Sub(it.sentAt) < lossDelay {
			break
		}
		next := it.next
		s.leaveFlight(seq, it)
		it.declaredLost, it.lossGap = true, s.largestAckedPN-it.pn
		if !it.needRetx {
			it.needRetx = true
			s.retx.push(seq)
		}
		s.stats.Lost++
		if !lost || it.sentAt.After(lastLostSentAt) {
			lastLostSentAt = it.sentAt
		}
		lost = true
		seq = next
	}
	if lost {
		s.cc.onLoss(lastLostSentAt, now)
	}
}

// spuriousLoss notes that the loss of it was declared in error: the network reorders more than
// the thresholds allow, so widen them.
func (s *Sender[T]) spuriousLoss(it *sentItem[T]) {
	s.stats.Spurious++
	it.declaredLost = false // count it once
	s.reorder.widen(it.lossGap)
}
