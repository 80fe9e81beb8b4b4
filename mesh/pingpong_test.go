package mesh

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// TestPingPongSmallDeliveryQueue: two endpoints whose handlers republish every message to each
// other, with a delivery queue of 16 and 500 messages circulating. The loop often finds the queue
// full and waits for the handlers; the delivery goroutine must always wake it again (a lost
// wake-up stalled both endpoints for ever while the senders saw everything acknowledged).
func TestPingPongSmallDeliveryQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(31)
		cfgA, cfgB := memConfig(n, 1), memConfig(n, 2)
		cfgA.DeliveryQueue, cfgB.DeliveryQueue = 16, 16
		a := startEndpoint(t, cfgA)
		b := startEndpoint(t, cfgB)
		const messages, hops = 500, 20
		var delivered atomic.Int64
		bounce := func(self *Endpoint, to string) Handler {
			return func(m Message) {
				delivered.Add(1)
				left := binary.BigEndian.Uint32(m.Payload)
				if left == 0 {
					return
				}
				p := binary.BigEndian.AppendUint32(nil, left-1)
				if err := self.Publish(to, "", 0, p); err != nil {
					t.Errorf("publish from handler: %v", err)
				}
			}
		}
		must(t, a.Subscribe("to/a", "", bounce(a, "to/b")))
		must(t, b.Subscribe("to/b", "", bounce(b, "to/a")))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		must(t, a.SyncInterest(ctx))
		must(t, b.SyncInterest(ctx))
		// Make the race certain: the first few times b's loop finds its delivery queue full, let
		// the handlers drain it completely before the loop records that it waits.
		var hooked atomic.Int32
		must(t, b.do(ctx, func(c *core) {
			c.testHookBlocking = func() {
				if hooked.Add(1) <= 3 {
					synctest.Wait()
				}
			}
		}))
		for range messages {
			must(t, a.Publish("to/b", "", 0, binary.BigEndian.AppendUint32(nil, hops-1)))
		}
		const want = messages * hops
		deadline := time.Now().Add(2 * time.Minute) // fake time: the run takes a few seconds
		for delivered.Load() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := delivered.Load(); got != want {
			t.Fatalf("stalled: %d of %d deliveries; a: %s; b: %s", got, want, stallState(a), stallState(b))
		}
		if hooked.Load() == 0 {
			t.Fatal("b's delivery queue never filled: the test proves nothing")
		}
	})
}

// stallState describes what the endpoint's loop is waiting for.
func stallState(e *Endpoint) string {
	ch := make(chan string, 1)
	if e.do(context.Background(), func(c *core) {
		s := fmt.Sprintf("delivery len=%d handlersBehind=%v", len(e.delivery), e.handlersBehind.Load())
		for _, p := range c.peers {
			s += fmt.Sprintf(" peer %s blocked=%v backlog=%d room=%d window=%d failing=%v", p.name, p.blocked, p.backlogBytes, p.snd.Room(), p.window, p.failing)
		}
		s += fmt.Sprintf(" congested=%v held=%d pubs=%d", c.congested, c.held(), len(e.pubs))
		ch <- s
	}) != nil {
		return "stopped"
	}
	return <-ch
}
