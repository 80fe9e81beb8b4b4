package mesh

import (
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/frag"
	"github.com/glue-mqtt/glue-mqtt/mesh/reliable"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// parkedPublish is a reliable message some of whose fragments did not fit in a target's send
// buffer yet. While one is parked the loop takes no new publish: that is the back-pressure that
// reaches Send.
type parkedPublish struct {
	frags   []frag.Fragment
	targets []*peer
	next    []int // per target: index of the next fragment to enqueue
}

// publish routes a message to the peers whose interest matches its topic.
func (c *core) publish(m *outMsg, now time.Time) {
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
	var targets []*peer
	for _, p := range c.peers {
		if !p.interest.Matches(m.topic) {
			continue
		}
		if p.failing {
			c.e.stats.dropNoRoute.Add(1)
			continue
		}
		targets = append(targets, p)
	}
	if len(targets) == 0 {
		return
	}
	c.e.stats.messagesOut.Add(uint64(len(targets)))
	frags := frag.Split(id, m.data, c.chunk)
	if m.bestEffort {
		for _, p := range targets {
			for _, f := range frags {
				d := wire.Data{MsgID: f.MsgID, FragIndex: f.Index, FragCount: f.Count, Payload: f.Data}
				c.appendData(p, &d)
			}
		}
		return
	}
	c.parked = &parkedPublish{frags: frags, targets: targets, next: make([]int, len(targets))}
	c.pushParked(now)
}

// pushParked moves the parked message's fragments into the send buffers that have room.
func (c *core) pushParked(now time.Time) {
	pp := c.parked
	if pp == nil {
		return
	}
	done := true
	for i, p := range pp.targets {
		for pp.next[i] < len(pp.frags) {
			if p.gone || p.failing {
				c.e.stats.dropNoRoute.Add(1)
				pp.next[i] = len(pp.frags)
				break
			}
			f := pp.frags[pp.next[i]]
			if !p.snd.Enqueue(f, fragmentCost(f), now) {
				done = false
				break
			}
			pp.next[i]++
		}
	}
	if done {
		c.parked = nil
	}
}

// sendReliable queues a control message (interest, interest confirmation) to one peer. Control
// messages wait in p.control, not in the parked publish, so they never queue behind data
// for other peers.
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
