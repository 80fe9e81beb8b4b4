package memnet

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Conn is an endpoint on a Network. It implements net.PacketConn with *net.UDPAddr addresses,
// plus the netip methods of *net.UDPConn. Reads may run concurrently with writes.
type Conn struct {
	net    *Network
	local  netip.AddrPort
	queue  chan datagram // bounded receive queue
	closed chan struct{}
	once   sync.Once

	readDeadline, writeDeadline *deadline

	groups []netip.AddrPort // joined groups, guarded by Network.mu
}

var _ net.PacketConn = (*Conn)(nil)

func newConn(n *Network, local netip.AddrPort, queueLen int) *Conn {
	return &Conn{
		net:           n,
		local:         local,
		queue:         make(chan datagram, queueLen),
		closed:        make(chan struct{}),
		readDeadline:  newDeadline(),
		writeDeadline: newDeadline(),
	}
}

// ReadFromUDPAddrPort blocks until a datagram arrives, the Conn is closed, or the read deadline
// passes. A datagram longer than b is truncated, as with UDP.
func (c *Conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	// Like a socket: once closed or past the deadline, reads fail even if data is queued.
	if isClosed(c.closed) {
		return 0, netip.AddrPort{}, closedError("read", c.local)
	}
	expired := c.readDeadline.wait()
	if isClosed(expired) {
		return 0, netip.AddrPort{}, &timeoutError{op: "read", addr: c.local}
	}
	select {
	case d := <-c.queue:
		return copy(b, d.payload), d.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, closedError("read", c.local)
	case <-expired:
		return 0, netip.AddrPort{}, &timeoutError{op: "read", addr: c.local}
	}
}

// ReadFrom implements net.PacketConn; addr is a *net.UDPAddr.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteToUDPAddrPort sends a copy of b to a Conn's address or a group. It never blocks; like
// UDP, a datagram to an address nobody listens on is silently lost.
func (c *Conn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if isClosed(c.closed) {
		return 0, closedError("write", c.local)
	}
	if isClosed(c.writeDeadline.wait()) {
		return 0, &timeoutError{op: "write", addr: c.local}
	}
	if len(b) > maxDatagram {
		return 0, fmt.Errorf("memnet: write to %v: %d bytes: %w", to, len(b), errMessageTooLong)
	}
	c.net.send(c.local, unmap(to), append([]byte(nil), b...))
	return len(b), nil
}

// WriteTo implements net.PacketConn; addr must be a *net.UDPAddr.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("memnet: write to %v: not a *net.UDPAddr", addr)
	}
	return c.WriteToUDPAddrPort(b, ua.AddrPort())
}

// Close detaches the Conn from the network and unblocks its readers with net.ErrClosed.
func (c *Conn) Close() error {
	err := closedError("close", c.local)
	c.once.Do(func() {
		err = nil
		close(c.closed)
		c.net.remove(c)
		c.readDeadline.stop()
		c.writeDeadline.stop()
	})
	return err
}

// LocalAddr returns the Conn's address as a *net.UDPAddr.
func (c *Conn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// AddrPort returns the Conn's address.
func (c *Conn) AddrPort() netip.AddrPort { return c.local }

// SetDeadline sets both the read and the write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	return nil
}

// SetReadDeadline wakes blocked and future reads with a timeout error once t passes; the zero
// time means no deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	return nil
}

// SetWriteDeadline makes writes fail with a timeout error once t passes. Writes never block,
// so it only matters to code that sets it to wake itself up.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	return nil
}
