package mesh

import (
	"context"
	"fmt"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// Interest propagation. Each endpoint sends its whole interest set (the union of its
// subscription filters) to every peer over the reliable channel, with a version, when it changes
// and when the peer joins. The peer applies it on the loop goroutine, before anything that
// follows on the same channel, and confirms the version it applied (INTEREST_ACK). A transport
// ACK alone would not do: it means "received", and the message may still wait behind others.
// SyncInterest waits for those confirmations, which is how a SUBACK comes after every live peer
// routes matching publishes to us.

// syncWaiter is a SyncInterest call waiting for confirmations.
type syncWaiter struct {
	version uint64
	ctx     context.Context
	done    chan struct{}
	peers   []*peer // live peers when the call was made
	err     error   // set before done is closed when the call could not wait
}

// maxWaiters bounds concurrent SyncInterest calls.
const maxWaiters = 4096

// refreshInterest picks up a change of the local subscriptions and queues it to every peer.
func (c *core) refreshInterest() {
	e := c.e
	e.mu.Lock()
	v := e.interestVersion
	if v == c.localVersion {
		e.mu.Unlock()
		return
	}
	c.localFilters = e.interest.Filters()
	c.localDigest = e.interest.Digest()
	c.localVersion = v
	e.mu.Unlock()
	for _, p := range c.peers {
		p.sendInterest = true
	}
}

// applyInterest takes a peer's interest set.
func (c *core) applyInterest(p *peer, in wire.Interest) {
	if !p.interestKnown || in.Version > p.interestVersion {
		valid := in.Filters[:0]
		for _, f := range in.Filters {
			if topicfilter.ValidateFilter(f) == nil {
				valid = append(valid, f)
			} else {
				c.e.stats.dropMalformed.Add(1)
			}
		}
		p.interest.Replace(valid)
		p.interestVersion = in.Version
		p.interestKnown = true
	}
	p.confirmInterest = in.Version
}

func (c *core) addWaiter(w *syncWaiter) {
	c.refreshInterest()
	if len(c.waiters) >= maxWaiters {
		// Refuse rather than grow without bound, and say so: reporting success here would let
		// a caller (the bridge's SUBACK) go ahead before the peers have the interest.
		w.err = fmt.Errorf("mesh: sync interest: %d calls already waiting", maxWaiters)
		close(w.done)
		return
	}
	for _, p := range c.peers {
		if !p.failing {
			w.peers = append(w.peers, p)
		}
	}
	c.waiters = append(c.waiters, w)
	c.checkWaiters()
}

// checkWaiters releases the SyncInterest calls whose peers have all confirmed (or left).
func (c *core) checkWaiters() {
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if w.ctx.Err() != nil {
			continue
		}
		pending := false
		for _, p := range w.peers {
			if !p.gone && !p.failing && p.ackedVersion < w.version {
				pending = true
				break
			}
		}
		if pending {
			keep = append(keep, w)
			continue
		}
		close(w.done)
	}
	clear(c.waiters[len(keep):])
	c.waiters = keep
}

// allInterestKnown reports whether every peer has told us its interest.
func (c *core) allInterestKnown() bool {
	for _, p := range c.peers {
		if !p.interestKnown && !p.failing {
			return false
		}
	}
	return true
}

func (c *core) peerInfos() []PeerInfo {
	var out []PeerInfo
	for _, tp := range c.table.All() {
		p := c.peers[EndpointID(tp.ID)]
		if p == nil {
			continue
		}
		st := p.snd.Stats()
		out = append(out, PeerInfo{
			ID: p.id, Name: p.name, Session: p.session, Addr: p.addr.String(), LastSeen: tp.LastSeen,
			Filters: p.interest.Len(), Interest: p.interestKnown, Failing: p.failing,
			SRTT: st.SRTT, Unacked: c.relConfig.MaxQueuedBytes - p.snd.Room(), Backlog: p.backlogBytes, Retransmits: st.Retransmitted,
		})
	}
	return out
}
