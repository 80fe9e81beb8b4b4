package wire

import "crypto/cipher"

// MaxSenders bounds the per-sender state (AEAD and replay window) a Crypto keeps.
const MaxSenders = 1024

// senderKey identifies a sender incarnation: a restarted peer has a new session, new key and
// a fresh replay window.
type senderKey struct {
	id      [16]byte
	session uint64
}

// senderState is what Open keeps per sender incarnation.
type senderState struct {
	key        senderKey
	aead       cipher.AEAD
	replay     replayFilter
	prev, next *senderState // LRU list; head is most recently used
}

// senderCache is a fixed-capacity LRU of senderState. Only authenticated senders are inserted,
// so forged datagrams cannot evict real peers.
type senderCache struct {
	capacity   int
	byKey      map[senderKey]*senderState
	head, tail *senderState
}

func newSenderCache(capacity int) senderCache {
	return senderCache{capacity: capacity, byKey: make(map[senderKey]*senderState)}
}

// get returns the state of k and marks it most recently used, or nil.
func (c *senderCache) get(k senderKey) *senderState {
	s := c.byKey[k]
	if s != nil && s != c.head {
		c.unlink(s)
		c.pushFront(s)
	}
	return s
}

// add inserts a new state for k (which must be absent), evicting the least recently used
// entry when full; the evicted struct is recycled.
func (c *senderCache) add(k senderKey, aead cipher.AEAD) *senderState {
	var s *senderState
	if len(c.byKey) >= c.capacity {
		s = c.tail
		c.unlink(s)
		delete(c.byKey, s.key)
		s.replay.reset()
	} else {
		s = new(senderState)
	}
	s.key, s.aead = k, aead
	c.byKey[k] = s
	c.pushFront(s)
	return s
}

func (c *senderCache) len() int { return len(c.byKey) }

func (c *senderCache) unlink(s *senderState) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		c.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		c.tail = s.prev
	}
	s.prev, s.next = nil, nil
}

func (c *senderCache) pushFront(s *senderState) {
	s.next = c.head
	if c.head != nil {
		c.head.prev = s
	}
	c.head = s
	if c.tail == nil {
		c.tail = s
	}
}
