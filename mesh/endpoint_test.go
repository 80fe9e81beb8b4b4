package mesh

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// collector records what a handler receives.
type collector struct {
	mu   sync.Mutex
	msgs []Message
}

func (c *collector) handle(m Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func (c *collector) all() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

func TestTwoEndpointsExactAndWildcard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(1)
		a := startEndpoint(t, memConfig(n, 1))
		b := startEndpoint(t, memConfig(n, 2))
		var exact, plus, hash collector
		must(t, b.Subscribe("home/kitchen/temp", "", exact.handle))
		must(t, b.Subscribe("home/+/temp", "", plus.handle))
		must(t, b.Subscribe("home/#", "", hash.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		must(t, a.Publish("home/kitchen/temp", "text", 0, []byte("21.5")))
		must(t, a.Publish("home", "text", 0, []byte("parent level")))
		must(t, a.Publish("office/temp", "text", 0, []byte("nobody wants this")))
		waitFor(t, "delivery", 5*time.Second, func() bool { return exact.len() == 1 && plus.len() == 1 && hash.len() == 2 })
		synctest.Wait()
		if exact.len() != 1 || plus.len() != 1 || hash.len() != 2 {
			t.Fatalf("exact %d plus %d hash %d", exact.len(), plus.len(), hash.len())
		}
		m := exact.all()[0]
		if string(m.Payload) != "21.5" || m.Type != "text" || m.Origin != a.ID() || !m.Reliable {
			t.Fatalf("got %+v", m)
		}
		if got := a.Stats().MessagesOut; got != 2 {
			t.Fatalf("a sent %d messages; want 2 (none for the topic nobody wants)", got)
		}
	})
}

// TestReliableUnderLoss: 10,000 messages over 20% loss, 5% duplication and reordering arrive
// exactly once and in order.
func TestReliableUnderLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(7)
		n.SetImpairment(memnet.Impairment{Loss: 0.20, Duplicate: 0.05, Reorder: 0.10, Delay: time.Millisecond, Jitter: 2 * time.Millisecond})
		a := startEndpoint(t, memConfig(n, 1))
		b := startEndpoint(t, memConfig(n, 2))
		const total = 10000
		var mu sync.Mutex
		next, dups, outOfOrder := uint64(0), 0, 0
		seen := make(map[uint64]bool)
		must(t, b.Subscribe("load/#", "", func(m Message) {
			v := binary.BigEndian.Uint64(m.Payload)
			mu.Lock()
			defer mu.Unlock()
			if seen[v] {
				dups++
				return
			}
			seen[v] = true
			if v != next {
				outOfOrder++
			}
			next = v + 1
		}))
		waitFor(t, "discovery", 10*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		start := time.Now()
		for i := range uint64(total) {
			p := binary.BigEndian.AppendUint64(nil, i)
			must(t, a.Send(context.Background(), Outgoing{Topic: "load/x", Payload: p}))
		}
		waitFor(t, "all messages", 5*time.Minute, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == total })
		took := time.Since(start)
		// Keep counting a while: until the sender holds nothing unacknowledged, then for longer
		// than the largest retransmission timeout and link delay, so a late duplicate would show.
		waitFor(t, "all acknowledged", time.Minute, func() bool { ps := a.Peers(); return len(ps) == 1 && ps[0].Unacked == 0 })
		time.Sleep(3 * time.Second) // (fake time) MaxRTO is 1 s, the link delays at most 13 ms
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if dups != 0 || outOfOrder != 0 {
			t.Fatalf("%d duplicates, %d out of order", dups, outOfOrder)
		}
		st := a.Stats()
		t.Logf("10,000 messages over 20%% loss: %v simulated, %d datagrams out, %d retransmits; network %+v",
			took, st.DatagramsOut, st.Retransmits, n.Stats())
	})
}

func TestBestEffortDeliveredAtMostOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(3)
		n.SetImpairment(memnet.Impairment{Duplicate: 0.5})
		a := startEndpoint(t, memConfig(n, 1))
		b := startEndpoint(t, memConfig(n, 2))
		var got collector
		must(t, b.Subscribe("q0", "", got.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		for i := range 200 {
			must(t, a.Send(ctx, Outgoing{Topic: "q0", Payload: []byte{byte(i)}, BestEffort: true}))
			time.Sleep(time.Millisecond) // (fake time) one datagram each, so the link duplicates many
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got.len() != 200 {
			t.Fatalf("got %d best-effort messages over a duplicating link, want 200 exactly", got.len())
		}
		if b.Stats().DropDuplicate == 0 {
			t.Fatal("no duplicates counted: was the link duplicating?")
		}
	})
}

// The expiry counts down at the receiver too: a message that waits behind a slow handler past
// its expiry is dropped, and the handler sees what was left of the lifetime.
func TestExpiryHonouredAtReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(4)
		a := startEndpoint(t, memConfig(n, 1))
		b := startEndpoint(t, memConfig(n, 2))
		var got collector
		must(t, b.Subscribe("exp/#", "", func(m Message) {
			if m.Topic == "exp/slow" {
				time.Sleep(300 * time.Millisecond)
			}
			got.handle(m)
		}))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		must(t, a.Publish("exp/slow", "", 0, []byte("takes a while")))
		must(t, a.Publish("exp/short", "", 100*time.Millisecond, []byte("too late")))
		must(t, a.Publish("exp/long", "", 10*time.Second, []byte("in time")))
		waitFor(t, "messages", 5*time.Second, func() bool { return got.len() == 2 })
		time.Sleep(time.Second)
		msgs := got.all()
		if len(msgs) != 2 || msgs[0].Topic != "exp/slow" || msgs[1].Topic != "exp/long" {
			t.Fatalf("got %v", msgs)
		}
		if msgs[0].Expiry != 0 {
			t.Fatalf("a message without expiry got %v", msgs[0].Expiry)
		}
		if left := msgs[1].Expiry; left <= 0 || left > 10*time.Second-300*time.Millisecond {
			t.Fatalf("remaining expiry %v: not counted down", left)
		}
		if b.Stats().DropExpired != 1 {
			t.Fatalf("expired drops %d, want 1", b.Stats().DropExpired)
		}
	})
}

