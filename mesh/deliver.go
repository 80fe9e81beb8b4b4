package mesh

import (
	"time"
)

// delivery is a received message on its way to the handlers.
type delivery struct {
	msg      Message
	deadline time.Time // zero: never expires
}

// size is what d counts against Config.DeliveryBytes.
func (d *delivery) size() int64 {
	return int64(len(d.msg.Topic) + len(d.msg.Type) + len(d.msg.Meta) + len(d.msg.Payload))
}

// deliverLoop runs the handlers, one message at a time, off the protocol loop.
func (e *Endpoint) deliverLoop() {
	defer e.wg.Done()
	var handlers []Handler // reused: no allocation per message
	for {
		select {
		case d := <-e.delivery:
			handlers = e.dispatch(d, handlers[:0])
			left := e.deliveryBytes.Add(-d.size())
			// The loop stops reading a peer when the queue is full (handlersBehind); wake it once
			// half the queue (in messages and in bytes) is free. It raises the flag before it
			// looks at the queue a last time, so a queue drained meanwhile is seen by one side or
			// the other.
			if e.handlersBehind.Load() && len(e.delivery) <= cap(e.delivery)/2 && left <= e.cfg.DeliveryBytes/2 &&
				e.handlersBehind.CompareAndSwap(true, false) {
				select {
				case e.wake <- struct{}{}:
				default:
				}
			}
		case <-e.done:
			return
		}
	}
}

// dispatch calls the handlers of the subscriptions matching d, unless it expired on the way.
// handlers is scratch space, returned for reuse.
func (e *Endpoint) dispatch(d delivery, handlers []Handler) []Handler {
	if !d.deadline.IsZero() {
		left := time.Until(d.deadline)
		if left <= 0 {
			e.stats.dropExpired.Add(1)
			return handlers
		}
		d.msg.Expiry = left
	}
	// Copy the handlers under the lock (Subscribe may replace one), call them without it.
	e.mu.Lock()
	e.subs.Lookup(d.msg.Topic, func(_ string, s *subscription) {
		if s.typ == "" || s.typ == d.msg.Type {
			handlers = append(handlers, s.h)
		}
	})
	e.mu.Unlock()
	if len(handlers) > 0 {
		e.stats.messagesIn.Add(1)
	}
	for _, h := range handlers {
		e.callHandler(h, d.msg)
	}
	clear(handlers) // do not keep handlers of removed subscriptions alive
	return handlers
}

// callHandler runs one handler; a panicking handler is logged, not fatal to the endpoint.
func (e *Endpoint) callHandler(h Handler, m Message) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("mesh: handler panicked", "topic", m.Topic, "panic", r)
		}
	}()
	h(m)
}
