package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// outMsg is a publish on its way to the loop, already encoded.
type outMsg struct {
	topic      string
	data       []byte
	bestEffort bool
	// For a message with an expiry: when Send took it, so the loop can count down the time it
	// waited for room (back-pressure) before it goes on the wire.
	expiry time.Duration
	sent   time.Time
	queued int // bytes counted against the publish channel's bound (releasePublish)
}

// Publish sends payload to the endpoints subscribed to topic over the reliable channel, in the
// style of the original glue: typ is the application's message type, expiry 0 means the message
// never expires. It waits while the send buffers are full (back-pressure).
func (e *Endpoint) Publish(topic, typ string, expiry time.Duration, payload []byte) error {
	return e.Send(context.Background(), Outgoing{Topic: topic, Type: typ, Expiry: expiry, Payload: payload})
}

// Send publishes m. It returns once the loop has taken the message; with reliable delivery it may
// wait for room in the send buffers, bounded by ctx. The endpoint does not deliver a message to
// its own subscriptions: the mesh carries messages between endpoints.
func (e *Endpoint) Send(ctx context.Context, m Outgoing) error {
	if err := topicfilter.ValidateTopic(m.Topic); err != nil {
		return fmt.Errorf("mesh: publish: %w", err)
	}
	if m.Expiry < 0 {
		return errors.New("mesh: publish: negative expiry")
	}
	p := wire.Publish{Topic: m.Topic, Type: m.Type, Expiry: m.Expiry, Meta: m.Meta, Payload: m.Payload}
	if err := wire.ValidatePublish(&p); err != nil {
		return fmt.Errorf("mesh: publish: %w", err)
	}
	n := wire.PublishLen(&p)
	if n > e.cfg.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, the maximum is %d", ErrTooLarge, n, e.cfg.MaxMessageSize)
	}
	if err := e.running(); err != nil {
		return err
	}
	out := &outMsg{topic: m.Topic, data: wire.AppendPublish(make([]byte, 0, n), &p), bestEffort: m.BestEffort}
	if m.Expiry > 0 {
		out.expiry, out.sent = m.Expiry, time.Now()
	}
	// Wait while the loop takes no publish (some peer's backlog is full).
	for g := e.gate.Load(); g != nil; g = e.gate.Load() {
		select {
		case <-*g:
		case <-ctx.Done():
			return fmt.Errorf("mesh: publish: %w", ctx.Err())
		case <-e.stopReq:
			return ErrStopped
		}
	}
	select {
	case <-e.stopReq: // Stop has begun: do not race it for the channel
		return ErrStopped
	default:
	}
	out.queued = len(out.data)
	if err := e.reservePublish(ctx, out.queued); err != nil {
		return err
	}
	select {
	case e.pubs <- out:
		return nil
	case <-ctx.Done():
		e.releasePublish(out.queued)
		return fmt.Errorf("mesh: publish: %w", ctx.Err())
	case <-e.stopReq:
		e.releasePublish(out.queued)
		return ErrStopped
	}
}

func (e *Endpoint) running() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopped:
		return ErrStopped
	case !e.started:
		return ErrNotStarted
	}
	return nil
}

// Subscribe calls h for every message whose topic matches filter (MQTT wildcards + and #) and
// whose type is typ ("" = any type). Subscribing again with the same filter and type replaces the
// handler. The new interest is announced to the peers at once; SyncInterest waits until they have
// it.
func (e *Endpoint) Subscribe(filter, typ string, h Handler) error {
	if err := topicfilter.ValidateFilter(filter); err != nil {
		return fmt.Errorf("mesh: subscribe: %w", err)
	}
	if h == nil {
		return errors.New("mesh: subscribe: nil handler")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := subKey{filter, typ}
	if old, ok := e.subByKey[k]; ok {
		old.h = h // the delivery goroutine reads h under mu
		return nil
	}
	s := &subscription{filter: filter, typ: typ, h: h}
	e.subByKey[k] = s
	e.subs.Add(filter, s)
	if e.interest.Add(filter) {
		e.interestChangedLocked()
	}
	return nil
}

// Unsubscribe removes the subscription made with the same filter and type.
func (e *Endpoint) Unsubscribe(filter, typ string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := subKey{filter, typ}
	s, ok := e.subByKey[k]
	if !ok {
		return fmt.Errorf("mesh: unsubscribe: no subscription %q (type %q)", filter, typ)
	}
	delete(e.subByKey, k)
	e.subs.Remove(filter, s)
	if e.interest.Remove(filter) {
		e.interestChangedLocked()
	}
	return nil
}

func (e *Endpoint) interestChangedLocked() {
	e.interestVersion++
	select {
	case e.interestDirty <- struct{}{}:
	default:
	}
}

// SyncInterest returns once every peer known and live at the time of the call has applied our
// current interest set, so that a publish made on any of them from now on reaches our
// subscriptions. It is bounded by ctx.
func (e *Endpoint) SyncInterest(ctx context.Context) error {
	e.mu.Lock()
	v := e.interestVersion
	e.mu.Unlock()
	w := &syncWaiter{version: v, ctx: ctx, done: make(chan struct{})}
	if err := e.do(ctx, func(c *core) { c.addWaiter(w) }); err != nil {
		return err
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return fmt.Errorf("mesh: sync interest: %w", ctx.Err())
	case <-e.loopDone:
		return ErrStopped
	}
}

// Peers returns the peer table.
func (e *Endpoint) Peers() []PeerInfo {
	var out []PeerInfo
	done := make(chan struct{})
	if err := e.do(context.Background(), func(c *core) { out = c.peerInfos(); close(done) }); err != nil {
		return nil
	}
	select {
	case <-done:
	case <-e.loopDone:
	}
	return out
}

// WaitDiscovery waits, bounded by ctx, until one discovery interval has passed since Start and
// every peer heard so far has told us its interest: then a publish reaches the subscribers that
// were already on the network. One-shot publishers call it before publishing.
func (e *Endpoint) WaitDiscovery(ctx context.Context) error {
	if err := e.running(); err != nil {
		return err
	}
	e.mu.Lock()
	settle := e.startedAt.Add(e.cfg.DiscoveryRate + e.cfg.DiscoveryRate/4)
	e.mu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if !time.Now().Before(settle) {
			ready := false
			done := make(chan struct{})
			if err := e.do(ctx, func(c *core) { ready = c.allInterestKnown(); close(done) }); err != nil {
				return err
			}
			select {
			case <-done:
			case <-e.loopDone:
				return ErrStopped
			}
			if ready {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("mesh: wait for discovery: %w", ctx.Err())
		case <-e.stopReq:
			return ErrStopped
		}
	}
}

// do runs f on the loop goroutine.
func (e *Endpoint) do(ctx context.Context, f func(*core)) error {
	if err := e.running(); err != nil {
		return err
	}
	select {
	case e.ctl <- f:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mesh: %w", ctx.Err())
	case <-e.loopDone:
		return ErrStopped
	}
}
