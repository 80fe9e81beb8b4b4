package reliable

import "time"

// Sender is the sending half of a reliable channel. It is not safe for concurrent use: one
// goroutine (the endpoint's loop) drives it, so it needs no locks.
//
// The caller Enqueues items, then calls Next until it returns false and puts each returned item
// on the wire with its sequence number; it feeds ACKs to OnAck and calls OnTimer when Deadline
// passes. After Enqueue, OnAck and OnTimer, Next may have something to send again.
type Sender[T any] struct {
	cfg Config

	queue       fifo[queuedItem[T]] // accepted, not sent yet (no sequence number yet)
	queuedBytes int

	sent          ring[sentItem[T]] // sequence numbers [base, nextSeq)
	base, nextSeq uint64            // base is the lowest unacked sequence number
	sacked        rangeSet          // acked ranges above base
	unackedBytes  int               // sent and not acked: in flight or lost awaiting retransmission
	unackedItems  int

	// In-flight items in transmission order (a doubly linked list through sentItem.prev/next,
	// by sequence number, 0 = none): loss detection walks it from the oldest transmission.
	sendHead, sendTail uint64
	inFlightBytes      int
	inFlightItems      int

	nextPN         uint64 // transmission number of the next send; each (re)transmission gets one
	largestAckedPN uint64 // transmission number of the most recent transmission acked

	reorder reorderTolerance // loss-detection thresholds, widened when reordering fooled them

	retx        fifo[uint64] // sequence numbers to retransmit (each at most once, by needRetx)
	probeCredit int          // sends allowed past the congestion window after a probe timeout
	ptoCount    int          // consecutive probe timeouts, for the backoff
	lastSend    time.Time

	rtt   rttEstimator
	cc    newReno
	stats SenderStats
}

type queuedItem[T any] struct {
	item T
	size int
}

// sentItem is the state of one sequence number between first transmission and acknowledgement.
type sentItem[T any] struct {
	item          T
	size          int
	pn            uint64    // transmission number of the latest transmission
	sentAt        time.Time // time of the latest transmission
	firstSent     time.Time
	prev, next    uint64 // send-order list links while in flight
	acked         bool
	inFlight      bool // counted in bytes in flight and linked in the send-order list
	needRetx      bool // queued in retx
	retransmitted bool // sent more than once: its RTT sample would be ambiguous (Karn)
	declaredLost  bool
	lossGap       uint64 // transmissions acked after this one when it was declared lost
}

// NewSender returns a Sender; invalid Config fields are replaced by defaults.
func NewSender[T any](cfg Config) *Sender[T] {
	cfg = cfg.normalized()
	return &Sender[T]{
		cfg:     cfg,
		sent:    newRing[sentItem[T]](),
		base:    1,
		nextSeq: 1,
		nextPN:  1,
		rtt:     rttEstimator{initial: cfg.InitialRTT, maxAckDelay: cfg.MaxAckDelay},
		cc:      newNewReno(cfg),
		reorder: newReorderTolerance(cfg),
	}
}

// Enqueue accepts item, of size bytes, for transmission. It returns false, storing nothing, when
// the sender already holds (queued + unacked) so much that MaxQueuedBytes would be exceeded: that
// is back-pressure. An item larger than MaxQueuedBytes is accepted when the sender holds nothing,
// so a big item cannot wedge the channel. Sizes below 1 count as 1, which bounds the item count.
func (s *Sender[T]) Enqueue(item T, size int, now time.Time) bool {
	size = max(size, 1)
	held := s.queuedBytes + s.unackedBytes
	if held > 0 && size > s.cfg.MaxQueuedBytes-held {
		s.stats.Refused++
		return false
	}
	s.queue.push(queuedItem[T]{item: item, size: size})
	s.queuedBytes += size
	return true
}

// Room returns how many bytes Enqueue would still accept.
func (s *Sender[T]) Room() int {
	return max(0, s.cfg.MaxQueuedBytes-s.queuedBytes-s.unackedBytes)
}

// Next returns the next item to put on the wire now, if the congestion window and MaxInFlight
// allow: items to retransmit first (with their original sequence number), then new ones.
func (s *Sender[T]) Next(now time.Time) (seq uint64, item T, ok bool) {
	for s.retx.len() > 0 {
		seq := s.retx.peek()
		if !s.awaitingRetransmission(seq) { // acked meanwhile, or stale after Drain
			s.retx.pop()
			continue
		}
		it := s.sent.at(seq)
		if !it.inFlight && !s.maySend() {
			return 0, item, false // retransmissions go first: wait for the window
		}
		s.retx.pop()
		it.needRetx, it.retransmitted = false, true
		s.transmit(seq, it, now)
		s.stats.Retransmitted++
		return seq, it.item, true
	}
	if s.queue.len() == 0 || s.nextSeq-s.base >= uint64(s.cfg.MaxInFlight) || !s.maySend() {
		return 0, item, false
	}
	q := s.queue.pop()
	s.queuedBytes -= q.size
	s.unackedBytes += q.size
	s.unackedItems++
	seq = s.nextSeq
	s.nextSeq++
	s.sent.fit(s.base, seq, seq+1)
	it := s.sent.at(seq)
	*it = sentItem[T]{item: q.item, size: q.size, firstSent: now}
	s.transmit(seq, it, now)
	s.stats.Sent++
	return seq, it.item, true
}

func (s *Sender[T]) awaitingRetransmission(seq uint64) bool {
	if seq < s.base || seq >= s.nextSeq {
		return false
	}
	it := s.sent.at(seq)
	return it.needRetx && !it.acked
}

func (s *Sender[T]) maySend() bool {
	return s.probeCredit > 0 || s.cc.canSend(s.inFlightBytes)
}

// transmit records a (re)transmission of seq: a new transmission number, moved to the tail of the
// send-order list.
func (s *Sender[T]) transmit(seq uint64, it *sentItem[T], now time.Time) {
	if it.inFlight {
		s.unlink(seq, it)
	} else {
		it.inFlight = true
		s.inFlightBytes += it.size
		s.inFlightItems++
	}
	it.pn = s.nextPN
	s.nextPN++
	it.sentAt = now
	s.linkTail(seq, it)
	s.lastSend = now
	if s.probeCredit > 0 {
		s.probeCredit--
	}
}

// Pending reports whether anything is queued or unacked.
func (s *Sender[T]) Pending() bool { return s.queue.len() > 0 || s.base < s.nextSeq }

// Drain drops everything queued or unacked (the peer is gone) and returns the dropped items, for
// accounting. Sequence numbering continues; a new peer incarnation needs a new Sender/Receiver pair.
func (s *Sender[T]) Drain() []T {
	dropped := make([]T, 0, s.unackedItems+s.queue.len())
	for seq := s.base; seq < s.nextSeq; seq++ {
		it := s.sent.at(seq)
		if !it.acked {
			dropped = append(dropped, it.item)
		}
		*it = sentItem[T]{}
	}
	for s.queue.len() > 0 {
		dropped = append(dropped, s.queue.pop().item)
	}
	s.queue.clear()
	s.retx.clear()
	s.sacked.clear()
	s.base = s.nextSeq
	s.queuedBytes, s.unackedBytes, s.unackedItems = 0, 0, 0
	s.sendHead, s.sendTail, s.inFlightBytes, s.inFlightItems = 0, 0, 0, 0
	s.probeCredit, s.ptoCount = 0, 0
	return dropped
}