// A handler may publish (and subscribe) without deadlocking the endpoint, even under
// back-pressure: small delivery queues, send buffers and reassembly budgets on both sides, and
// handlers on both sides that publish for every message they get (a -> b "request", b -> a
// "reply", a -> b "echo"), of 1, 3 and 3 KB, with up to 64 requests outstanding: more than a send
// buffer holds, less than the buffers of the whole cycle (an open-loop producer could fill them
// all, see Handler). Publishes from both handlers must have waited for room (the back-pressure
// is real), and every echo arrives.
func TestHandlerMayPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(5)
		n.SetImpairment(memnet.Impairment{Delay: 2 * time.Millisecond}) // acks take time: buffers fill
		small := func(i int) Config {
			cfg := memConfig(n, i)
			cfg.DeliveryQueue = 8
			cfg.SendBuffer = 16 << 10
			cfg.ReassemblyBudget = 64 << 10
			return cfg
		}
		a := startEndpoint(t, small(1))
		b := startEndpoint(t, small(2))
		var waitedA, waitedB atomic.Int64
		// send publishes from a handler, noting when it had to wait for room.
		send := func(e *Endpoint, waited *atomic.Int64, topic string, payload []byte) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			err := e.Send(ctx, Outgoing{Topic: topic, Payload: payload})
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				waited.Add(1)
				err = e.Send(context.Background(), Outgoing{Topic: topic, Payload: payload})
			}
			if err != nil {
				t.Errorf("publish from handler: %v", err)
			}
		}
		const total, outstanding = 2000, 64
		slots := make(chan struct{}, outstanding)
		var echoes atomic.Int64
		must(t, b.Subscribe("echo", "", func(Message) { echoes.Add(1); <-slots }))
		must(t, a.Subscribe("reply", "", func(m Message) { send(a, &waitedA, "echo", m.Payload) }))
		must(t, b.Subscribe("request", "", func(m Message) {
			send(b, &waitedB, "reply", bytes.Repeat(m.Payload[:1], 3000)) // three fragments
			_ = b.Subscribe(fmt.Sprintf("dyn/%d", m.Payload[0]%8), "", func(Message) {})
		}))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, a.SyncInterest(ctx))
		must(t, b.SyncInterest(ctx))
		for i := range total {
			slots <- struct{}{}
			p := make([]byte, 1000)
			p[0] = byte(i)
			must(t, a.Publish("request", "", 0, p))
		}
		deadline := time.Now().Add(5 * time.Minute)
		for echoes.Load() < total && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if echoes.Load() != total {
			t.Fatalf("%d of %d echoes; a: %s %+v; b: %s %+v", echoes.Load(), total, stallState(a), a.Stats(), stallState(b), b.Stats())
		}
		t.Logf("handler publishes that waited for room: a %d, b %d", waitedA.Load(), waitedB.Load())
		if waitedA.Load() == 0 || waitedB.Load() == 0 {
			t.Fatalf("no back-pressure on a handler's publish (a %d, b %d): the test proves nothing", waitedA.Load(), waitedB.Load())
		}
		if f := a.Stats().PeerFailures + b.Stats().PeerFailures; f != 0 {
			t.Fatalf("%d peers given up: the cycle stalled", f)
		}
	})
}

func TestPeerRestartAndLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(6)
		a := startEndpoint(t, memConfig(n, 1))
		cfgB := memConfig(n, 2)
		cfgB.EndpointID = "6f1c1f4e-2d4b-4a52-9d8c-2e0e5d2a7a11"
		b1 := startEndpoint(t, cfgB)
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 })
		s1 := a.Peers()[0].Session
		b1.Stop()
		waitFor(t, "goodbye", time.Second, func() bool { return peersOf(a) == 0 })
		time.Sleep(10 * time.Millisecond)
		b2 := startEndpoint(t, cfgB)
		var got collector
		must(t, b2.Subscribe("after/restart", "", got.handle))
		waitFor(t, "rejoin", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b2) == 1 })
		if p := a.Peers()[0]; p.Session <= s1 || p.ID != b2.ID() {
			t.Fatalf("restart not recognised: %+v (old session %d)", p, s1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b2.SyncInterest(ctx))
		must(t, a.Publish("after/restart", "", 0, []byte("hi")))
		waitFor(t, "delivery after restart", 5*time.Second, func() bool { return got.len() == 1 })
	})
}

func TestKilledPeerExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(8)
		a := startEndpoint(t, memConfig(n, 1))
		b := startEndpoint(t, memConfig(n, 2))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 })
		// A crash says no goodbye: cut b off, then measure how long a keeps it.
		n.Partition([]netip.Addr{addrOf(1)}, []netip.Addr{addrOf(2)})
		start := time.Now()
		waitFor(t, "expiry", 10*time.Second, func() bool { return peersOf(a) == 0 })
		limit := a.cfg.DiscoveryRate*time.Duration(a.cfg.DiscoveryTimeoutMultiplier) + a.cfg.DiscoveryRate + a.cfg.DiscoveryRate/10
		if took := time.Since(start); took > limit {
			t.Fatalf("peer removed after %v, want within %v", took, limit)
		}
		_ = b
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
