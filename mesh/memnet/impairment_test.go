package memnet

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// within reports whether count is within 5 standard deviations of a binomial(n, p) mean: a
// false failure is a one-in-a-million event, yet a wrong rate (say 0.2 for 0.1) is caught.
func within(count uint64, n int, p float64) bool {
	mean := float64(n) * p
	return math.Abs(float64(count)-mean) <= 5*math.Sqrt(float64(n)*p*(1-p))
}

func TestLossAndDuplicationRates(t *testing.T) {
	const datagrams = 100_000
	n := New(42)
	n.SetQueueLen(2 * datagrams) // measure the link, not the receive queue
	n.SetImpairment(Impairment{Loss: 0.1, Duplicate: 0.05})
	a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
	for range datagrams {
		send(t, a, b.AddrPort(), "x")
	}
	s := n.Stats()
	if s.Sent != datagrams {
		t.Fatalf("Sent = %d", s.Sent)
	}
	if !within(s.Lost, datagrams, 0.1) {
		t.Errorf("Lost = %d of %d, want about 10%%", s.Lost, datagrams)
	}
	// Duplication is decided for the datagrams that survived loss.
	if survivors := int(datagrams - s.Lost); !within(s.Duplicated, survivors, 0.05) {
		t.Errorf("Duplicated = %d of %d, want about 5%%", s.Duplicated, survivors)
	}
	if s.Delivered != s.Sent-s.Lost+s.Duplicated || s.Overflowed != 0 {
		t.Errorf("stats do not balance: %+v", s)
	}
	if len(b.queue) != int(s.Delivered) {
		t.Errorf("queue holds %d, Delivered = %d", len(b.queue), s.Delivered)
	}
}

func TestSameSeedSameOutcome(t *testing.T) {
	run := func() Stats {
		n := New(7)
		n.SetImpairment(Impairment{Loss: 0.3, Duplicate: 0.3, Reorder: 0.3})
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
		for range 1000 {
			send(t, a, b.AddrPort(), "x")
		}
		s := n.Stats()
		s.InFlight, s.Delivered, s.Overflowed = 0, 0, 0 // arrivals depend on the clock
		return s
	}
	if first, second := run(), run(); first != second {
		t.Fatalf("same seed, different outcome:\n%+v\n%+v", first, second)
	}
}

func TestDelayRunsOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		n.SetImpairment(Impairment{Delay: 100 * time.Millisecond})
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
		start := time.Now()
		send(t, a, b.AddrPort(), "slow")
		if got, _, err := recv(t, b); err != nil || got != "slow" {
			t.Fatalf("got %q, %v", got, err)
		}
		if elapsed := time.Since(start); elapsed != 100*time.Millisecond {
			t.Fatalf("datagram took %v of fake time, want exactly 100ms", elapsed)
		}
	})
}

func TestJitterStaysInRangeAndDelayKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		a, b, c := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1"), listen(t, n, "10.0.0.3:1")
		n.SetLinkImpairment(a.AddrPort().Addr(), b.AddrPort().Addr(),
			Impairment{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond})
		n.SetLinkImpairment(a.AddrPort().Addr(), c.AddrPort().Addr(), Impairment{Delay: 30 * time.Millisecond})
		start := time.Now()
		const count = 200
		for i := range count {
			send(t, a, b.AddrPort(), "j")
			send(t, a, c.AddrPort(), string(rune('0'+i%10)))
		}
		spread := [2]time.Duration{time.Hour, 0} // earliest, latest arrival
		for range count {
			if _, _, err := recv(t, b); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			spread[0], spread[1] = min(spread[0], d), max(spread[1], d)
		}
		if spread[0] < 50*time.Millisecond || spread[1] > 70*time.Millisecond || spread[0] == spread[1] {
			t.Fatalf("arrivals spread over [%v, %v], want within [50ms, 70ms] and jittered", spread[0], spread[1])
		}
		// A fixed delay without Reorder keeps send order (c was read after b: all are queued).
		for i := range count {
			if got, _, _ := recv(t, c); got != string(rune('0'+i%10)) {
				t.Fatalf("datagram %d to c is %q: order not kept", i, got)
			}
		}
	})
}

