package bridge

import (
	"sync"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// messageKey identifies a mesh message mesh-wide.
type messageKey struct {
	origin  mesh.EndpointID
	session uint64
	id      uint64
}

// dedupe remembers the last size message keys. The repeats it exists for (one message handed to
// the handler once per matching mesh subscription) arrive back to back, so a small window that
// forgets the oldest key first is enough, and memory stays fixed.
type dedupe struct {
	mu   sync.Mutex
	seen map[messageKey]struct{}
	ring []messageKey // insertion order; ring[next] is the oldest once full
	next int
	full bool
}

func newDedupe(size int) *dedupe {
	return &dedupe{seen: make(map[messageKey]struct{}, size), ring: make([]messageKey, size)}
}

// firstTime records k and reports whether it had not been seen within the window.
func (d *dedupe) firstTime(k messageKey) bool {
	if len(d.ring) == 0 {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.seen[k]; dup {
		return false
	}
	if d.full {
		delete(d.seen, d.ring[d.next])
	}
	d.ring[d.next] = k
	d.seen[k] = struct{}{}
	d.next++
	if d.next == len(d.ring) {
		d.next, d.full = 0, true
	}
	return true
}
