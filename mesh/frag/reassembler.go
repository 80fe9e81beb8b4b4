package frag

import (
	"fmt"
	"time"
)

// Bookkeeping charged to the budget besides fragment data, so that a flood of tiny fragments
// claiming huge counts cannot allocate without bound.
const (
	partialOverhead = 128 // the partial struct, its map entry and list links
	slotOverhead    = 24  // one []byte header per announced fragment
)

// Reassembler collects fragments per (source, message ID) until messages are complete.
// K identifies the source, e.g. sender ID + session.
type Reassembler[K comparable] struct {
	cfg      Config
	partials map[partialKey[K]]*partial[K]
	used     int64
	// Partials in order of their last new fragment (oldest first): Expire looks at the head only.
	oldest, newest *partial[K]
}

type partialKey[K comparable] struct {
	src   K
	msgID uint64
}

type partial[K comparable] struct {
	key        partialKey[K]
	count      uint32
	chunk      int // length of every fragment but the last; 0 until one is seen
	frags      [][]byte
	received   uint32
	size       int   // data bytes received
	charged    int64 // bytes charged to the budget
	lastActive time.Time
	prev, next *partial[K]
}

// NewReassembler returns a Reassembler; invalid Config fields are replaced by defaults.
func NewReassembler[K comparable](cfg Config) *Reassembler[K] {
	return &Reassembler[K]{cfg: cfg.normalized(), partials: make(map[partialKey[K]]*partial[K])}
}

// Add takes fragment f from src. It copies f.Data, so the caller may reuse its buffer. When f
// completes a message, Add returns the message (a fresh slice) and complete=true. Duplicates
// are ignored (complete=false, no error). Errors wrap ErrInvalid, ErrInconsistent, ErrTooLarge,
// ErrBudget or ErrTooManyPartials; the fragment is then dropped.
//
// A single-fragment message takes a fast path without bookkeeping (and so without checks
// against partial messages with the same ID).
func (r *Reassembler[K]) Add(src K, f Fragment, now time.Time) (msg []byte, complete bool, err error) {
	if f.Count == 0 || f.Index >= f.Count {
		return nil, false, fmt.Errorf("%w: message %d: index %d of %d", ErrInvalid, f.MsgID, f.Index, f.Count)
	}
	if f.Count == 1 {
		if len(f.Data) > r.cfg.MaxMessage {
			return nil, false, fmt.Errorf("%w: message %d: %d bytes, max %d", ErrTooLarge, f.MsgID, len(f.Data), r.cfg.MaxMessage)
		}
		return append(make([]byte, 0, len(f.Data)), f.Data...), true, nil
	}
	last := f.Index == f.Count-1
	if len(f.Data) == 0 {
		return nil, false, fmt.Errorf("%w: message %d: empty fragment %d of %d", ErrInvalid, f.MsgID, f.Index, f.Count)
	}
	if err := r.checkSize(f, last); err != nil {
		return nil, false, err
	}
	key := partialKey[K]{src, f.MsgID}
	p := r.partials[key]
	if p == nil {
		if p, err = r.start(key, f, now); err != nil {
			return nil, false, err
		}
	}
	if err := p.check(f, last); err != nil {
		return nil, false, err
	}
	if p.frags[f.Index] != nil {
		return nil, false, nil // duplicate
	}
	if int64(len(f.Data)) > r.cfg.Budget-r.used {
		r.dropIfEmpty(p)
		return nil, false, fmt.Errorf("%w: message %d: %d bytes held, fragment of %d, budget %d", ErrBudget, f.MsgID, r.used, len(f.Data), r.cfg.Budget)
	}
	if !last && p.chunk == 0 {
		p.chunk = len(f.Data)
	}
	p.frags[f.Index] = append(make([]byte, 0, len(f.Data)), f.Data...)
	p.received++
	p.size += len(f.Data)
	p.charged += int64(len(f.Data))
	r.used += int64(len(f.Data))
	p.lastActive = now
	r.unlink(p)
	r.linkNewest(p)
	if p.received < p.count {
		return nil, false, nil
	}
	if p.size > r.cfg.MaxMessage { // the estimates let a message through up to a chunk too large
		r.remove(p)
		return nil, false, fmt.Errorf("%w: message %d: %d bytes, max %d", ErrTooLarge, f.MsgID, p.size, r.cfg.MaxMessage)
	}
	msg = make([]byte, 0, p.size)
	for _, d := range p.frags {
		msg = append(msg, d...)
	}
	r.remove(p)
	return msg, true, nil
}

