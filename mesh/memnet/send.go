package memnet

import (
	"net/netip"
	"time"
)

// datagram is one copy on its way to, or waiting in, a receive queue. payload is shared by
// all copies of one send and never written after the send copied it.
type datagram struct {
	payload []byte
	from    netip.AddrPort
}

// send carries payload (already a private copy) from one Conn to a unicast address or group.
func (n *Network) send(from netip.AddrPort, to netip.AddrPort, payload []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d := datagram{payload: payload, from: from}
	if members, ok := n.groups[to]; ok {
		for c := range members {
			n.transmitLocked(d, c)
		}
		return
	}
	c := n.conns[to]
	if c == nil {
		n.stats.Sent++
		n.stats.Unreachable++
		return
	}
	n.transmitLocked(d, c)
}

// transmitLocked applies the link's partition and impairment to one transmission.
func (n *Network) transmitLocked(d datagram, to *Conn) {
	n.stats.Sent++
	src, dst := d.from.Addr(), to.local.Addr()
	if n.partitioned(src, dst) {
		n.stats.Partitioned++
		return
	}
	imp := n.impairmentOf(src, dst)
	if imp.Loss > 0 && n.rng.Float64() < imp.Loss {
		n.stats.Lost++
		return
	}
	copies := 1
	if imp.Duplicate > 0 && n.rng.Float64() < imp.Duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	for range copies {
		delay, reordered := imp.delay(n.rng)
		if reordered {
			n.stats.Reordered++
		}
		if delay == 0 {
			n.deliverLocked(d, to)
			continue
		}
		if n.sched.len() >= maxInFlight {
			n.stats.Overflowed++
			continue
		}
		n.sched.push(flight{due: time.Now().Add(delay), d: d, to: to}, n.arrive)
	}
}

// deliverLocked puts a copy in the receiver's queue, like a kernel appending to a socket
// buffer: never blocking, dropping when full.
func (n *Network) deliverLocked(d datagram, to *Conn) {
	if isClosed(to.closed) {
		n.stats.Unreachable++
		return
	}
	select {
	case to.queue <- d:
		n.stats.Delivered++
	default:
		n.stats.Overflowed++
	}
}

// arrive runs on the scheduler's timer and delivers every copy that is due.
func (n *Network) arrive() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.sched.popDue(time.Now(), n.arrive) {
		n.deliverLocked(f.d, f.to)
	}
}
