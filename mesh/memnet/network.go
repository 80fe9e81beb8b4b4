package memnet

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
)

// DefaultQueueLen is the receive queue of a Conn in datagrams, standing in for a socket buffer.
const DefaultQueueLen = 4096

// maxInFlight bounds the delayed datagrams of a whole Network, so a test that floods a slow
// link sees drops (counted as Overflowed) instead of growing memory without limit.
const maxInFlight = 1 << 16

// firstEphemeralPort is where port 0 allocation starts, as on Linux.
const firstEphemeralPort = 32768

type link struct{ from, to netip.Addr }

// Network is an in-memory datagram network. All methods are safe for concurrent use.
type Network struct {
	mu         sync.Mutex
	rng        *rand.Rand
	conns      map[netip.AddrPort]*Conn
	groups     map[netip.AddrPort]map[*Conn]struct{}
	impairment Impairment
	links      map[link]Impairment
	partitions [][2]map[netip.Addr]bool
	queueLen   int
	stats      Stats
	sched      scheduler
}

// New returns an empty, perfect network whose random choices all derive from seed.
func New(seed int64) *Network {
	return &Network{
		rng:      rand.New(rand.NewPCG(uint64(seed), 0x6d656d6e6574)),
		conns:    make(map[netip.AddrPort]*Conn),
		groups:   make(map[netip.AddrPort]map[*Conn]struct{}),
		links:    make(map[link]Impairment),
		queueLen: DefaultQueueLen,
	}
}

// SetQueueLen sets the receive queue length of Conns opened from now on.
func (n *Network) SetQueueLen(datagrams int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queueLen = max(datagrams, 1)
}

// Listen opens a Conn at addr. Port 0 picks a free port. The address must be specified (not
// 0.0.0.0): the Conn's address is what receivers see as the source.
func (n *Network) Listen(addr netip.AddrPort) (*Conn, error) {
	addr = unmap(addr)
	if !addr.Addr().IsValid() || addr.Addr().IsUnspecified() {
		return nil, fmt.Errorf("memnet: listen %v: need a specific address", addr)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr.Port() == 0 {
		free, ok := n.freePort(addr.Addr())
		if !ok {
			return nil, fmt.Errorf("memnet: listen %v: no free port", addr)
		}
		addr = free
	} else if _, taken := n.conns[addr]; taken {
		return nil, fmt.Errorf("memnet: listen %v: address already in use", addr)
	}
	c := newConn(n, addr, n.queueLen)
	n.conns[addr] = c
	return c, nil
}

func (n *Network) freePort(ip netip.Addr) (netip.AddrPort, bool) {
	for p := firstEphemeralPort; p <= 65535; p++ {
		ap := netip.AddrPortFrom(ip, uint16(p))
		if _, taken := n.conns[ap]; !taken {
			return ap, true
		}
	}
	return netip.AddrPort{}, false
}

// JoinGroup makes c receive every datagram sent to group, including those c itself sends
// (like multicast loopback). A closed Conn is not added.
func (n *Network) JoinGroup(group netip.AddrPort, c *Conn) {
	group = unmap(group)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns[c.local] != c {
		return // closed, or from another Network
	}
	members := n.groups[group]
	if members == nil {
		members = make(map[*Conn]struct{})
		n.groups[group] = members
	}
	members[c] = struct{}{}
	c.groups = append(c.groups, group)
}

// LeaveGroup stops delivery of group datagrams to c.
func (n *Network) LeaveGroup(group netip.AddrPort, c *Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.leaveLocked(unmap(group), c)
}

func (n *Network) leaveLocked(group netip.AddrPort, c *Conn) {
	if members := n.groups[group]; members != nil {
		delete(members, c)
		if len(members) == 0 {
			delete(n.groups, group)
		}
	}
}

// SetImpairment sets the impairment of every link without its own (see SetLinkImpairment).
// It panics on probabilities outside [0,1] or negative durations.
func (n *Network) SetImpairment(imp Impairment) {
	imp.validate()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.impairment = imp
}

// SetLinkImpairment overrides the impairment of the one-way link from -> to.
func (n *Network) SetLinkImpairment(from, to netip.Addr, imp Impairment) {
	imp.validate()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.links[link{from.Unmap(), to.Unmap()}] = imp
}

// ClearLinkImpairment returns the link from -> to to the network-wide impairment.
func (n *Network) ClearLinkImpairment(from, to netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.links, link{from.Unmap(), to.Unmap()})
}

// Partition drops every datagram sent between an address in a and an address in b, in both
// directions, until Heal. Datagrams already in flight still arrive. Partitions accumulate.
func (n *Network) Partition(a, b []netip.Addr) {
	set := func(addrs []netip.Addr) map[netip.Addr]bool {
		m := make(map[netip.Addr]bool, len(addrs))
		for _, ip := range addrs {
			m[ip.Unmap()] = true
		}
		return m
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.partitions = append(n.partitions, [2]map[netip.Addr]bool{set(a), set(b)})
}

// Heal removes every partition.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.partitions = nil
}

// Stats returns a snapshot of the counters.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stats
	s.InFlight = uint64(n.sched.len())
	return s
}

func (n *Network) partitioned(from, to netip.Addr) bool {
	for _, p := range n.partitions {
		if p[0][from] && p[1][to] || p[1][from] && p[0][to] {
			return true
		}
	}
	return false
}

func (n *Network) impairmentOf(from, to netip.Addr) Impairment {
	if imp, ok := n.links[link{from, to}]; ok {
		return imp
	}
	return n.impairment
}

func (n *Network) remove(c *Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns[c.local] == c {
		delete(n.conns, c.local)
	}
	for _, g := range c.groups {
		n.leaveLocked(g, c)
	}
	c.groups = nil
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
