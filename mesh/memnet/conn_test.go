package memnet

import (
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestUnicastDeliversACopyWithSourceAddress(t *testing.T) {
	n := New(1)
	a, b := listen(t, n, "10.0.0.1:1000"), listen(t, n, "10.0.0.2:2000")
	payload := []byte("hello")
	if _, err := a.WriteToUDPAddrPort(payload, b.AddrPort()); err != nil {
		t.Fatal(err)
	}
	copy(payload, "XXXXX") // the network must have copied on send
	got, from, err := recv(t, b)
	if err != nil || got != "hello" || from != a.AddrPort() {
		t.Fatalf("got %q from %v (%v), want hello from %v", got, from, err, a.AddrPort())
	}
}

func TestPacketConnInterfaceUsesUDPAddr(t *testing.T) {
	n := New(1)
	var a, b net.PacketConn = listen(t, n, "10.0.0.1:1000"), listen(t, n, "10.0.0.2:2000")
	if _, err := a.WriteTo([]byte("x"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	_, from, err := b.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if ua, ok := from.(*net.UDPAddr); !ok || ua.String() != "10.0.0.1:1000" {
		t.Fatalf("ReadFrom address = %#v, want *net.UDPAddr 10.0.0.1:1000", from)
	}
	if _, err := a.WriteTo([]byte("x"), &net.TCPAddr{}); err == nil {
		t.Fatal("WriteTo a non-UDP address succeeded")
	}
}

func TestListenPortZeroPicksDistinctFreePorts(t *testing.T) {
	n := New(1)
	a, b := listen(t, n, "10.0.0.1:0"), listen(t, n, "10.0.0.1:0")
	if a.AddrPort().Port() == 0 || a.AddrPort() == b.AddrPort() {
		t.Fatalf("port 0 gave %v and %v", a.AddrPort(), b.AddrPort())
	}
	if _, err := n.Listen(a.AddrPort()); err == nil || !strings.HasPrefix(err.Error(), "memnet: ") {
		t.Fatalf("second Listen on %v: err = %v, want memnet address in use", a.AddrPort(), err)
	}
	if _, err := n.Listen(ap("0.0.0.0:5")); err == nil {
		t.Fatal("Listen on the unspecified address succeeded")
	}
}

func TestReadTruncatesLongDatagram(t *testing.T) {
	n := New(1)
	a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
	send(t, a, b.AddrPort(), "0123456789")
	buf := make([]byte, 4)
	if k, _, err := b.ReadFromUDPAddrPort(buf); err != nil || string(buf[:k]) != "0123" {
		t.Fatalf("read %q, %v; want truncated 0123", buf[:k], err)
	}
	if _, err := a.WriteToUDPAddrPort(make([]byte, maxDatagram+1), b.AddrPort()); !errors.Is(err, errMessageTooLong) {
		t.Fatalf("oversized write: err = %v", err)
	}
}

func TestSendToUnknownAddressIsSilentlyLost(t *testing.T) {
	n := New(1)
	a := listen(t, n, "10.0.0.1:1")
	send(t, a, ap("10.0.0.9:9"), "void")
	if s := n.Stats(); s.Sent != 1 || s.Unreachable != 1 || s.Delivered != 0 {
		t.Fatalf("stats %+v, want one unreachable", s)
	}
}

func TestGroupDeliversToEveryMemberIncludingSender(t *testing.T) {
	n := New(1)
	group := ap("239.192.137.1:27320")
	a, b, c := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1"), listen(t, n, "10.0.0.3:1")
	n.JoinGroup(group, a)
	n.JoinGroup(group, b)
	send(t, a, group, "beacon")
	for _, m := range []*Conn{a, b} {
		got, from, err := recv(t, m)
		if err != nil || got != "beacon" || from != a.AddrPort() {
			t.Fatalf("%v got %q from %v (%v)", m.AddrPort(), got, from, err)
		}
	}
	n.LeaveGroup(group, b)
	n.JoinGroup(group, c)
	send(t, a, group, "second")
	if s := n.Stats(); s.Delivered != 4 || s.Sent != 4 {
		t.Fatalf("stats %+v, want 4 sent and delivered (2 members, twice)", s)
	}
	if got, _, _ := recv(t, c); got != "second" {
		t.Fatalf("new member got %q", got)
	}
	// Closing a member removes it from the group.
	c.Close()
	send(t, a, group, "third")
	if s := n.Stats(); s.Sent != 5 {
		t.Fatalf("after close Sent = %d, want 5 (only a is left in the group)", s.Sent)
	}
}

func TestReceiveQueueIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
		for range DefaultQueueLen + 10 {
			send(t, a, b.AddrPort(), "x")
		}
		if s := n.Stats(); s.Delivered != DefaultQueueLen || s.Overflowed != 10 {
			t.Fatalf("stats %+v, want %d delivered and 10 overflowed", s, DefaultQueueLen)
		}
		b.SetReadDeadline(time.Now().Add(time.Second))
		for i := range DefaultQueueLen {
			if _, _, err := recv(t, b); err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
		}
		if _, _, err := recv(t, b); !isTimeout(err) {
			t.Fatalf("read past the queue: err = %v, want timeout", err)
		}
	})
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")

		// A deadline in the past fails at once even with data queued, like a socket.
		send(t, a, b.AddrPort(), "queued")
		b.SetReadDeadline(time.Now().Add(-time.Second))
		if _, _, err := recv(t, b); !isTimeout(err) || !strings.HasPrefix(err.Error(), "memnet: ") {
			t.Fatalf("past deadline: err = %v, want memnet timeout", err)
		}
		// Clearing it makes the queued datagram readable again.
		b.SetReadDeadline(time.Time{})
		if got, _, err := recv(t, b); err != nil || got != "queued" {
			t.Fatalf("after clearing the deadline: %q, %v", got, err)
		}

		// A future deadline wakes a blocked reader after exactly that much (fake) time.
		start := time.Now()
		b.SetReadDeadline(start.Add(250 * time.Millisecond))
		if _, _, err := recv(t, b); !isTimeout(err) {
			t.Fatalf("err = %v, want timeout", err)
		}
		if waited := time.Since(start); waited != 250*time.Millisecond {
			t.Fatalf("reader woke after %v, want 250ms", waited)
		}

		// Moving the deadline while a reader is blocked wakes it at the new time.
		start = time.Now()
		b.SetReadDeadline(start.Add(time.Hour))
		errc := make(chan error)
		go func() { _, _, err := recv(t, b); errc <- err }()
		synctest.Wait() // the reader is blocked
		b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if err := <-errc; !isTimeout(err) || time.Since(start) != 10*time.Millisecond {
			t.Fatalf("err = %v after %v, want timeout after 10ms", err, time.Since(start))
		}

		// Write deadlines are honoured too.
		a.SetWriteDeadline(time.Now())
		if _, err := a.WriteToUDPAddrPort([]byte("late"), b.AddrPort()); !isTimeout(err) {
			t.Fatalf("write past deadline: err = %v", err)
		}
	})
}

