package mesh

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// filterNetwork is a memNetwork whose data sockets drop the datagrams drop selects.
type filterNetwork struct {
	memNetwork
	drop func(b []byte) bool
}

func (f filterNetwork) ListenData(listen string) (PacketConn, netip.AddrPort, error) {
	c, addr, err := f.memNetwork.ListenData(listen)
	if err != nil {
		return nil, addr, err
	}
	return filterConn{PacketConn: c, drop: f.drop}, addr, nil
}

type filterConn struct {
	PacketConn
	drop func(b []byte) bool
}

func (c filterConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if c.drop(b) {
		return len(b), nil
	}
	return c.PacketConn.WriteToUDPAddrPort(b, to)
}

// dataFrames returns the DATA frames of a plaintext datagram.
func dataFrames(b []byte) []wire.Data {
	_, body, err := wire.ParseHeader(b)
	if err != nil {
		return nil
	}
	var out []wire.Data
	v := wire.Visitor{Data: func(d *wire.Data) error { out = append(out, *d); return nil }}
	_ = wire.WalkFrames(body, &v)
	return out
}

// Only lost fragments are resent: exactly one fragment of a 100-fragment message is dropped
// (once), and exactly one retransmission follows; the message arrives intact.
func TestOnlyLostFragmentResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(51)
		var mu sync.Mutex
		dropped := 0
		cfgA := memConfig(n, 1)
		cfgA.Network = filterNetwork{memNetwork: cfgA.Network.(memNetwork), drop: func(b []byte) bool {
			for _, d := range dataFrames(b) {
				if d.Reliable && d.FragCount >= 90 && d.FragIndex == 50 {
					mu.Lock()
					defer mu.Unlock()
					dropped++
					return dropped == 1
				}
			}
			return false
		}}
		a := startEndpoint(t, cfgA)
		b := startEndpoint(t, memConfig(n, 2))
		var got collector
		must(t, b.Subscribe("big", "", got.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		synctest.Wait()
		before := a.Stats().Retransmits
		payload := bigPayload("big", 100*a.coreChunk()-200) // 100 fragments
		must(t, a.Publish("big", "", 0, payload))
		waitFor(t, "the message", 10*time.Second, func() bool { return got.len() == 1 })
		waitFor(t, "all acknowledged", 10*time.Second, func() bool { return a.Peers()[0].Unacked == 0 })
		synctest.Wait()
		if !bytes.Equal(got.all()[0].Payload, payload) {
			t.Fatal("message corrupted")
		}
		mu.Lock()
		defer mu.Unlock()
		if dropped != 2 {
			t.Fatalf("fragment 50 was sent %d times, want twice (dropped once, retransmitted once)", dropped)
		}
		if r := a.Stats().Retransmits - before; r != 1 {
			t.Fatalf("%d retransmissions for one lost fragment, want 1", r)
		}
	})
}

// coreChunk is the fragment payload size.
func (e *Endpoint) coreChunk() int {
	ch := make(chan int, 1)
	if e.do(context.Background(), func(c *core) { ch <- c.chunk }) != nil {
		return 0
	}
	return <-ch
}

// Several small messages to one peer share a datagram: a burst of 2,000 64-byte messages takes
// far fewer datagrams than messages.
func TestSmallMessagesBatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 52)
		var got collector
		must(t, b.Subscribe("small", "", got.handle))
		syncInterest(t, b)
		synctest.Wait()
		const count = 2000
		before := a.Stats().DatagramsOut
		payload := make([]byte, 64)
		for range count {
			must(t, a.Publish("small", "", 0, payload))
		}
		waitFor(t, "the burst", 10*time.Second, func() bool { return got.len() == count })
		dg := a.Stats().DatagramsOut - before
		t.Logf("%d messages of 64 B in %d datagrams (%.1f a datagram)", count, dg, float64(count)/float64(dg))
		if dg > count/5 {
			t.Fatalf("%d datagrams for %d small messages: not batched", dg, count)
		}
	})
}

// Handing a message to its handlers allocates nothing per message.
func TestDispatchDoesNotAllocate(t *testing.T) {
	e, err := New(memConfig(memnet.New(1), 1))
	must(t, err)
	calls := 0
	must(t, e.Subscribe("a/+", "", func(Message) { calls++ }))
	must(t, e.Subscribe("a/#", "", func(Message) { calls++ }))
	d := delivery{msg: Message{Topic: "a/b", Payload: []byte("x")}}
	var handlers []Handler
	handlers = e.dispatch(d, handlers[:0])
	if allocs := testing.AllocsPerRun(100, func() { handlers = e.dispatch(d, handlers[:0]) }); allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
	if calls != 2*(1+1+100) { // the first call, AllocsPerRun's warm-up run, 100 runs
		t.Fatalf("%d handler calls, want %d", calls, 2*(1+1+100))
	}
}

// The goodbye goes to each known peer after the last data to it, on the same path: never to the
// multicast group, whose copy reaches the peer on its discovery socket and could overtake the
// last best-effort message (which would then come from a peer already gone).
func TestGoodbyeFollowsLastData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(53)
		type out struct {
			data    bool
			leaving bool
		}
		var mu sync.Mutex
		var sent []out
		cfgA := memConfig(n, 1)
		cfgA.Network = filterNetwork{memNetwork: cfgA.Network.(memNetwork), drop: func(b []byte) bool {
			o := out{data: len(dataFrames(b)) > 0}
			if _, body, err := wire.ParseHeader(b); err == nil {
				v := wire.Visitor{Beacon: func(bc *wire.Beacon) error {
					o.leaving = o.leaving || bc.Flags&wire.BeaconLeaving != 0
					return nil
				}}
				_ = wire.WalkFrames(body, &v)
			}
			mu.Lock()
			sent = append(sent, o)
			mu.Unlock()
			return false
		}}
		a := startEndpoint(t, cfgA)
		b := startEndpoint(t, memConfig(n, 2))
		var got collector
		must(t, b.Subscribe("bye", "", got.handle))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		syncInterest(t, b)
		must(t, a.Send(context.Background(), Outgoing{Topic: "bye", Payload: []byte("last words"), BestEffort: true}))
		must(t, a.Stop())
		waitFor(t, "goodbye", 5*time.Second, func() bool { return peersOf(b) == 0 })
		synctest.Wait() // b's handlers are done
		if got.len() != 1 {
			t.Fatalf("the last best-effort message before the goodbye: %d delivered", got.len())
		}
		mu.Lock()
		defer mu.Unlock()
		lastData, goodbyes := -1, 0
		for i, o := range sent {
			if o.data {
				lastData = i
			}
			if o.leaving {
				goodbyes++
				if i < lastData {
					t.Fatalf("goodbye in datagram %d before the last data (%d)", i, lastData)
				}
			}
		}
		if goodbyes != 1 {
			t.Fatalf("%d datagrams carried the goodbye, want 1 (to the one peer, none to the group)", goodbyes)
		}
	})
}
