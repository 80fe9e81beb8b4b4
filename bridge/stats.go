package bridge

import (
	"sync"
	"sync/atomic"
)

// Stats are the bridge's counters since New. The command exports them as Prometheus metrics.
type Stats struct {
	// LocalOnly counts, by reason, local publishes the mesh did not carry that were acknowledged
	// as a success and delivered to this host's subscribers only, because the client cannot be
	// told otherwise: MQTT 3.1.1 has no failure acknowledgement, and QoS 0 no acknowledgement.
	LocalOnly map[string]uint64
	// Refused counts, by reason, MQTT 5 QoS 1 and 2 publishes the mesh did not carry, answered
	// with a failure reason code in the PUBACK or PUBREC and delivered nowhere.
	Refused map[string]uint64
	// PacketsTooLarge counts clients disconnected for a packet over Config.MaxPacketSize (or
	// over the hard ceiling mochi enforces itself).
	PacketsTooLarge uint64
	// Dropped counts, by reason, mesh messages not injected into the local broker.
	Dropped map[string]uint64
}

// Reasons a local publish did not reach the mesh (keys of Stats.LocalOnly and Stats.Refused).
const (
	ReasonMeshSend = "mesh_send" // Send failed or timed out
	ReasonEnvelope = "envelope"  // properties the envelope cannot carry (limits, values MQTT forbids)
	ReasonTopic    = "topic"     // a topic name mochi accepted that the mesh refuses
)

var publishReasons = []string{ReasonMeshSend, ReasonEnvelope, ReasonTopic}

// Reasons a mesh message was not injected (keys of Stats.Dropped).
const (
	DropTopic    = "topic"    // a topic name MQTT cannot carry, or $SYS
	DropEnvelope = "envelope" // the envelope does not decode
	DropProperty = "property" // a property value MQTT forbids (invalid UTF-8, wildcard response topic...)
	DropExpired  = "expired"  // the message expiry ran out on the way
	DropInject   = "inject"   // mochi refused the injection
)

var dropReasons = []string{DropTopic, DropEnvelope, DropProperty, DropExpired, DropInject}

// counterSet is one atomic counter per reason of a fixed list.
type counterSet struct {
	names  []string
	counts []atomic.Uint64
}

func newCounterSet(names []string) *counterSet {
	return &counterSet{names: names, counts: make([]atomic.Uint64, len(names))}
}

func (c *counterSet) add(name string) {
	for i, n := range c.names {
		if n == name {
			c.counts[i].Add(1)
			return
		}
	}
	panic("bridge: unknown counter " + name) // a programming error: every reason is listed above
}

func (c *counterSet) snapshot() map[string]uint64 {
	out := make(map[string]uint64, len(c.names))
	for i, n := range c.names {
		out[n] = c.counts[i].Load()
	}
	return out
}

type stats struct {
	localOnly, refused, dropped *counterSet
	packetsTooLarge             atomic.Uint64
}

func newStats() *stats {
	return &stats{
		localOnly: newCounterSet(publishReasons),
		refused:   newCounterSet(publishReasons),
		dropped:   newCounterSet(dropReasons),
	}
}

func (s *stats) snapshot() Stats {
	return Stats{
		LocalOnly:       s.localOnly.snapshot(),
		Refused:         s.refused.snapshot(),
		PacketsTooLarge: s.packetsTooLarge.Load(),
		Dropped:         s.dropped.snapshot(),
	}
}

// onceLog remembers which reasons were already logged at warning level, so that a peer sending a
// stream of bad messages gives one warning per reason and the rest at debug level (all counted).
// The reasons are a fixed set of strings, so the map stays small.
type onceLog struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether reason is seen for the first time.
func (o *onceLog) first(reason string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[reason] {
		return false
	}
	if o.seen == nil {
		o.seen = make(map[string]bool)
	}
	o.seen[reason] = true
	return true
}
