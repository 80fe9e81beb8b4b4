package mesh

import (
	"context"
	"fmt"
)

// The publish channel holds messages between Send and the loop. It is bounded in number (its
// capacity, 256) and, so that a burst of large messages cannot pile up copies, in bytes: beyond
// the first waiting one, at most Config.SendBuffer bytes of large messages (countedPublish and
// more) wait in it; further Sends of large messages wait (bounded by their context) until the
// loop has taken some. Small messages are not counted: 256 of them are under 16 MiB, and keeping
// them off the shared counter keeps the publisher's and the loop's cores from trading its cache
// line for every message.

// countedPublish is the size from which a message counts against the publish channel's bytes.
const countedPublish = 64 << 10

// reservePublish counts n bytes into the publish channel, waiting while it is over its bound.
func (e *Endpoint) reservePublish(ctx context.Context, n int) error {
	if n < countedPublish {
		return nil
	}
	limit := int64(e.cfg.SendBuffer)
	for {
		cur := e.pubBytes.Load()
		if cur == 0 || cur+int64(n) <= limit {
			if e.pubBytes.CompareAndSwap(cur, cur+int64(n)) {
				return nil
			}
			continue
		}
		// Register for the loop's signal, then look again: the loop releases bytes before it
		// signals, so either we see the room or it sees our channel.
		room := make(chan struct{})
		if !e.pubRoom.CompareAndSwap(nil, &room) {
			if p := e.pubRoom.Load(); p != nil {
				room = *p
			} else {
				continue
			}
		}
		if cur := e.pubBytes.Load(); cur == 0 || cur+int64(n) <= limit {
			continue
		}
		select {
		case <-room:
		case <-ctx.Done():
			return fmt.Errorf("mesh: publish: %w", ctx.Err())
		case <-e.stopReq:
			return ErrStopped
		}
	}
}

// releasePublish gives back what a message taken from (or never put into) the publish channel
// counted, and wakes the Sends waiting for room.
func (e *Endpoint) releasePublish(n int) {
	if n < countedPublish {
		return
	}
	e.pubBytes.Add(-int64(n))
	if p := e.pubRoom.Swap(nil); p != nil {
		close(*p)
	}
}