func TestReorderLetsLaterDatagramsOvertake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const count = 10_000
		n := New(3)
		n.SetImpairment(Impairment{Reorder: 0.2})
		n.SetQueueLen(count)
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
		buf := make([]byte, 8)
		for i := range count {
			binary.BigEndian.PutUint64(buf, uint64(i))
			if _, err := a.WriteToUDPAddrPort(buf, b.AddrPort()); err != nil {
				t.Fatal(err)
			}
		}
		if s := n.Stats(); !within(s.Reordered, count, 0.2) {
			t.Fatalf("Reordered = %d of %d, want about 20%%", s.Reordered, count)
		}
		seen, inversions, last := make(map[uint64]bool), 0, uint64(0)
		for range count {
			k, _, err := b.ReadFromUDPAddrPort(buf)
			if err != nil || k != 8 {
				t.Fatal(err)
			}
			v := binary.BigEndian.Uint64(buf)
			if v < last {
				inversions++
			}
			last, seen[v] = v, true
		}
		if len(seen) != count || inversions == 0 {
			t.Fatalf("%d distinct of %d, %d inversions; want all, reordered", len(seen), count, inversions)
		}
	})
}

func TestPartitionAndHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		a, b, c := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1"), listen(t, n, "10.0.0.3:1")
		group := ap("239.192.137.1:27320")
		for _, m := range []*Conn{a, b, c} {
			n.JoinGroup(group, m)
		}
		n.Partition([]netip.Addr{a.AddrPort().Addr()}, []netip.Addr{b.AddrPort().Addr()})

		expectNothing := func(m *Conn) {
			t.Helper()
			m.SetReadDeadline(time.Now().Add(time.Second))
			if got, _, err := recv(t, m); !isTimeout(err) {
				t.Fatalf("%v received %q across the partition", m.AddrPort(), got)
			}
			m.SetReadDeadline(time.Time{})
		}
		expect := func(m *Conn, want string) {
			t.Helper()
			if got, _, err := recv(t, m); err != nil || got != want {
				t.Fatalf("%v got %q, %v; want %q", m.AddrPort(), got, err, want)
			}
		}

		send(t, a, b.AddrPort(), "a->b")
		send(t, b, a.AddrPort(), "b->a")
		send(t, a, c.AddrPort(), "a->c")
		send(t, a, group, "a->group") // multicast is cut too, except to a itself and c
		expectNothing(b)
		expect(a, "a->group")
		expectNothing(a)
		expect(c, "a->c")
		expect(c, "a->group")
		if s := n.Stats(); s.Partitioned != 3 {
			t.Fatalf("Partitioned = %d, want 3", s.Partitioned)
		}

		n.Heal()
		send(t, a, b.AddrPort(), "healed")
		expect(b, "healed")
	})
}

func TestLinkImpairmentIsOneWayAndClearable(t *testing.T) {
	n := New(1)
	a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
	n.SetLinkImpairment(a.AddrPort().Addr(), b.AddrPort().Addr(), Impairment{Loss: 1})
	send(t, a, b.AddrPort(), "dropped")
	send(t, b, a.AddrPort(), "reverse")
	if got, _, err := recv(t, a); err != nil || got != "reverse" {
		t.Fatalf("reverse direction: %q, %v", got, err)
	}
	n.ClearLinkImpairment(a.AddrPort().Addr(), b.AddrPort().Addr())
	send(t, a, b.AddrPort(), "after clear")
	if got, _, err := recv(t, b); err != nil || got != "after clear" {
		t.Fatalf("after clear: %q, %v", got, err)
	}
	if s := n.Stats(); s.Lost != 1 {
		t.Fatalf("Lost = %d, want 1", s.Lost)
	}
}

func TestInFlightToClosedConnIsUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		n.SetImpairment(Impairment{Delay: 10 * time.Millisecond})
		a, witness := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.3:1")
		b, _ := n.Listen(ap("10.0.0.2:1"))
		send(t, a, b.AddrPort(), "too late")
		send(t, a, witness.AddrPort(), "after")
		b.Close()
		// Same delay, sent later: once the witness has its datagram, b's has landed too.
		if got, _, err := recv(t, witness); err != nil || got != "after" {
			t.Fatalf("witness got %q, %v", got, err)
		}
		if s := n.Stats(); s.Unreachable != 1 || s.InFlight != 0 || s.Delivered != 1 {
			t.Fatalf("stats %+v, want the late datagram unreachable", s)
		}
	})
}

func TestInFlightIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		n.SetImpairment(Impairment{Delay: time.Second})
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
		for range maxInFlight + 5 {
			send(t, a, b.AddrPort(), "x")
		}
		if s := n.Stats(); s.InFlight != maxInFlight || s.Overflowed != 5 {
			t.Fatalf("stats %+v, want %d in flight and 5 overflowed", s, maxInFlight)
		}
	})
}

func TestInvalidImpairmentPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Loss 1.5 was accepted")
		}
	}()
	New(1).SetImpairment(Impairment{Loss: 1.5})
}
