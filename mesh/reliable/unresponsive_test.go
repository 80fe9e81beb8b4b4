package reliable

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUnresponsivePeer(t *testing.T) {
	cfg := DefaultConfig()
	s := NewSender[int](cfg)
	now := epoch
	accepted := 0
	for s.Enqueue(accepted, 1000, now) {
		accepted++
	}
	if want := cfg.MaxQueuedBytes / 1000; accepted != want {
		t.Fatalf("accepted %d items of 1000 bytes before refusing, want %d", accepted, want)
	}
	if s.Room() != cfg.MaxQueuedBytes-accepted*1000 {
		t.Fatalf("Room() = %d", s.Room())
	}
	var intervals []time.Duration
	var failedAt time.Duration
	lastFire := now
	for now.Sub(epoch) < time.Minute {
		for {
			if _, _, ok := s.Next(now); !ok {
				break
			}
		}
		st := s.Stats()
		if held := st.QueuedBytes + st.InflightBytes; held > cfg.MaxQueuedBytes {
			t.Fatalf("holding %d bytes, bound %d", held, cfg.MaxQueuedBytes)
		}
		if s.Enqueue(-1, 1000, now) {
			t.Fatal("Enqueue accepted while full")
		}
		if err := s.Failed(now); err != nil {
			if !errors.Is(err, ErrPeerUnresponsive) || !strings.HasPrefix(err.Error(), "reliable: peer unresponsive: ") {
				t.Fatalf("Failed() = %v", err)
			}
			failedAt = now.Sub(epoch)
			t.Logf("Failed after %v: %v", failedAt, err)
			break
		}
		d := s.Deadline()
		if d.IsZero() {
			t.Fatal("no deadline with items in flight")
		}
		now = d
		s.OnTimer(now)
		intervals = append(intervals, now.Sub(lastFire))
		lastFire = now
	}
	t.Logf("probe timeout intervals: %v; retransmitted %d", intervals, s.Stats().Retransmitted)
	if failedAt < cfg.GiveUpAfter || failedAt > cfg.GiveUpAfter+cfg.MaxRTO {
		t.Errorf("failed after %v, want within [%v, %v]", failedAt, cfg.GiveUpAfter, cfg.GiveUpAfter+cfg.MaxRTO)
	}
	first := cfg.InitialRTT + 4*cfg.InitialRTT/2 + cfg.MaxAckDelay
	if intervals[0] != first {
		t.Errorf("first probe timeout after %v, want %v", intervals[0], first)
	}
	for i := 1; i < len(intervals); i++ {
		if want := min(2*intervals[i-1], cfg.MaxRTO); intervals[i] != want {
			t.Errorf("interval %d = %v, want %v (doubling, bounded by MaxRTO)", i, intervals[i], want)
		}
	}
	if last := intervals[len(intervals)-1]; last != cfg.MaxRTO {
		t.Errorf("last interval %v, want MaxRTO %v", last, cfg.MaxRTO)
	}
	if w := s.Stats().Window; w != cfg.MinWindow {
		t.Errorf("window after persistent silence = %d, want MinWindow %d", w, cfg.MinWindow)
	}
	dropped := s.Drain()
	if len(dropped) != accepted || s.Pending() || s.Room() != cfg.MaxQueuedBytes {
		t.Errorf("Drain returned %d items (want %d), Pending %v, Room %d", len(dropped), accepted, s.Pending(), s.Room())
	}
	seen := make([]bool, accepted)
	for _, it := range dropped {
		seen[it] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("item %d missing from Drain", i)
		}
	}
}

func TestOversizedItemAcceptedWhenEmpty(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxQueuedBytes = 10000
	s := NewSender[string](cfg)
	if !s.Enqueue("big", 50000, epoch) {
		t.Fatal("oversized item refused on an empty sender")
	}
	if s.Enqueue("small", 1, epoch) {
		t.Fatal("accepted more while over the bound")
	}
	seq, item, ok := s.Next(epoch)
	if !ok || seq != 1 || item != "big" {
		t.Fatalf("Next() = %d %q %v", seq, item, ok)
	}
	s.OnAck(1, nil, 0, epoch.Add(time.Millisecond))
	if s.Pending() || !s.Enqueue("small", 1, epoch) {
		t.Fatal("sender not reusable after the big item was acked")
	}
}
