package reliable

import "time"

// SenderStats are a Sender's counters and current state.
type SenderStats struct {
	Sent          uint64 // first transmissions
	Retransmitted uint64 // retransmissions (loss recovery and probes)
	Acked         uint64
	Lost          uint64 // items declared lost (each declaration counts)
	Spurious      uint64 // declared losses later found unnecessary (acked before or too soon after retransmission)
	Timeouts      uint64 // probe timeouts
	Refused       uint64 // Enqueue calls refused for back-pressure

	Window        int // congestion window, bytes
	Reductions    uint64
	SRTT, RTTVar  time.Duration
	MinRTT        time.Duration
	InflightBytes int
	InflightItems int
	UnackedItems  int // sent and not acked (in flight or awaiting retransmission)
	QueuedBytes   int // accepted, not sent yet
	QueuedItems   int
}

// Stats returns the counters and current state.
func (s *Sender[T]) Stats() SenderStats {
	st := s.stats
	st.Window, st.Reductions = s.cc.window, s.cc.reductions
	st.SRTT, st.RTTVar, st.MinRTT = s.rtt.srtt(), s.rtt.rttvar(), s.rtt.minimum
	st.InflightBytes, st.InflightItems = s.inFlightBytes, s.inFlightItems
	st.UnackedItems = s.unackedItems
	st.QueuedBytes, st.QueuedItems = s.queuedBytes, s.queue.len()
	return st
}

// ReceiverStats are a Receiver's counters.
type ReceiverStats struct {
	Accepted    uint64 // new items buffered
	Delivered   uint64 // items returned by Pop
	Duplicates  uint64 // already delivered or already buffered
	OutOfWindow uint64 // beyond the reorder window (or sequence number 0): refused
	Acks        uint64 // ACKs built
	Buffered    int    // items held (in order awaiting Pop, or out of order)
}
