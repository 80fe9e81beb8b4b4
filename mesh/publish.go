package mesh

import (
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/frag"
	"github.com/glue-mqtt/glue-mqtt/mesh/reliable"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// Back-pressure, per peer. A reliable message is queued into the send buffer of each interested
// peer; what does not fit waits in that peer's backlog. The loop takes no new publish while some
// peer's backlog is over its bound, which is what makes Send wait. So one slow peer does not
// hold back the others until it is a whole backlog behind; a peer that acknowledges nothing for
// GiveUpAfter is marked failing and its backlog dropped (counted), releasing the publishers.

// publish routes a message to the peers whose interest matches its topic.
func (c *core) publish(m *outMsg, now time.Time) {
	c.e.releasePublish(m.queued)
	if m.expiry > 0 {
		// Count down the time the message waited for the loop (back-pressure); the receiver
		// counts the transit and its own queue. Re-encode from our own copy: the caller's
		// payload buffer is the caller's again once Send returned.
		if waited := now.Sub(m.sent); waited >= m.expiry {
			c.e.stats.dropExpired.Add(1)
			return
		} else if waited > time.Millisecond {
			if p, err := wire.ParsePublish(m.data); err == nil {
				p.Expiry -= waited
				m.data = wire.AppendPublish(make([]byte, 0, len(m.data)), &p)
			}
		}
	}
	id := c.nextMsgID
	c.nextMsgID++
	var frags []frag.Fragment
	for _, p := range c.peers {
		if !p.interest.Matches(m.topic) {
			continue
		}
		if p.failing {
			c.e.stats.dropNoRoute.Add(1)
			continue
		}
		if frags == nil {
			frags = frag.Split(id, m.data, c.chunk)
		}
		c.e.stats.messagesOut.Add(1)
		if m.bestEffort {
			for _, f := range frags {
				d := wire.Data{MsgID: f.MsgID, FragIndex: f.Index, FragCount: f.Count, Payload: f.Data}
				c.appendData(p, &d)
			}
			continue
		}
		p.backlog = append(p.backlog, frags...)
		for _, f := range frags {
			p.backlogBytes += fragmentCost(f)
		}
		c.pushBacklog(p, now)
		if p.backlogBytes >= c.e.cfg.SendBuffer {
			c.setCongested(true) // checked before the next publish is taken, even in this turn
		}
	}
}

// pushBacklog moves the peer's waiting fragments into its send buffer as far as there is room.
func (c *core) pushBacklog(p *peer, now time.Time) {
	n := 0
	for _, f := range p.backlog {
		if !p.snd.Enqueue(f, fragmentCost(f), now) {
			break
		}
		p.backlogBytes -= fragmentCost(f)
		n++
	}
	clear(p.backlog[:n]) // let the fragments' buffers go
	p.backlog = p.backlog[n:]
	if len(p.backlog) == 0 {
		p.backlog, p.backlogBytes = nil, 0
	}
}

// dropBacklog discards what waits for a failing or departed peer.
func (c *core) dropBacklog(p *peer) {
	if len(p.backlog) > 0 {
		c.e.stats.dropNoRoute.Add(uint64(len(p.backlog)))
	}
	p.backlog, p.backlogBytes = nil, 0
}

// setCongested records whether the loop takes new publishes, and shuts or opens the gate Send
// waits at, so publishers wait as soon as a backlog is full instead of filling the publish
// channel first (256 messages of any size).
func (c *core) setCongested(v bool) {
	if v == c.congested {
		return
	}
	c.congested = v
	if v {
		ch := make(chan struct{})
		c.e.gate.Store(&ch)
	} else if ch := c.e.gate.Swap(nil); ch != nil {
		close(*ch)
	}
}

// backlogFull reports whether some peer's backlog is over its bound: then the loop takes no new
// publish, and Send waits.
func (c *core) backlogFull() bool {
	for _, p := range c.peers {
		if p.backlogBytes >= c.e.cfg.SendBuffer {
			return true
		}
	}
	return false
}

// sendReliable queues a control message (interest, interest confirmation) to one peer. Control
// messages wait in p.control, not in the backlog, so they never queue behind data.
func (c *core) sendReliable(p *peer, msg []byte) {
	id := c.nextMsgID
	c.nextMsgID++
	p.control = append(p.control, frag.Split(id, msg, c.chunk)...)
}

// pushControl queues the peer's pending control messages into its send buffer.
func (c *core) pushControl(p *peer, now time.Time) {
	if len(p.control) == 0 {
		if p.sendInterest {
			p.sendInterest = false
			in := wire.Interest{Version: c.localVersion, Filters: c.localFilters}
			c.sendReliable(p, wire.AppendInterest(nil, &in))
		}
		if p.confirmInterest != 0 {
			c.sendReliable(p, wire.AppendInterestAck(nil, p.confirmInterest))
			p.confirmInterest = 0
		}
	}
	n := 0
	for _, f := range p.control {
		if !p.snd.Enqueue(f, fragmentCost(f), now) {
			break
		}
		n++
	}
	p.control = p.control[n:]
	if len(p.control) == 0 {
		p.control = nil
	}
}

func rangeOf(r wire.AckRange) reliable.Range { return reliable.Range{Lo: r.Lo, Hi: r.Hi} }