// checkSize rejects a fragment whose message would certainly exceed MaxMessage: every fragment
// but the last has the full chunk size and the last has at least one byte, so a middle fragment
// tells that the message has at least (Count-1)*len+1 bytes, and the last fragment alone that it
// has at least Count-1+len. Add checks the exact size on completion.
func (r *Reassembler[K]) checkSize(f Fragment, last bool) error {
	n, limit := int64(f.Count), int64(r.cfg.MaxMessage)
	size := int64(len(f.Data))
	var tooLarge bool
	if last {
		tooLarge = n-1+size > limit
	} else {
		tooLarge = size > (limit-1)/(n-1) // (n-1)*size+1 > limit, without overflow
	}
	if tooLarge {
		return fmt.Errorf("%w: message %d: %d fragments of %d bytes, max %d", ErrTooLarge, f.MsgID, f.Count, len(f.Data), r.cfg.MaxMessage)
	}
	return nil
}

// start creates the partial message for f's key, charging its bookkeeping to the budget.
func (r *Reassembler[K]) start(key partialKey[K], f Fragment, now time.Time) (*partial[K], error) {
	if len(r.partials) >= r.cfg.MaxPartials {
		return nil, fmt.Errorf("%w: %d held, message %d refused", ErrTooManyPartials, len(r.partials), f.MsgID)
	}
	charge := partialOverhead + int64(f.Count)*slotOverhead
	if charge > r.cfg.Budget-r.used {
		return nil, fmt.Errorf("%w: message %d: %d bytes held, %d fragments to track, budget %d", ErrBudget, f.MsgID, r.used, f.Count, r.cfg.Budget)
	}
	p := &partial[K]{key: key, count: f.Count, frags: make([][]byte, f.Count), charged: charge, lastActive: now}
	r.used += charge
	r.partials[key] = p
	r.linkNewest(p)
	return p, nil
}

// check rejects a fragment that contradicts what the partial message already holds.
func (p *partial[K]) check(f Fragment, last bool) error {
	if f.Count != p.count {
		return fmt.Errorf("%w: message %d: count %d, earlier %d", ErrInconsistent, f.MsgID, f.Count, p.count)
	}
	if p.chunk == 0 {
		// No full-size fragment seen yet; a known last fragment bounds the chunk from below.
		if lastData := p.frags[p.count-1]; !last && lastData != nil && len(f.Data) < len(lastData) {
			return fmt.Errorf("%w: message %d: fragment %d has %d bytes, last has %d", ErrInconsistent, f.MsgID, f.Index, len(f.Data), len(lastData))
		}
		return nil
	}
	if (!last && len(f.Data) != p.chunk) || (last && len(f.Data) > p.chunk) {
		return fmt.Errorf("%w: message %d: fragment %d has %d bytes, chunk is %d", ErrInconsistent, f.MsgID, f.Index, len(f.Data), p.chunk)
	}
	return nil
}

// dropIfEmpty removes a partial message that never received a fragment (its first was refused).
func (r *Reassembler[K]) dropIfEmpty(p *partial[K]) {
	if p.received == 0 {
		r.remove(p)
	}
}

func (r *Reassembler[K]) remove(p *partial[K]) {
	r.unlink(p)
	delete(r.partials, p.key)
	r.used -= p.charged
	p.frags = nil
}

func (r *Reassembler[K]) linkNewest(p *partial[K]) {
	p.prev, p.next = r.newest, nil
	if r.newest != nil {
		r.newest.next = p
	} else {
		r.oldest = p
	}
	r.newest = p
}

func (r *Reassembler[K]) unlink(p *partial[K]) {
	if p.prev != nil {
		p.prev.next = p.next
	} else if r.oldest == p {
		r.oldest = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else if r.newest == p {
		r.newest = p.prev
	}
	p.prev, p.next = nil, nil
}

// Expire drops the partial messages that received no new fragment for Timeout and returns how
// many; their memory goes back to the budget.
func (r *Reassembler[K]) Expire(now time.Time) int {
	n := 0
	for r.oldest != nil && now.Sub(r.oldest.lastActive) >= r.cfg.Timeout {
		r.remove(r.oldest)
		n++
	}
	return n
}

// DropSource drops every partial message from src (the peer is gone or restarted).
func (r *Reassembler[K]) DropSource(src K) {
	for key, p := range r.partials {
		if key.src == src {
			r.remove(p)
		}
	}
}

// Used returns the bytes charged to the budget by partial messages.
func (r *Reassembler[K]) Used() int64 { return r.used }

// Partials returns the number of partial messages held.
func (r *Reassembler[K]) Partials() int { return len(r.partials) }

// NextExpiry returns when Expire will next drop something; zero if nothing is held.
func (r *Reassembler[K]) NextExpiry() time.Time {
	if r.oldest == nil {
		return time.Time{}
	}
	return r.oldest.lastActive.Add(r.cfg.Timeout)
}
