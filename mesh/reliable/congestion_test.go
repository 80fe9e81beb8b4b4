package reliable

import (
	"testing"
	"time"
)

// sendAll takes everything Next allows now and returns the sequence numbers.
func sendAll(s *Sender[int], now time.Time) []uint64 {
	var seqs []uint64
	for {
		seq, _, ok := s.Next(now)
		if !ok {
			return seqs
		}
		seqs = append(seqs, seq)
	}
}

func congestionConfig() Config {
	cfg := DefaultConfig()
	cfg.InitialWindow, cfg.MinWindow, cfg.MaxWindow, cfg.SegmentSize = 10_000, 2_000, 1<<30, 1000
	return cfg
}

func fill(s *Sender[int], n int, now time.Time) {
	for i := 0; i < n; i++ {
		s.Enqueue(i, 1000, now)
	}
}

func TestSlowStartDoublesPerRoundTrip(t *testing.T) {
	s := NewSender[int](congestionConfig())
	now := epoch
	fill(s, 4000, now)
	want := 10
	for round := 0; round < 5; round++ {
		seqs := sendAll(s, now)
		if len(seqs) != want {
			t.Fatalf("round %d: sent %d items, want %d (window %d)", round, len(seqs), want, s.Stats().Window)
		}
		now = now.Add(10 * time.Millisecond)
		s.OnAck(seqs[len(seqs)-1], nil, 0, now)
		want *= 2
	}
	if st := s.Stats(); st.Window != 320_000 || st.Reductions != 0 {
		t.Errorf("window %d after 5 loss-free rounds from 10000, want 320000; reductions %d", st.Window, st.Reductions)
	}
}

func TestLossHalvesWindowOncePerRoundTrip(t *testing.T) {
	cfg := congestionConfig()
	s := NewSender[int](cfg)
	now := epoch
	fill(s, 4000, now)
	if first := sendAll(s, now); len(first) != 10 {
		t.Fatalf("sent %v, want 1..10", first)
	}
	now = now.Add(10 * time.Millisecond)
	// Items 1 and 3 lost in the same round trip: one reduction. The 8 acked items first grow
	// the window in slow start (10000+8000), then the loss halves it: 9000.
	s.OnAck(0, []Range{{2, 2}, {4, 10}}, 0, now)
	st := s.Stats()
	if st.Lost != 2 || st.Reductions != 1 || st.Window != 9000 {
		t.Fatalf("after two losses in one round: lost %d, reductions %d, window %d; want 2, 1, 9000", st.Lost, st.Reductions, st.Window)
	}
	retx := sendAll(s, now)
	if len(retx) < 2 || retx[0] != 1 || retx[1] != 3 {
		t.Fatalf("first sends after loss = %v, want retransmissions 1, 3 first", retx)
	}
	now = now.Add(10 * time.Millisecond)
	s.OnAck(retx[len(retx)-1], nil, 0, now) // everything so far acked
	// A loss among items sent after the reduction is a new congestion event.
	round := sendAll(s, now)
	now = now.Add(10 * time.Millisecond)
	last := round[len(round)-1]
	s.OnAck(round[0]-1, []Range{{round[0] + 1, last}}, 0, now)
	if st := s.Stats(); st.Reductions != 2 {
		t.Fatalf("loss in the next round trip: reductions %d, want 2", st.Reductions)
	}
	// Repeated losses, one per round trip, never take the window below MinWindow.
	lowest := s.Stats().Window
	for i := 0; i < 20; i++ {
		round := sendAll(s, now)
		now = now.Add(10 * time.Millisecond)
		s.OnAck(round[0]-1, []Range{{round[0] + 1, round[len(round)-1]}}, 0, now)
		if d := s.Deadline(); len(round) < 4 && !d.IsZero() { // too few for the packet threshold
			now = d
			s.OnTimer(now) // time threshold
		}
		top := round[len(round)-1]
		if more := sendAll(s, now); len(more) > 0 { // the retransmission first
			if more[0] != round[0] {
				t.Fatalf("sent %v after losing %d", more, round[0])
			}
			top = max(top, more[len(more)-1])
		}
		now = now.Add(10 * time.Millisecond)
		s.OnAck(top, nil, 0, now) // everything got through
		w := s.Stats().Window
		if w < cfg.MinWindow {
			t.Fatalf("window %d below MinWindow %d", w, cfg.MinWindow)
		}
		lowest = min(lowest, w)
	}
	if lowest != cfg.MinWindow {
		t.Errorf("lowest window under repeated losses = %d, want MinWindow %d", lowest, cfg.MinWindow)
	}
	t.Logf("stats after 20 lossy rounds: %+v", s.Stats())
}

func TestWindowDoesNotGrowWhenIdle(t *testing.T) {
	s := NewSender[int](congestionConfig())
	now := epoch
	for i := 0; i < 100; i++ { // one small item per round trip: application limited
		s.Enqueue(i, 1000, now)
		seqs := sendAll(s, now)
		now = now.Add(10 * time.Millisecond)
		s.OnAck(seqs[0], nil, 0, now)
	}
	if w := s.Stats().Window; w != 10_000 {
		t.Errorf("window grew to %d while application limited", w)
	}
}
