package mesh

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// pair starts a publisher a and a subscriber b on a fresh in-memory network and waits until
// they know each other.
func pair(t *testing.T, seed int64) (a, b *Endpoint, n *memnet.Network) {
	t.Helper()
	n = memnet.New(seed)
	a = startEndpoint(t, memConfig(n, 1))
	b = startEndpoint(t, memConfig(n, 2))
	waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
	return a, b, n
}

func syncInterest(t *testing.T, e *Endpoint) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, e.SyncInterest(ctx))
}

// Unsubscribe stops delivery, and withdraws the interest: the publisher stops sending. A filter
// subscribed with two types stays announced until both are gone.
func TestUnsubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 61)
		var any, typed collector
		must(t, b.Subscribe("u/#", "", any.handle))
		must(t, b.Subscribe("u/#", "json", typed.handle))
		syncInterest(t, b)
		must(t, a.Publish("u/1", "json", 0, []byte("one")))
		waitFor(t, "first message", 5*time.Second, func() bool { return any.len() == 1 && typed.len() == 1 })

		must(t, b.Unsubscribe("u/#", ""))
		syncInterest(t, b)
		must(t, a.Publish("u/2", "json", 0, []byte("two")))
		waitFor(t, "second message", 5*time.Second, func() bool { return typed.len() == 2 })
		if any.len() != 1 {
			t.Fatalf("the removed subscription got %d messages, want 1", any.len())
		}

		must(t, b.Unsubscribe("u/#", "json"))
		syncInterest(t, b)
		sent := a.Stats().MessagesOut
		must(t, a.Publish("u/3", "json", 0, []byte("three")))
		synctest.Wait() // the loop has routed it (or not)
		if got := a.Stats().MessagesOut - sent; got != 0 {
			t.Fatalf("publisher sent %d messages after the last subscription went: interest not withdrawn", got)
		}
		if typed.len() != 2 || any.len() != 1 {
			t.Fatalf("deliveries after unsubscribe: typed %d any %d", typed.len(), any.len())
		}
		if err := b.Unsubscribe("u/#", "json"); err == nil {
			t.Fatal("unsubscribing twice: no error")
		}
	})
}

// A subscription with a type gets only messages of that type; "" gets every type.
func TestSubscribeFiltersByType(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 62)
		var json, any collector
		must(t, b.Subscribe("s", "json", json.handle))
		must(t, b.Subscribe("s", "", any.handle))
		syncInterest(t, b)
		must(t, a.Publish("s", "text", 0, []byte("t")))
		must(t, a.Publish("s", "json", 0, []byte("j")))
		waitFor(t, "messages", 5*time.Second, func() bool { return any.len() == 2 })
		synctest.Wait()
		if msgs := json.all(); len(msgs) != 1 || msgs[0].Type != "json" || string(msgs[0].Payload) != "j" {
			t.Fatalf("typed subscription got %+v", msgs)
		}
	})
}

// Publish refuses a message over MaxMessageSize with ErrTooLarge, and takes one that fits.
func TestPublishTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := memConfig(memnet.New(63), 1)
		cfg.MaxMessageSize = 4096
		a := startEndpoint(t, cfg)
		err := a.Publish("big", "", 0, make([]byte, 4096))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("publish of 4096 payload bytes (over 4096 with the header): %v, want ErrTooLarge", err)
		}
		must(t, a.Publish("big", "", 0, make([]byte, 4000)))
	})
}

// A peer that crashes (no goodbye) and comes back with the same ID, a new name and a new
// session before it expired is taken as a restart: the old incarnation's transport state goes
// (what was unacknowledged to it is dropped and counted, not delivered to the new one) and
// messages flow both ways again.
func TestCrashRestartSameID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(64)
		a := startEndpoint(t, memConfig(n, 1))
		cfgB := memConfig(n, 2)
		cfgB.EndpointID = "0b4c7c34-7a57-4c0e-9a3e-4a1d5c3e9f10"
		cfgB.EndpointName = "b-boot1"
		b1 := startEndpoint(t, cfgB)
		var old collector
		must(t, b1.Subscribe("r/#", "", old.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b1) == 1 })
		syncInterest(t, b1)
		must(t, a.Publish("r/0", "", 0, []byte("before the crash")))
		waitFor(t, "first message", 5*time.Second, func() bool { return old.len() == 1 })

		// The crash: b1 is cut off, a's messages to it go unacknowledged, and its goodbye is lost.
		n.Partition([]netip.Addr{addrOf(1)}, []netip.Addr{addrOf(2)})
		for range 5 {
			must(t, a.Publish("r/lost", "", 0, []byte("to the old boot")))
		}
		waitFor(t, "retransmissions to the dead boot", 5*time.Second, func() bool { return a.Stats().Retransmits > 0 })
		b1.Stop()
		n.Heal()
		oldSession := b1.Session()

		cfgB.EndpointName = "b-boot2"
		b2 := startEndpoint(t, cfgB)
		var got collector
		must(t, b2.Subscribe("r/#", "", got.handle))
		waitFor(t, "the new boot", 2*time.Second, func() bool {
			ps := a.Peers()
			return len(ps) == 1 && ps[0].Session == b2.Session() && peersOf(b2) == 1
		})
		if ps := a.Peers(); ps[0].Name != "b-boot2" || ps[0].ID != b2.ID() || ps[0].Retransmits != 0 {
			t.Fatalf("peer after restart %+v (old session %d): transport state not reset", ps[0], oldSession)
		}
		st := a.Stats()
		if st.PeerRestarts != 1 || st.PeersJoined != 1 || st.PeersLeft != 0 {
			t.Fatalf("joined %d, restarts %d, left %d: want the crash seen as one restart", st.PeersJoined, st.PeerRestarts, st.PeersLeft)
		}
		if st.DropNoRoute < 5 {
			t.Fatalf("%d messages counted as lost with the old boot, want 5", st.DropNoRoute)
		}
		syncInterest(t, b2)
		must(t, a.Publish("r/1", "", 0, []byte("after the restart")))
		var back collector
		must(t, a.Subscribe("back", "", back.handle))
		syncInterest(t, a)
		must(t, b2.Publish("back", "", 0, []byte("hello again")))
		waitFor(t, "messages both ways", 5*time.Second, func() bool { return got.len() == 1 && back.len() == 1 })
		synctest.Wait()
		if msgs := got.all(); len(msgs) != 1 || msgs[0].Topic != "r/1" {
			t.Fatalf("the new boot got %v, want only r/1", msgs)
		}
	})
}
