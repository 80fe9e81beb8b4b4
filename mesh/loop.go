package mesh

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/discovery"
	"github.com/glue-mqtt/glue-mqtt/mesh/frag"
	"github.com/glue-mqtt/glue-mqtt/mesh/reliable"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// core is the protocol state of a started endpoint. Only its loop goroutine (run) touches it:
// the state machines below take the time as an argument and need no locks.
type core struct {
	e          *Endpoint
	crypto     *wire.Crypto
	tag        uint32
	table      *discovery.Table
	peers      map[EndpointID]*peer
	bestEffort *frag.Reassembler[srcKey] // any order, lossy: timeout and budget apply
	inOrder    *frag.Reassembler[srcKey] // reliable: fragments come in order, one message at a time
	relConfig  reliable.Config
	w          datagramWriter

	advertised netip.AddrPort
	targets    []netip.AddrPort
	multicast  bool
	nextBeacon time.Time

	pn        uint64 // last packet number sent
	nextMsgID uint64
	chunk     int // fragment payload size
	maxFrames int // frame bytes per datagram

	congested bool // some peer's backlog is full: take no new publish (see publish.go)

	// The reassembly budget (see admitReliable).
	budget   int64
	window   int64 // bytes in the peers' receive windows (sum of peer.window)
	progress *peer // the peer that may exceed the budget to complete what it holds
	heldPeak int64

	waiters []*syncWaiter

	localFilters []string // our interest as last announced
	localVersion uint64
	localDigest  uint64

	dirty     []*peer // peers with frames to flush at the end of the turn
	sealBuf   []byte
	ackRanges []reliable.Range
	visitor   wire.Visitor
	cur       struct { // the datagram being handled
		hdr  wire.Header
		from netip.AddrPort
		peer *peer
		now  time.Time
	}

	// testHookBlocking, when set (tests only), runs when drainReceiver has found the delivery
	// queue full, before it records that it waits for the handlers.
	testHookBlocking func()

	stopping     bool
	stopDeadline time.Time
	dupWarned    map[uint64]bool // sessions of another endpoint using our ID, warned once (bounded)
}

func newCore(e *Endpoint, data PacketConn, advertised netip.AddrPort, targets []netip.AddrPort, multicast bool) (*core, error) {
	cr, err := wire.NewCrypto(e.cfg.NetworkID, []byte(e.cfg.NetworkKey))
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	rc := reliable.DefaultConfig()
	rc.MaxQueuedBytes = e.cfg.SendBuffer
	rc.GiveUpAfter = e.cfg.GiveUpAfter
	fc := frag.DefaultConfig()
	fc.MaxMessage = e.cfg.MaxMessageSize
	fc.Budget = e.cfg.ReassemblyBudget
	fc.Timeout = e.cfg.ReassemblyTimeout
	// Reliable messages arrive in order, so each peer has at most one partial message. The
	// reassembler must not refuse a fragment the transport has already acknowledged: the global
	// budget is applied before the fragment is acknowledged instead (admitReliable), and the
	// partial goes when it completes or the peer does.
	inOrder := fc
	inOrder.Budget = 1 << 62
	inOrder.Timeout = 24 * time.Hour
	maxFrames := e.cfg.MTU - wire.HeaderLen - 16 // 16: AEAD tag
	c := &core{
		e:          e,
		crypto:     cr,
		tag:        wire.NetworkTag(e.cfg.NetworkID),
		table:      discovery.NewTable(discovery.ID(e.id), discovery.Config{Multiplier: e.cfg.DiscoveryTimeoutMultiplier, DefaultInterval: e.cfg.DiscoveryRate}),
		peers:      make(map[EndpointID]*peer),
		bestEffort: frag.NewReassembler[srcKey](fc),
		inOrder:    frag.NewReassembler[srcKey](inOrder),
		relConfig:  rc,
		w:          newWriter(data),
		advertised: advertised,
		targets:    targets,
		multicast:  multicast,
		nextMsgID:  1,
		budget:     e.cfg.ReassemblyBudget,
		maxFrames:  maxFrames,
		chunk:      maxFrames - wire.DataOverhead(maxFrames),
		sealBuf:    make([]byte, 0, e.cfg.MTU+64),
		dupWarned:  make(map[uint64]bool),
	}
	c.visitor = wire.Visitor{Beacon: c.onBeacon, Peers: c.onPeers, Data: c.onData, Ack: c.onAck}
	return c, nil
}

// maxEventsPerTurn bounds how many events one turn handles before it flushes: enough to batch
// many small messages into each datagram, few enough to keep acks and timers prompt.
const maxEventsPerTurn = 256

