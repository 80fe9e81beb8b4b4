package reliable

import (
	"testing"
	"time"
)

func TestTransferLossyLink(t *testing.T) {
	sim := newSimulation(t, DefaultConfig(), 1)
	for _, l := range []*simLink{&sim.fwd, &sim.back} {
		l.loss, l.dup = 0.20, 0.05
		l.minDelay, l.maxDelay = time.Millisecond, 20*time.Millisecond
	}
	const items = 10000
	took := sim.transfer(items, 10*time.Minute)
	st, rs := sim.snd.Stats(), sim.rcv.Stats()
	t.Logf("%d items over 20%% loss, 5%% duplication, 1-20 ms delay both ways: simulated %v", items, took)
	t.Logf("sender: retransmitted %d (%.1f%% of items), declared lost %d, spurious %d, probe timeouts %d, window reductions %d, final window %d, srtt %v",
		st.Retransmitted, 100*float64(st.Retransmitted)/items, st.Lost, st.Spurious, st.Timeouts, st.Reductions, st.Window, st.SRTT)
	t.Logf("receiver: duplicates refused %d, out of window %d, acks %d (data datagrams %d, dropped %d)",
		rs.Duplicates, rs.OutOfWindow, rs.Acks, sim.fwd.sent, sim.fwd.dropped)
	if st.Acked != items || st.Sent != items {
		t.Errorf("sent %d, acked %d; want %d each", st.Sent, st.Acked, items)
	}
	if st.InflightBytes != 0 || st.UnackedItems != 0 || st.QueuedBytes != 0 || rs.Buffered != 0 {
		t.Errorf("leftover state: %+v / %+v", st, rs)
	}
	if st.Retransmitted < uint64(sim.fwd.dropped)/2 {
		t.Errorf("retransmitted %d with %d data datagrams dropped: losses not recovered by retransmission?", st.Retransmitted, sim.fwd.dropped)
	}
}

func TestTransferCleanLinkHasNoRetransmissions(t *testing.T) {
	sim := newSimulation(t, DefaultConfig(), 2)
	for _, l := range []*simLink{&sim.fwd, &sim.back} {
		l.minDelay, l.maxDelay, l.inOrder = time.Millisecond, 20*time.Millisecond, true
	}
	const items = 10000
	took := sim.transfer(items, 10*time.Minute)
	st := sim.snd.Stats()
	t.Logf("%d items, no loss, 1-20 ms jitter without reordering: simulated %v, srtt %v, window %d", items, took, st.SRTT, st.Window)
	if st.Retransmitted != 0 || st.Lost != 0 || st.Spurious != 0 || st.Timeouts != 0 {
		t.Errorf("clean link: retransmitted %d, lost %d, spurious %d, timeouts %d; want all 0", st.Retransmitted, st.Lost, st.Spurious, st.Timeouts)
	}
	if st.Reductions != 0 {
		t.Errorf("clean link: %d window reductions", st.Reductions)
	}
}

// TestTransferReorderingWithoutLoss documents the cost of heavy reordering: packet-threshold
// loss detection (3, as in QUIC) misreads reordering as loss, so some retransmissions are
// spurious, but delivery stays exactly once and in order.
func TestTransferReorderingWithoutLoss(t *testing.T) {
	sim := newSimulation(t, DefaultConfig(), 3)
	for _, l := range []*simLink{&sim.fwd, &sim.back} {
		l.minDelay, l.maxDelay = time.Millisecond, 20*time.Millisecond
	}
	const items = 10000
	took := sim.transfer(items, 10*time.Minute)
	st := sim.snd.Stats()
	t.Logf("%d items, no loss, 1-20 ms delay with reordering: simulated %v, retransmitted %d, spurious %d, reductions %d",
		items, took, st.Retransmitted, st.Spurious, st.Reductions)
}

func TestTransferWithOneAckRange(t *testing.T) {
	sim := newSimulation(t, DefaultConfig(), 4)
	sim.maxRanges = 1
	for _, l := range []*simLink{&sim.fwd, &sim.back} {
		l.loss, l.minDelay, l.maxDelay = 0.2, time.Millisecond, 10*time.Millisecond
	}
	took := sim.transfer(3000, time.Minute)
	st := sim.snd.Stats()
	t.Logf("3000 items, 20%% loss, ACKs carry at most 1 range: simulated %v, retransmitted %d, spurious %d", took, st.Retransmitted, st.Spurious)
}
