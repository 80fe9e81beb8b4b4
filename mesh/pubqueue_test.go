package mesh

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// TestPublishChannelBoundedInBytes: while the loop is busy, Sends of large messages stop once
// about SendBuffer bytes wait for it (not after 256 messages of any size), and all go through
// once the loop runs again.
func TestPublishChannelBoundedInBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(51)
		cfg := memConfig(n, 1)
		const sendBuffer, size, senders = 1 << 20, 100 << 10, 40 // 4 MB offered, 1 MiB bound
		cfg.SendBuffer = sendBuffer
		e := startEndpoint(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		release := make(chan struct{})
		must(t, e.do(ctx, func(*core) { <-release })) // the loop is stuck until release
		var done atomic.Int64
		var wg sync.WaitGroup
		payload := make([]byte, size)
		for range senders {
			wg.Go(func() {
				if err := e.Send(ctx, Outgoing{Topic: "big/x", Payload: payload}); err != nil {
					t.Errorf("send: %v", err)
				}
				done.Add(1)
			})
		}
		synctest.Wait() // every Send has returned or waits
		queued, held := done.Load(), e.pubBytes.Load()
		if held > sendBuffer+size+1024 {
			t.Errorf("%d bytes wait in the publish channel, bound %d plus one message", held, sendBuffer)
		}
		if want := int64(sendBuffer/size) + 1; queued > want {
			t.Errorf("%d Sends returned while the loop was stuck, want at most %d", queued, want)
		}
		if queued == 0 {
			t.Error("no Send got into the publish channel")
		}
		close(release)
		wg.Wait()
		if got := done.Load(); got != senders {
			t.Fatalf("%d of %d Sends returned", got, senders)
		}
		synctest.Wait()
		if b := e.pubBytes.Load(); b != 0 {
			t.Errorf("%d bytes still counted once the loop took everything", b)
		}
		t.Logf("%d Sends (%d bytes) queued while the loop was stuck", queued, held)
	})
}
