package mesh

import (
	"net/netip"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/discovery"
	"github.com/glue-mqtt/glue-mqtt/mesh/wire"
)

// beaconFrame describes us.
func (c *core) beaconFrame(flags uint8) wire.Beacon {
	return wire.Beacon{
		ProtoVersion:   1,
		NetworkID:      c.e.cfg.NetworkID,
		Name:           c.e.name,
		DataAddr:       c.advertised,
		InterestDigest: c.localDigest,
		Interval:       c.e.cfg.DiscoveryRate,
		Flags:          flags,
	}
}

// beacon announces us: to the multicast group, or in unicast mode to the rendezvous targets
// (asking for their peers) and to every known peer (which keeps us alive in their tables).
//
// The goodbye (leaving) goes only to the known peers, in the datagram that carries our last
// frames to each: a copy sent to the group or to a rendezvous's discovery socket arrives on
// another socket of the receiver and could overtake our last best-effort data, which would then
// come from a peer already gone and be dropped.
func (c *core) beacon(now time.Time, leaving bool) {
	if leaving {
		b := c.beaconFrame(wire.BeaconLeaving)
		for _, p := range c.peers {
			c.appendBeacon(p, &b)
		}
		return
	}
	if c.multicast {
		b := c.beaconFrame(0)
		c.sendDatagram(c.targets[0], 0, b.AppendTo(nil))
		return
	}
	b := c.beaconFrame(wire.BeaconWantPeers)
	frame := b.AppendTo(nil)
	for _, t := range c.targets {
		if t != c.advertised {
			c.sendDatagram(t, 0, frame)
		}
	}
	b = c.beaconFrame(0)
	for _, p := range c.peers {
		if !c.isTarget(p.addr) {
			c.appendBeacon(p, &b)
		}
	}
}

func (c *core) isTarget(a netip.AddrPort) bool {
	if c.multicast {
		return false
	}
	for _, t := range c.targets {
		if t == a {
			return true
		}
	}
	return false
}

// sendBeaconTo introduces us to an address that is not (yet) a peer.
func (c *core) sendBeaconTo(to netip.AddrPort) {
	b := c.beaconFrame(0)
	c.sendDatagram(to, 0, b.AppendTo(nil))
}

// peersPerFrame keeps a PEERS frame (at most 43 bytes an entry) inside the smallest MTU.
const peersPerFrame = 12

// sendPeers answers a rendezvous request: the peers we know, except the one asking.
func (c *core) sendPeers(to netip.AddrPort, asking EndpointID) {
	var ps wire.Peers
	send := func() {
		if len(ps.Entries) > 0 {
			c.sendDatagram(to, 0, ps.AppendTo(nil))
			ps.Entries = ps.Entries[:0]
		}
	}
	for _, p := range c.peers {
		if p.id == asking {
			continue
		}
		ps.Entries = append(ps.Entries, wire.PeerEntry{ID: p.id, Session: p.session, Addr: p.addr})
		if len(ps.Entries) == peersPerFrame {
			send()
		}
	}
	send()
}

// handleEvent acts on a change in the peer table.
func (c *core) handleEvent(ev discovery.Event, now time.Time) {
	id := EndpointID(ev.Peer.ID)
	st := &c.e.stats
	switch ev.Kind {
	case discovery.Joined, discovery.Restarted:
		if old := c.peers[id]; old != nil {
			c.dropPeer(old, "restarted")
			st.peerRestarts.Add(1)
		} else {
			st.peersJoined.Add(1)
		}
		p := newPeer(id, ev.Peer.Session, ev.Peer.Name, ev.Peer.Addr, c.relConfig)
		c.peers[id] = p
		c.e.log.Info("mesh: peer "+ev.Kind.String(), "peer", id.String(), "name", p.name, "addr", p.addr.String())
		// Announce ourselves directly, so the peer need not wait for our next beacon; our interest
		// set follows in the same datagram (pushControl, later in this turn).
		b := c.beaconFrame(0)
		c.appendBeacon(p, &b)
	case discovery.Changed:
		if p := c.peers[id]; p != nil {
			p.addr, p.name = ev.Peer.Addr, ev.Peer.Name
		}
	case discovery.Left:
		if p := c.peers[id]; p != nil {
			reason := "left"
			if ev.Expired {
				reason = "expired"
			}
			c.dropPeer(p, reason)
			st.peersLeft.Add(1)
		}
	}
}

// dropPeer forgets a peer (one boot of it) and everything held for it.
func (c *core) dropPeer(p *peer, reason string) {
	p.gone = true
	c.dropBacklog(p)
	undelivered := len(p.snd.Drain())
	if undelivered > 0 {
		c.e.stats.dropNoRoute.Add(uint64(undelivered))
	}
	c.bestEffort.DropSource(p.key())
	c.inOrder.DropSource(p.key())
	c.window -= p.window
	p.window, p.partial = 0, false
	if c.progress == p {
		c.progress = nil
	}
	delete(c.peers, p.id)
	if p.dirty {
		c.flushPeer(p) // a goodbye-time datagram still goes out
	}
	lvl := c.e.log.Info
	if undelivered > 0 && reason == "expired" { // a peer that left on purpose cannot take more anyway
		lvl = c.e.log.Warn
	}
	lvl("mesh: peer gone", "peer", p.id.String(), "name", p.name, "reason", reason, "undelivered_fragments", undelivered)
}

// leave says goodbye, so the peers drop us at once instead of waiting for our expiry.
func (c *core) leave() {
	c.beacon(time.Now(), true)
	c.flush()
}
