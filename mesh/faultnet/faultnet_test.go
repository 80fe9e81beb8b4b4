package faultnet

import (
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// sink records what reaches the wrapped socket.
type sink struct {
	mu  sync.Mutex
	got [][]byte
	at  []time.Time
}

func (s *sink) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) { select {} }
func (s *sink) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	s.mu.Lock()
	s.got = append(s.got, append([]byte(nil), b...))
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return len(b), nil
}
func (s *sink) Close() error { return nil }

func TestParse(t *testing.T) {
	im, err := Parse("loss=0.1, dup=0.05,delay=2ms,jitter=3ms,reorder=0.2")
	if err != nil {
		t.Fatal(err)
	}
	want := Impairment{Loss: 0.1, Duplicate: 0.05, Delay: 2 * time.Millisecond, Jitter: 3 * time.Millisecond, Reorder: 0.2}
	if im != want {
		t.Fatalf("got %+v want %+v", im, want)
	}
	for _, bad := range []string{"loss=2", "loss", "wobble=1", "delay=-1ms", "dup=x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if im, err := Parse(""); err != nil || !im.Zero() {
		t.Fatalf("empty: %+v %v", im, err)
	}
}

func TestLossAndDuplicationRates(t *testing.T) {
	s := &sink{}
	c := Wrap(s, Impairment{Loss: 0.1, Duplicate: 0.05}, 1)
	defer c.Close()
	const n = 100000
	for i := range n {
		c.WriteToUDPAddrPort([]byte{byte(i)}, netip.AddrPort{})
	}
	got := len(s.got)
	// Expected: n * 0.9 * 1.05 = 94,500; allow a generous statistical margin.
	if got < 93500 || got > 95500 {
		t.Fatalf("%d datagrams out of %d, want about 94,500", got, n)
	}
	st := c.Stats()
	if st.Datagrams != n || int(st.Datagrams-st.Dropped+st.Duplicated) != got || st.Delayed != 0 || st.Reordered != 0 {
		t.Fatalf("stats %+v do not add up to %d sent", st, got)
	}
	if st.Dropped < 9500 || st.Dropped > 10500 || st.Duplicated < 4200 || st.Duplicated > 4800 {
		t.Fatalf("stats %+v, want about 10,000 dropped and 4,500 duplicated", st)
	}
}

func TestDelayAndReorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		c := Wrap(s, Impairment{Delay: 10 * time.Millisecond, Reorder: 0.3}, 2)
		start := time.Now()
		for i := range 1000 {
			c.WriteToUDPAddrPort([]byte{byte(i >> 8), byte(i)}, netip.AddrPort{})
		}
		time.Sleep(time.Second)
		synctest.Wait()
		c.Close()
		if len(s.got) != 1000 {
			t.Fatalf("%d delivered, want 1000", len(s.got))
		}
		reordered := 0
		for i := 1; i < len(s.got); i++ {
			prev := int(s.got[i-1][0])<<8 | int(s.got[i-1][1])
			cur := int(s.got[i][0])<<8 | int(s.got[i][1])
			if cur < prev {
				reordered++
			}
		}
		if reordered == 0 {
			t.Fatal("nothing reordered")
		}
		if st := c.Stats(); st.Delayed != 1000 || st.Reordered < 200 || st.Reordered > 400 || st.Dropped != 0 {
			t.Fatalf("stats %+v, want 1000 delayed, about 300 reordered", st)
		}
		if first := s.at[0].Sub(start); first < 10*time.Millisecond {
			t.Fatalf("first datagram after %v, want >= 10ms", first)
		}
	})
}
