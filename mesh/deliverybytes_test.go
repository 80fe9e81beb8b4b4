package mesh

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// TestDeliveryBytesBoundsTheQueue: with handlers that are stuck, the messages waiting for them
// are bounded in bytes (Config.DeliveryBytes), not only in number: the queue holds at most the
// bound plus one message, the rest waits unacknowledged in the transport, and once the handlers
// run again every message arrives, in order.
func TestDeliveryBytesBoundsTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(41)
		cfgA, cfgB := memConfig(n, 1), memConfig(n, 2)
		const limit, size, messages = 64 << 10, 8 << 10, 200 // 1.6 MB in all, 25 times the bound
		cfgB.DeliveryBytes = limit
		a := startEndpoint(t, cfgA)
		b := startEndpoint(t, cfgB)
		release := make(chan struct{})
		var got atomic.Int64
		var order atomic.Bool
		order.Store(true)
		must(t, b.Subscribe("big/#", "", func(m Message) {
			<-release
			if binary.BigEndian.Uint32(m.Payload) != uint32(got.Load()) {
				order.Store(false)
			}
			got.Add(1)
		}))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 1 && peersOf(b) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		must(t, b.SyncInterest(ctx))

		published := make(chan error, 1)
		go func() {
			for i := range messages {
				p := binary.BigEndian.AppendUint32(nil, uint32(i))
				p = append(p, bytes.Repeat([]byte{byte(i)}, size-4)...)
				if err := a.Send(ctx, Outgoing{Topic: "big/x", Payload: p}); err != nil {
					published <- err
					return
				}
			}
			published <- nil
		}()
		// Let the transport run until it settles with the handlers stuck (fake time).
		var peak int64
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			peak = max(peak, b.deliveryBytes.Load())
		}
		queued := len(b.delivery)
		if peak > limit+size+int64(len("big/x")) {
			t.Errorf("delivery queue held %d bytes, bound %d plus one message", peak, limit)
		}
		if queued*size < limit/2 {
			t.Errorf("only %d messages queued while the handlers were stuck: the bound is not what stopped them", queued)
		}
		close(release)
		deadline := time.Now().Add(2 * time.Minute)
		for got.Load() < messages && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if g := got.Load(); g != messages {
			t.Fatalf("%d of %d messages arrived; b: %s", g, messages, stallState(b))
		}
		if !order.Load() {
			t.Error("messages arrived out of order")
		}
		must(t, <-published)
		t.Logf("peak queued %d bytes (bound %d) in %d messages while stuck", peak, limit, queued)
	})
}
