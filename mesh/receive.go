package mesh

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/discovery"
	"github.com/glue-mqtt/glue-mqtt/mesh/frag"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// inPacket is a received datagram on its way from a reader goroutine to the loop.
type inPacket struct {
	b    []byte
	from netip.AddrPort
}

// Received datagrams are copied into pooled buffers sized for the MTU; only bigger (foreign or
// misconfigured) datagrams allocate.
const pooledPacketSize = 2048

var packetPool = sync.Pool{New: func() any { return &inPacket{b: make([]byte, 0, pooledPacketSize)} }}

func getPacket(b []byte, from netip.AddrPort) *inPacket {
	p := packetPool.Get().(*inPacket)
	p.b = append(p.b[:0], b...)
	p.from = from
	return p
}

func putPacket(p *inPacket) {
	if cap(p.b) == pooledPacketSize {
		packetPool.Put(p)
	}
}

// readLoop feeds the loop with the datagrams of one socket until the socket is closed.
func (e *Endpoint) readLoop(conn PacketConn, discovery bool) {
	defer e.wg.Done()
	r := newReader(conn, 1<<16)
	for {
		err := r.Read(func(b []byte, from netip.AddrPort) {
			e.stats.datagramsIn.Add(1)
			e.stats.bytesIn.Add(uint64(len(b)))
			p := getPacket(b, from)
			select {
			case e.inbox <- p:
			case <-e.loopDone:
				putPacket(p)
			}
		})
		if err == nil {
			continue
		}
		select {
		case <-e.done:
			return
		case <-e.loopDone:
			return
		default:
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// A transient error (an ICMP error reported on the socket, say): count it and go on.
		e.stats.readErrors.Add(1)
		e.log.Debug("mesh: read", "discovery", discovery, "err", err)
		// Back off a little so an error that repeats cannot spin a core.
		select {
		case <-time.After(time.Millisecond):
		case <-e.loopDone:
			return
		}
	}
}

// handleDatagram authenticates a datagram and applies its frames.
func (c *core) handleDatagram(p *inPacket, now time.Time) {
	defer putPacket(p)
	st := &c.e.stats
	h, frames, err := c.crypto.Open(p.b)
	if err != nil {
		switch {
		case errors.Is(err, wire.ErrVersion):
			st.dropVersion.Add(1)
		case errors.Is(err, wire.ErrNetwork):
			st.dropNetwork.Add(1)
		case errors.Is(err, wire.ErrAuth):
			st.dropAuth.Add(1)
		case errors.Is(err, wire.ErrReplay):
			st.dropReplay.Add(1)
		default:
			st.dropMalformed.Add(1)
		}
		return
	}
	if EndpointID(h.Sender) == c.e.id {
		if h.SenderSession == c.e.session {
			st.dropOwn.Add(1)
			return
		}
		st.dropStale.Add(1)
		if !c.dupWarned[h.SenderSession] && len(c.dupWarned) < 64 {
			c.dupWarned[h.SenderSession] = true
			c.e.log.Warn("mesh: another endpoint uses our endpoint ID; give each process its own GLUE_ENDPOINT_ID",
				"from", p.from.String())
		}
		return
	}
	if h.DestSession != 0 && h.DestSession != c.e.session {
		st.dropStale.Add(1) // meant for a previous boot of ours
		return
	}
	c.cur.hdr, c.cur.from, c.cur.peer, c.cur.now = h, p.from, nil, now
	if q := c.peers[EndpointID(h.Sender)]; q != nil && q.session == h.SenderSession {
		c.cur.peer = q
	}
	if err := wire.WalkFrames(frames, &c.visitor); err != nil {
		st.dropMalformed.Add(1)
	}
	if q := c.cur.peer; q != nil {
		c.table.Refresh(discovery.ID(q.id), q.session, now)
	}
}

// onBeacon handles an announcement, heard by multicast, unicast, or riding on data.
func (c *core) onBeacon(b *wire.Beacon) error {
	now := c.cur.now
	if b.NetworkID != c.e.cfg.NetworkID {
		c.e.stats.dropNetwork.Add(1) // a 4-byte network tag collision
		return nil
	}
	addr := b.DataAddr
	if !addr.Addr().IsValid() || addr.Addr().IsUnspecified() {
		addr = netip.AddrPortFrom(c.cur.from.Addr(), addr.Port())
	}
	a := discovery.Announcement{
		ID:             discovery.ID(c.cur.hdr.Sender),
		Session:        c.cur.hdr.SenderSession,
		Name:           b.Name,
		Addr:           addr,
		InterestDigest: b.InterestDigest,
		StateDigest:    b.StateDigest,
		Interval:       b.Interval,
		Leaving:        b.Flags&wire.BeaconLeaving != 0,
	}
	if ev, ok := c.table.Observe(a, now); ok {
		c.handleEvent(ev, now)
	}
	if q := c.peers[EndpointID(a.ID)]; q != nil && q.session == a.Session {
		c.cur.peer = q
	} else {
		c.cur.peer = nil
	}
	if b.Flags&wire.BeaconWantPeers != 0 && !a.Leaving {
		// Answer where the request came from, not to the address it claims: otherwise one
		// forged beacon would make us send our peer list to a third party.
		c.sendPeers(c.cur.from, EndpointID(a.ID))
	}
	return nil
}

// onPeers introduces us to the peers a rendezvous told us about.
func (c *core) onPeers(ps *wire.Peers) error {
	for _, en := range ps.Entries {
		id := EndpointID(en.ID)
		if id == c.e.id {
			continue
		}
		if q := c.peers[id]; q != nil && q.session >= en.Session {
			continue
		}
		c.sendBeaconTo(en.Addr)
	}
	return nil
}

// onData takes a fragment from a known peer.
func (c *core) onData(d *wire.Data) error {
	p := c.cur.peer
	now := c.cur.now
	if p == nil {
		c.e.stats.dropStale.Add(1) // not (yet) in our table: the sender will retransmit
		return nil
	}
	if d.Reliable {
		cost := windowCost(len(d.Payload))
		if p.rcv.Wants(d.Seq) && !c.admitReliable(p, d.Seq, cost) {
			// The reassembly budget is spent: refuse the fragment without acknowledging it, so
			// the sender backs off and retransmits it later. (Duplicates still reach OnData,
			// which acknowledges them again.)
			c.e.stats.dropReassembly.Add(1)
			return nil
		}
		f := frag.Fragment{MsgID: d.MsgID, Index: d.FragIndex, Count: d.FragCount, Data: clone(d.Payload)}
		if p.rcv.OnData(d.Seq, f, now) {
			p.window += cost
			c.window += cost
			c.noteHeld()
		}
		c.drainReceiver(p, now)
		return nil
	}
	if d.FragCount > 1 && c.held()+int64(len(d.Payload)) > c.budget {
		c.e.stats.dropReassembly.Add(1) // best effort: a lost fragment
		return nil
	}
	f := frag.Fragment{MsgID: d.MsgID, Index: d.FragIndex, Count: d.FragCount, Data: d.Payload}
	msg, complete, err := c.bestEffort.Add(p.key(), f, now)
	if err != nil {
		c.e.stats.dropReassembly.Add(1)
		return nil
	}
	if !complete {
		return nil
	}
	if p.bestEffortSeen.seen(d.MsgID) {
		c.e.stats.dropDuplicate.Add(1)
		return nil
	}
	c.handleMessage(p, d.MsgID, msg, false, now)
	return nil
}

// drainReceiver hands the peer's in-order fragments on, as long as the handlers keep up.
func (c *core) drainReceiver(p *peer, now time.Time) {
	for !p.blocked {
		if c.deliveryFull() {
			// Leave the rest in the transport: its window fills, the sender waits. The delivery
			// goroutine wakes us when it has caught up. Raise the flag first and look again: the
			// delivery goroutine may have drained the whole queue since we looked, and then it
			// would never see the flag (a lost wake-up that stalled the channel for ever).
			if c.testHookBlocking != nil {
				c.testHookBlocking()
			}
			c.e.handlersBehind.Store(true)
			if c.deliveryFull() {
				p.blocked = true
				return
			}
		}
		f, ok := p.rcv.Pop()
		if !ok {
			return
		}
		cost := windowCost(len(f.Data))
		p.window -= cost
		c.window -= cost
		if f.Count == 1 {
			c.handleMessage(p, f.MsgID, f.Data, true, now)
			continue
		}
		msg, complete, err := c.inOrder.Add(p.key(), f, now)
		if err != nil {
			// Only a broken sender gets here; let its partial message go, or it would hold
			// budget until the peer leaves.
			c.inOrder.DropSource(p.key())
			p.partial = false
			c.e.stats.dropReassembly.Add(1)
			c.e.log.Warn("mesh: reliable message dropped", "peer", p.id.String(), "err", err)
			continue
		}
		p.partial = !complete
		c.noteHeld()
		if complete {
			c.handleMessage(p, f.MsgID, msg, true, now)
		}
	}
}

// The reassembly budget (Config.ReassemblyBudget) is global: it bounds what every peer holds in
// partial best-effort messages, in reliable fragments accepted into its receive window and not
// yet taken out, and in the reliable message being reassembled from them. Reliable data is
// admitted against it before it is acknowledged, and never dropped once acknowledged: when the
// budget is spent, a new reliable fragment is refused without an acknowledgement (the sender
// takes it for a loss, backs off and retransmits). So that partial messages cannot wait for each
// other for ever, one peer at a time may still take the fragment that extends its in-order
// stream (everything it holds then moves on); the budget can so be exceeded by at most one
// message in reassembly plus a fragment.

// windowCost is what a reliable fragment held in a receive window costs in the budget: its data
// and its share of the window's bookkeeping.
func windowCost(n int) int64 { return int64(n) + 48 }

// held is what the budget covers now.
func (c *core) held() int64 {
	return c.window + c.inOrder.Used() + c.bestEffort.Used()
}

// noteHeld records the high-water mark (tests).
func (c *core) noteHeld() {
	c.heldPeak = max(c.heldPeak, c.held())
}

// admitReliable decides whether a new reliable fragment (sequence number seq, cost bytes) from p
// may enter its receive window.
func (c *core) admitReliable(p *peer, seq uint64, cost int64) bool {
	if c.held()+cost <= c.budget {
		return true
	}
	if q := c.progress; q != nil && q != p {
		if !q.gone && (q.window > 0 || q.partial) {
			return false // another peer is completing what it holds
		}
		c.progress = nil
	}
	if p.blocked || seq != p.rcv.Expected() {
		return false
	}
	c.progress = p
	return true
}

// deliveryFull reports whether the delivery queue has no room for reliable messages (one slot is
// left for best effort), in messages or in bytes.
func (c *core) deliveryFull() bool {
	n := len(c.e.delivery)
	return n >= max(cap(c.e.delivery)-1, 1) || (n > 0 && c.e.deliveryBytes.Load() >= c.e.cfg.DeliveryBytes)
}

// enqueueDelivery hands d to the delivery goroutine unless the queue is full (in messages, or in
// bytes when it holds anything). Reliable messages only get here after deliveryFull said no, so
// for them it never fails.
func (c *core) enqueueDelivery(d delivery) bool {
	size := d.size()
	if len(c.e.delivery) > 0 && c.e.deliveryBytes.Load()+size > c.e.cfg.DeliveryBytes && !d.msg.Reliable {
		return false
	}
	// Count before the send: the delivery goroutine subtracts once it has dispatched d.
	c.e.deliveryBytes.Add(size)
	select {
	case c.e.delivery <- d:
		return true
	default:
		c.e.deliveryBytes.Add(-size)
		return false
	}
}

// onAck feeds an acknowledgement to the peer's sender.
func (c *core) onAck(a *wire.Ack) error {
	p := c.cur.peer
	if p == nil {
		c.e.stats.dropStale.Add(1)
		return nil
	}
	r := c.ackRanges[:0]
	for _, x := range a.Ranges {
		r = append(r, rangeOf(x))
	}
	c.ackRanges = r
	p.snd.OnAck(a.Cumulative, r, a.Delay, c.cur.now)
	return nil
}

// handleMessage dispatches a complete message.
func (c *core) handleMessage(p *peer, id uint64, msg []byte, reliable bool, now time.Time) {
	kind, err := wire.MessageKind(msg)
	if err != nil {
		c.e.stats.dropMalformed.Add(1)
		return
	}
	switch kind {
	case wire.KindPublish:
		pub, err := wire.ParsePublish(msg)
		if err != nil {
			c.e.stats.dropMalformed.Add(1)
			return
		}
		d := delivery{msg: Message{
			Topic: pub.Topic, Type: pub.Type, Payload: pub.Payload, Meta: pub.Meta,
			Origin: p.id, Session: p.session, ID: id, Reliable: reliable,
		}}
		if pub.Expiry > 0 {
			// The expiry counts down across the mesh: the sender wrote what was left when it
			// published; the transit took about half a round trip (our estimate of the path).
			d.deadline = now.Add(pub.Expiry - p.snd.Stats().SRTT/2)
		}
		if !c.enqueueDelivery(d) {
			c.e.stats.dropQueueFull.Add(1) // best effort only: reliable data waits in the transport
		}
	case wire.KindInterest:
		in, err := wire.ParseInterest(msg)
		if err != nil {
			c.e.stats.dropMalformed.Add(1)
			return
		}
		c.applyInterest(p, in)
	case wire.KindInterestAck:
		v, err := wire.ParseInterestAck(msg)
		if err != nil {
			c.e.stats.dropMalformed.Add(1)
			return
		}
		if v > p.ackedVersion {
			p.ackedVersion = v
		}
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
