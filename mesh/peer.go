package mesh

import (
	"net/netip"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/frag"
	"github.com/glue-mqtt/glue-mqtt/mesh/reliable"
	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// srcKey identifies one boot of a peer (reassembly state is per boot).
type srcKey struct {
	id      EndpointID
	session uint64
}

// peer is the loop's state for one remote endpoint (one boot of it). Only the loop touches it.
type peer struct {
	id      EndpointID
	session uint64
	name    string
	addr    netip.AddrPort
	gone    bool // removed from the table

	snd *reliable.Sender[frag.Fragment]
	rcv *reliable.Receiver[frag.Fragment]

	// What the peer wants: its interest set and the version we applied.
	interest        *topicfilter.Set
	interestVersion uint64
	interestKnown   bool

	// What the peer knows of us.
	ackedVersion    uint64          // our interest version the peer confirmed it applied
	sendInterest    bool            // our current interest set must go to the peer
	confirmInterest uint64          // the peer's interest version to confirm (0: none)
	control         []frag.Fragment // fragments of control messages not yet accepted by snd

	backlog      []frag.Fragment // fragments of publishes waiting for room in snd
	backlogBytes int

	window  int64 // budget bytes of fragments accepted by rcv and not popped yet
	partial bool  // a reliable message from the peer is in reassembly (core.inOrder)

	frames   []byte // frames of the next datagram to this peer
	dirty    bool   // listed in core.dirty
	blocked  bool   // delivery queue was full: stopped popping rcv
	failing  bool   // snd reported the peer unresponsive
	failedAt time.Time

	bestEffortSeen dedupeWindow
}

func (p *peer) key() srcKey { return srcKey{p.id, p.session} }

func newPeer(id EndpointID, session uint64, name string, addr netip.AddrPort, rc reliable.Config) *peer {
	return &peer{
		id: id, session: session, name: name, addr: addr,
		snd:          reliable.NewSender[frag.Fragment](rc),
		rcv:          reliable.NewReceiver[frag.Fragment](rc),
		interest:     topicfilter.NewSet(),
		sendInterest: true,
	}
}

// fragmentCost is what a fragment costs in the send buffer: its data plus the DATA frame around it.
func fragmentCost(f frag.Fragment) int { return len(f.Data) + 32 }

// appendData adds a DATA frame to the peer's next datagram, sending the current one first if
// the frame does not fit.
func (c *core) appendData(p *peer, d *wire.Data) {
	if len(p.frames)+d.EncodedLen() > c.maxFrames {
		c.flushPeer(p)
	}
	p.frames = d.AppendTo(p.frames)
	c.markDirty(p)
}

func (c *core) appendAck(p *peer, a *wire.Ack) {
	if len(p.frames)+a.EncodedLen() > c.maxFrames {
		c.flushPeer(p)
	}
	p.frames = a.AppendTo(p.frames)
	c.markDirty(p)
}

func (c *core) appendBeacon(p *peer, b *wire.Beacon) {
	if len(p.frames)+b.EncodedLen() > c.maxFrames {
		c.flushPeer(p)
	}
	p.frames = b.AppendTo(p.frames)
	c.markDirty(p)
}

// markDirty lists the peer for the flush at the end of the loop's turn (once per turn).
func (c *core) markDirty(p *peer) {
	if !p.dirty {
		p.dirty = true
		c.dirty = append(c.dirty, p)
	}
}

// flushPeer seals the peer's pending frames into one datagram and queues it.
func (c *core) flushPeer(p *peer) {
	if len(p.frames) == 0 {
		return
	}
	c.sendDatagram(p.addr, p.session, p.frames)
	p.frames = p.frames[:0]
}

// sendDatagram seals frames for dest (destination session destSession, 0 = any) and queues it.
func (c *core) sendDatagram(to netip.AddrPort, destSession uint64, frames []byte) {
	c.pn++
	h := wire.Header{
		NetworkTag:    c.tag,
		Sender:        c.e.id,
		SenderSession: c.e.session,
		DestSession:   destSession,
		PacketNumber:  c.pn,
	}
	dg := c.crypto.Seal(c.sealBuf[:0], h, frames)
	c.sealBuf = dg[:0]
	c.w.Queue(dg, to)
	c.e.stats.datagramsOut.Add(1)
	c.e.stats.bytesOut.Add(uint64(len(dg)))
}