func TestCloseUnblocksReaderAndFailsLaterOperations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		a := listen(t, n, "10.0.0.1:1")
		b, err := n.Listen(ap("10.0.0.2:1"))
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error)
		go func() { _, _, err := recv(t, b); errc <- err }()
		synctest.Wait()
		start := time.Now()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, net.ErrClosed) || time.Since(start) != 0 {
			t.Fatalf("blocked read after Close: %v", err)
		}
		if _, _, err := recv(t, b); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v", err)
		}
		if _, err := b.WriteToUDPAddrPort([]byte("x"), a.AddrPort()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after Close: %v", err)
		}
		if err := b.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
		// The address is free again and datagrams to the closed Conn are lost.
		send(t, a, ap("10.0.0.2:1"), "gone")
		if s := n.Stats(); s.Unreachable != 1 {
			t.Fatalf("stats %+v, want the datagram to the closed Conn unreachable", s)
		}
		listen(t, n, "10.0.0.2:1")
	})
}

// Conns are used from several goroutines at once by the endpoint; -race checks this. Inside the
// bubble, fake time only advances once every goroutine is blocked, so the reader has drained
// every arrival before its deadline fires.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(1)
		n.SetImpairment(Impairment{Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Jitter: time.Millisecond})
		a, b := listen(t, n, "10.0.0.1:1"), listen(t, n, "10.0.0.2:1")
		const perWriter = 500
		done := make(chan struct{})
		for range 2 {
			go func() {
				defer func() { done <- struct{}{} }()
				for range perWriter {
					a.WriteToUDPAddrPort([]byte("payload"), b.AddrPort())
				}
			}()
		}
		got := make(chan int)
		go func() {
			count := 0
			for {
				if _, _, err := recv(t, b); err != nil {
					got <- count
					return
				}
				count++
			}
		}()
		<-done
		<-done
		b.SetReadDeadline(time.Now().Add(time.Second)) // far beyond jitter and reorder hold
		count := <-got
		s := n.Stats()
		if s.Sent != 2*perWriter || s.InFlight != 0 || uint64(count) != s.Delivered {
			t.Fatalf("reader got %d, stats %+v", count, s)
		}
		if s.Sent+s.Duplicated != s.Delivered+s.Lost+s.Overflowed {
			t.Fatalf("stats do not balance: %+v", s)
		}
	})
}
