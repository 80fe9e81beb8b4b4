package reliable

import (
	"errors"
	"fmt"
	"time"
)

// ErrPeerUnresponsive is wrapped by Sender.Failed.
var ErrPeerUnresponsive = errors.New("reliable: peer unresponsive")

// persistentCongestionPTOs consecutive probe timeouts without an ACK (about 7 probe timeouts
// of silence with the backoff) count as persistent congestion (RFC 9002 7.6): the window
// collapses to MinWindow.
const persistentCongestionPTOs = 3

// probesPerTimeout is how many of the oldest in-flight items a probe timeout retransmits
// (RFC 9002 allows up to two probe datagrams).
const probesPerTimeout = 2

// Deadline returns when OnTimer must next be called: the loss-detection time of the oldest
// in-flight item, else the probe timeout. Zero means nothing is in flight.
func (s *Sender[T]) Deadline() time.Time {
	if s.sendHead == 0 {
		return time.Time{}
	}
	head := s.sent.at(s.sendHead)
	if head.pn < s.largestAckedPN {
		return head.sentAt.Add(s.reorder.lossDelay(&s.rtt))
	}
	return s.lastSend.Add(s.probeTimeout())
}

// probeTimeout is the RFC 9002 probe timeout with exponential backoff, bounded by MinRTO and
// MaxRTO.
func (s *Sender[T]) probeTimeout() time.Duration {
	d := max(s.rtt.pto(), s.cfg.MinRTO)
	for i := 0; i < s.ptoCount && d < s.cfg.MaxRTO; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxRTO)
}

// OnTimer handles the expiry of Deadline: time-threshold losses, or a probe timeout, which
// doubles the next timeout and schedules the oldest in-flight item(s) for retransmission even
// past the congestion window. Calling it early is harmless.
func (s *Sender[T]) OnTimer(now time.Time) {
	deadline := s.Deadline()
	if deadline.IsZero() || now.Before(deadline) {
		return
	}
	if s.sent.at(s.sendHead).pn < s.largestAckedPN {
		s.detectLoss(now)
		return
	}
	s.ptoCount++
	s.stats.Timeouts++
	if s.ptoCount >= persistentCongestionPTOs {
		s.cc.onPersistentCongestion(now)
	}
	s.probeCredit = probesPerTimeout
	seq := s.sendHead
	for n := 0; n < probesPerTimeout && seq != 0; n++ {
		it := s.sent.at(seq)
		if !it.needRetx {
			it.needRetx = true // stays in flight: a probe is not a loss
			s.retx.push(seq)
		}
		seq = it.next
	}
}

// Failed returns an error wrapping ErrPeerUnresponsive once the oldest unacked item was first
// sent GiveUpAfter ago or longer. It is checked by the caller, typically after OnTimer; with
// the backoff bounded by MaxRTO it is noticed at most MaxRTO late.
func (s *Sender[T]) Failed(now time.Time) error {
	if s.base >= s.nextSeq {
		return nil
	}
	age := now.Sub(s.sent.at(s.base).firstSent)
	if age < s.cfg.GiveUpAfter {
		return nil
	}
	return fmt.Errorf("%w: %d items unacked for %s", ErrPeerUnresponsive, s.unackedItems, age.Round(time.Millisecond))
}
