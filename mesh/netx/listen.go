package netx

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/net/ipv4"
)

// ListenData opens the per-process data socket. An empty listen binds the first IPv4 address of
// ifi on an ephemeral port; otherwise listen is a "host:port" bound as given. The socket also
// carries the endpoint's multicast beacons: they leave via ifi with TTL 1 (never past the first
// router) and loop back, so other processes on the same host hear them.
func ListenData(ifi *net.Interface, listen string) (*net.UDPConn, error) {
	if listen == "" {
		addr, err := InterfaceAddr(ifi)
		if err != nil {
			return nil, err
		}
		listen = netip.AddrPortFrom(addr, 0).String()
	}
	lc := net.ListenConfig{Control: dataControl}
	pc, err := lc.ListenPacket(context.Background(), "udp4", listen)
	if err != nil {
		return nil, fmt.Errorf("netx: data socket: %w", err)
	}
	c := pc.(*net.UDPConn)
	p := ipv4.NewPacketConn(c)
	if err := setMulticastSender(p, ifi); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func setMulticastSender(p *ipv4.PacketConn, ifi *net.Interface) error {
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("netx: multicast interface %s: %w", ifi.Name, err)
	}
	if err := p.SetMulticastTTL(1); err != nil {
		return fmt.Errorf("netx: multicast TTL: %w", err)
	}
	if err := p.SetMulticastLoopback(true); err != nil {
		return fmt.Errorf("netx: multicast loopback: %w", err)
	}
	return nil
}

// ListenDiscovery opens the discovery socket that all processes on the host share. An empty
// listen binds 0.0.0.0 on the group's port. With a multicast group the socket joins it on ifi and
// every process bound to the port receives every beacon; with a unicast group (rendezvous mode)
// the socket is only bound, with the same reuse options.
//
// A permission failure of the join is returned wrapped, so errors.Is(err, os.ErrPermission) holds.
func ListenDiscovery(ifi *net.Interface, listen string, group netip.AddrPort) (*net.UDPConn, error) {
	if listen == "" {
		listen = net.JoinHostPort("0.0.0.0", strconv.Itoa(int(group.Port())))
	}
	lc := net.ListenConfig{Control: discoveryControl}
	pc, err := lc.ListenPacket(context.Background(), "udp4", listen)
	if err != nil {
		return nil, fmt.Errorf("netx: discovery socket: %w", err)
	}
	c := pc.(*net.UDPConn)
	if !group.Addr().IsMulticast() {
		return c, nil
	}
	p := ipv4.NewPacketConn(c)
	if err := p.JoinGroup(ifi, &net.UDPAddr{IP: group.Addr().AsSlice()}); err != nil {
		c.Close()
		return nil, fmt.Errorf("netx: join %s on %s: %w", group.Addr(), ifi.Name, err)
	}
	// Loopback on the receiver matters only if this socket ever sends; keep it consistent with
	// the data socket so a beacon sent from here also reaches the host's other processes.
	if err := setMulticastSender(p, ifi); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