// run is the loop: wait for an event, handle it and whatever else is ready, then do the turn's
// timed work and flush every datagram built meanwhile (the batching "linger" is exactly one turn).
func (c *core) run() {
	e := c.e
	defer e.wg.Done()
	defer close(e.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	now := time.Now()
	c.nextBeacon = now
	c.turn(now)
	timer.Reset(max(c.deadline(now).Sub(now), 0))
	stopReq := e.stopReq // set to nil once seen: a closed channel is always ready
	for {
		pubs := e.pubs
		if c.congested {
			pubs = nil // Send waits at the gate meanwhile
		}
		select {
		case p := <-e.inbox:
			c.handleDatagram(p, time.Now())
		case m := <-pubs:
			c.publish(m, time.Now())
		case f := <-e.ctl:
			f(c)
		case <-e.interestDirty:
			c.refreshInterest()
		case <-e.wake:
			c.unblock(time.Now())
		case <-timer.C:
		case <-stopReq:
			stopReq = nil
			c.stopping = true
			c.stopDeadline = time.Now().Add(e.cfg.StopTimeout)
		}
		c.drainReady()
		now := time.Now()
		c.turn(now)
		// Stopping: what Publish accepted before Stop still goes out (the publish channel is
		// read until it is empty), bounded by StopTimeout.
		if c.stopping && ((c.quiet() && len(e.pubs) == 0) || !now.Before(c.stopDeadline)) {
			c.leave()
			return
		}
		timer.Reset(max(c.deadline(now).Sub(now), 0))
	}
}

// drainReady handles events already waiting, without blocking, up to maxEventsPerTurn.
func (c *core) drainReady() {
	e := c.e
	for range maxEventsPerTurn {
		pubs := e.pubs
		if c.congested {
			pubs = nil // Send waits at the gate meanwhile
		}
		select {
		case p := <-e.inbox:
			c.handleDatagram(p, time.Now())
		case m := <-pubs:
			c.publish(m, time.Now())
		case f := <-e.ctl:
			f(c)
		default:
			return
		}
	}
}

// turn does the timed work and sends what is due.
func (c *core) turn(now time.Time) {
	for _, ev := range c.table.Expire(now) {
		c.handleEvent(ev, now)
	}
	if n := c.bestEffort.Expire(now); n > 0 {
		c.e.stats.dropReassembly.Add(uint64(n))
	}
	if !now.Before(c.nextBeacon) {
		c.beacon(now, false)
		// Jitter of +-10% keeps the hosts of a segment from beaconing in lockstep.
		rate := c.e.cfg.DiscoveryRate
		c.nextBeacon = now.Add(rate - rate/10 + time.Duration(rand.Int64N(int64(rate/5)+1)))
	}
	for _, p := range c.peers {
		c.checkHealth(p, now)
		if d := p.snd.Deadline(); !d.IsZero() && !now.Before(d) {
			p.snd.OnTimer(now)
		}
		c.pushControl(p, now)
	}
	for _, p := range c.peers {
		if p.failing {
			c.dropBacklog(p)
		} else if len(p.backlog) > 0 {
			c.pushBacklog(p, now)
		}
	}
	c.setCongested(c.backlogFull())
	for _, p := range c.peers {
		c.sendData(p, now)
		c.sendAck(p, now)
	}
	c.flush()
	if len(c.waiters) > 0 {
		c.checkWaiters()
	}
}

// sendData puts on the wire what the peer's sender allows now.
func (c *core) sendData(p *peer, now time.Time) {
	before := p.snd.Stats().Retransmitted
	for {
		seq, f, ok := p.snd.Next(now)
		if !ok {
			break
		}
		d := wire.Data{Reliable: true, Seq: seq, MsgID: f.MsgID, FragIndex: f.Index, FragCount: f.Count, Payload: f.Data}
		c.appendData(p, &d)
	}
	if r := p.snd.Stats().Retransmitted - before; r > 0 {
		c.e.stats.retransmits.Add(r)
	}
}

// sendAck acknowledges what the peer sent, when an ack is due or can ride along with data.
func (c *core) sendAck(p *peer, now time.Time) {
	if !p.rcv.AckDue(now) && (len(p.frames) == 0 || p.rcv.AckDeadline().IsZero()) {
		return
	}
	cum, ranges, delay := p.rcv.Ack(now, 32, c.ackRanges[:0])
	c.ackRanges = ranges
	a := wire.Ack{Cumulative: cum, Delay: delay}
	for _, r := range ranges {
		a.Ranges = append(a.Ranges, wire.AckRange{Lo: r.Lo, Hi: r.Hi})
	}
	c.appendAck(p, &a)
}

// flush sends every datagram built during the turn.
func (c *core) flush() {
	for _, p := range c.dirty {
		c.flushPeer(p)
		p.dirty = false
	}
	c.dirty = c.dirty[:0]
	if err := c.w.Flush(); err != nil {
		c.e.stats.writeErrors.Add(1)
		c.e.log.Debug("mesh: send", "err", err)
	}
}

// deadline is when the loop must next wake up without an event.
func (c *core) deadline(now time.Time) time.Time {
	next := c.nextBeacon
	earliest := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	earliest(c.table.NextExpiry())
	earliest(c.bestEffort.NextExpiry())
	for _, p := range c.peers {
		earliest(p.snd.Deadline())
		earliest(p.rcv.AckDeadline())
		if p.failing || p.snd.Pending() {
			// Failure is judged on the transport's clock; look again at least every 100ms.
			earliest(now.Add(100 * time.Millisecond))
		}
	}
	if c.stopping {
		earliest(c.stopDeadline)
	}
	if len(c.waiters) > 0 {
		earliest(now.Add(50 * time.Millisecond)) // notice cancelled waiters
	}
	return next
}

// quiet reports whether every reliable message has been acknowledged.
func (c *core) quiet() bool {
	for _, p := range c.peers {
		if !p.failing && (p.snd.Pending() || len(p.control) > 0 || len(p.backlog) > 0) {
			return false
		}
	}
	return true
}

// checkHealth reports a peer that stopped acknowledging, and its recovery.
func (c *core) checkHealth(p *peer, now time.Time) {
	err := p.snd.Failed(now)
	switch {
	case err != nil && !p.failing:
		p.failing = true
		p.failedAt = now
		c.e.stats.failures.Add(1)
		c.e.log.Warn("mesh: peer unresponsive: dropping messages to it until it acknowledges again",
			"peer", p.id.String(), "name", p.name, "err", err)
	case err == nil && p.failing:
		p.failing = false
		c.e.log.Info("mesh: peer acknowledges again", "peer", p.id.String(), "name", p.name)
	}
}

// unblock resumes reading the peers that waited for the handlers.
func (c *core) unblock(now time.Time) {
	for _, p := range c.peers {
		if p.blocked {
			p.blocked = false
			c.drainReceiver(p, now)
		}
	}
}
