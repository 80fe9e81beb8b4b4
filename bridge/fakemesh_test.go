package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh"
	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

// fakeNet joins fake meshes in memory: a Send on one is delivered, synchronously, to every
// matching handler of every other one (once per matching subscription, as the real mesh does).
type fakeNet struct {
	mu      sync.Mutex
	members []*fakeMesh
	transit time.Duration // subtracted from a message's expiry, as if it spent that long in transit (guarded by mu)
}

// setTransit sets the time every message is taken to spend in transit. The bridge reads it on
// mochi's goroutines, which the race detector does not see ordered after the test's write by
// way of a TCP round trip, hence the lock.
func (n *fakeNet) setTransit(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.transit = d
}

type subKey struct{ filter, typ string }

// fakeMesh implements Mesh and records what the bridge asks of it.
type fakeMesh struct {
	net     *fakeNet
	id      mesh.EndpointID
	session uint64

	mu     sync.Mutex
	nextID uint64
	subs   map[subKey]mesh.Handler
	sent   []mesh.Outgoing
	events []string
	// syncInterest, when set, replaces SyncInterest's behaviour (returns at once otherwise).
	syncInterest func(ctx context.Context) error
	// sendHook, when set, runs first in Send; an error it returns is Send's (nothing is sent).
	sendHook func(ctx context.Context, out mesh.Outgoing) error
}

// failSends makes every Send run f (and fail with its error, if any).
func (m *fakeMesh) failSends(f func(ctx context.Context, out mesh.Outgoing) error) {
	m.mu.Lock()
	m.sendHook = f
	m.mu.Unlock()
}

func (n *fakeNet) join(idByte byte) *fakeMesh {
	m := &fakeMesh{net: n, id: mesh.EndpointID{idByte}, session: uint64(idByte) << 32, subs: make(map[subKey]mesh.Handler)}
	n.mu.Lock()
	n.members = append(n.members, m)
	n.mu.Unlock()
	return m
}

func (m *fakeMesh) ID() mesh.EndpointID { return m.id }

func (m *fakeMesh) record(event string) {
	m.mu.Lock()
	m.events = append(m.events, event)
	m.mu.Unlock()
}

func (m *fakeMesh) Send(ctx context.Context, out mesh.Outgoing) error {
	m.mu.Lock()
	hook := m.sendHook
	m.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, out); err != nil {
			return err
		}
	}
	if err := topicfilter.ValidateTopic(out.Topic); err != nil {
		return fmt.Errorf("fake mesh: %w", err)
	}
	m.mu.Lock()
	m.nextID++
	msg := mesh.Message{
		Topic:    out.Topic,
		Type:     out.Type,
		Payload:  append([]byte(nil), out.Payload...),
		Meta:     append([]byte(nil), out.Meta...),
		Origin:   m.id,
		Session:  m.session,
		ID:       m.nextID,
		Reliable: !out.BestEffort,
		Expiry:   out.Expiry,
	}
	m.sent = append(m.sent, out)
	m.events = append(m.events, "send "+out.Topic)
	m.mu.Unlock()
	m.net.mu.Lock()
	if msg.Expiry > 0 {
		msg.Expiry -= m.net.transit
	}
	members := append([]*fakeMesh(nil), m.net.members...)
	m.net.mu.Unlock()
	for _, peer := range members {
		if peer != m {
			peer.deliver(msg)
		}
	}
	return nil
}

// deliver calls every matching handler, outside the lock, like the mesh's delivery goroutine.
func (m *fakeMesh) deliver(msg mesh.Message) {
	m.mu.Lock()
	var handlers []mesh.Handler
	for k, h := range m.subs {
		if (k.typ == "" || k.typ == msg.Type) && topicfilter.Match(k.filter, msg.Topic) {
			handlers = append(handlers, h)
		}
	}
	m.mu.Unlock()
	for _, h := range handlers {
		h(msg)
	}
}

func (m *fakeMesh) Subscribe(filter, typ string, h mesh.Handler) error {
	if err := topicfilter.ValidateFilter(filter); err != nil {
		return fmt.Errorf("fake mesh: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs[subKey{filter, typ}] = h
	m.events = append(m.events, "subscribe "+filter)
	return nil
}

func (m *fakeMesh) Unsubscribe(filter, typ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := subKey{filter, typ}
	if _, ok := m.subs[k]; !ok {
		return fmt.Errorf("fake mesh: no subscription %q", filter)
	}
	delete(m.subs, k)
	m.events = append(m.events, "unsubscribe "+filter)
	return nil
}

func (m *fakeMesh) SyncInterest(ctx context.Context) error {
	m.record("sync")
	m.mu.Lock()
	f := m.syncInterest
	m.mu.Unlock()
	if f != nil {
		return f(ctx)
	}
	return nil
}

// sentTopics returns the topics given to Send so far.
func (m *fakeMesh) sentTopics() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.sent))
	for i, o := range m.sent {
		out[i] = o.Topic
	}
	return out
}

// subscribed returns the filters currently subscribed.
func (m *fakeMesh) subscribed() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]bool)
	for k := range m.subs {
		out[k.filter] = true
	}
	return out
}

func (m *fakeMesh) eventLog() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.events...)
}
