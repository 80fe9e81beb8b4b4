package mesh

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// TestReassemblyBudgetCoversReliable: the global reassembly budget bounds what reliable peers
// hold too (receive windows and messages in reassembly). Two senders each push messages bigger
// than half the receiver's budget, so their partial messages could wait for each other for
// ever; with small messages mixed in and a handler that falls behind. Everything arrives,
// intact and in order, the receiver refused fragments (unacknowledged, so nothing acknowledged
// was lost) and its memory stayed within the budget plus one message.
func TestReassemblyBudgetCoversReliable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(41)
		cfgB := memConfig(n, 2)
		cfgB.ReassemblyBudget = 512 << 10
		cfgB.MaxMessageSize = 1 << 20
		b := startEndpoint(t, cfgB)
		a := startEndpoint(t, memConfig(n, 1))
		c := startEndpoint(t, memConfig(n, 3))
		type rec struct {
			origin EndpointID
			topic  string
			size   int
			ok     bool
		}
		var mu sync.Mutex
		var got []rec
		slow := true
		must(t, b.Subscribe("big/#", "", func(m Message) {
			mu.Lock()
			s := slow
			slow = false
			mu.Unlock()
			if s {
				time.Sleep(500 * time.Millisecond) // (fake time) fall behind once: the windows fill
			}
			mu.Lock()
			got = append(got, rec{m.Origin, m.Topic, len(m.Payload), bytes.Equal(m.Payload, bigPayload(m.Topic, len(m.Payload)))})
			mu.Unlock()
		}))
		waitFor(t, "discovery", 5*time.Second, func() bool { return peersOf(a) == 2 && peersOf(b) == 2 && peersOf(c) == 2 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		must(t, b.SyncInterest(ctx))
		const rounds = 4
		var wg sync.WaitGroup
		for _, e := range []*Endpoint{a, c} {
			wg.Go(func() {
				for i := range rounds {
					for j := range 20 {
						topic := fmt.Sprintf("big/%s/%d/small%d", e.Name(), i, j)
						must(t, e.Send(context.Background(), Outgoing{Topic: topic, Payload: bigPayload(topic, 100)}))
					}
					topic := fmt.Sprintf("big/%s/%d/large", e.Name(), i)
					must(t, e.Send(context.Background(), Outgoing{Topic: topic, Payload: bigPayload(topic, 700<<10)}))
				}
			})
		}
		wg.Wait()
		const want = 2 * rounds * 21
		waitFor(t, "every message", 5*time.Minute, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == want })
		mu.Lock()
		defer mu.Unlock()
		next := map[EndpointID]int{}
		for _, r := range got {
			if !r.ok {
				t.Fatalf("%s: %d bytes, corrupted", r.topic, r.size)
			}
			k := next[r.origin]
			var name string
			if r.origin == a.ID() {
				name = a.Name()
			} else {
				name = c.Name()
			}
			wantTopic := fmt.Sprintf("big/%s/%d/small%d", name, k/21, k%21)
			if k%21 == 20 {
				wantTopic = fmt.Sprintf("big/%s/%d/large", name, k/21)
			}
			if r.topic != wantTopic {
				t.Fatalf("from %s: got %s, want %s (out of order)", name, r.topic, wantTopic)
			}
			next[r.origin] = k + 1
		}
		st := b.Stats()
		peak := heldPeak(b)
		t.Logf("receiver refused %d fragments; peak held %d bytes (budget %d, max message %d); senders retransmitted %d+%d",
			st.DropReassembly, peak, cfgB.ReassemblyBudget, cfgB.MaxMessageSize, a.Stats().Retransmits, c.Stats().Retransmits)
		if st.DropReassembly == 0 {
			t.Fatal("the budget never refused a fragment: the test proves nothing")
		}
		if limit := cfgB.ReassemblyBudget + int64(cfgB.MaxMessageSize) + 2048; peak > limit {
			t.Fatalf("held %d bytes in reassembly, limit %d (budget + one message)", peak, limit)
		}
		if f := a.Stats().PeerFailures + c.Stats().PeerFailures; f != 0 {
			t.Fatalf("%d peer failures: back-pressure made a sender give up", f)
		}
	})
}

func bigPayload(topic string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = topic[i%len(topic)] + byte(i/len(topic))
	}
	return b
}

func heldPeak(e *Endpoint) int64 {
	ch := make(chan int64, 1)
	if e.do(context.Background(), func(c *core) { ch <- c.heldPeak }) != nil {
		return -1
	}
	return <-ch
}
