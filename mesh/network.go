package mesh

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/glue-mqtt/glue-mqtt/mesh/netx"
)

// PacketConn is the datagram socket the endpoint needs. *net.UDPConn implements it, and so does
// memnet's in-memory twin; a test can wrap either to inject faults.
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	Close() error
}

// Network opens the endpoint's sockets (in the spirit of memberlist's Transport): the host's UDP
// stack by default, an in-memory network in unit tests.
type Network interface {
	// ListenData opens the endpoint's own data socket ("" = choose) and returns the address that
	// peers should send to.
	ListenData(listen string) (conn PacketConn, advertised netip.AddrPort, err error)
	// ListenDiscovery opens the discovery socket shared by the endpoints of a host. For a
	// multicast group it joins the group.
	ListenDiscovery(listen string, group netip.AddrPort) (PacketConn, error)
}

// UDPNetwork is the host's UDP stack on one interface.
type UDPNetwork struct {
	ifi  *net.Interface
	addr netip.Addr
}

// NewUDPNetwork resolves the interface ("" = the default route's).
func NewUDPNetwork(iface string) (*UDPNetwork, error) {
	ifi, err := netx.ResolveInterface(iface)
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	addr, err := netx.InterfaceAddr(ifi)
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	return &UDPNetwork{ifi: ifi, addr: addr}, nil
}

// ListenData implements Network.
func (n *UDPNetwork) ListenData(listen string) (PacketConn, netip.AddrPort, error) {
	c, err := netx.ListenData(n.ifi, listen)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("mesh: %w", err)
	}
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	ip := local.Addr().Unmap()
	if ip.IsUnspecified() {
		ip = n.addr
	}
	return c, netip.AddrPortFrom(ip, local.Port()), nil
}

// ListenDiscovery implements Network.
func (n *UDPNetwork) ListenDiscovery(listen string, group netip.AddrPort) (PacketConn, error) {
	c, err := netx.ListenDiscovery(n.ifi, listen, group)
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	return c, nil
}

// datagramWriter sends datagrams, batching them where the socket allows (sendmmsg).
type datagramWriter interface {
	Queue(b []byte, to netip.AddrPort)
	Flush() error
}

func newWriter(c PacketConn) datagramWriter {
	if u, ok := c.(*net.UDPConn); ok {
		return netx.NewBatchWriter(u, 64)
	}
	return &plainWriter{c: c}
}

// plainWriter writes each datagram at once (in-memory and wrapped sockets).
type plainWriter struct {
	c   PacketConn
	err error
}

func (w *plainWriter) Queue(b []byte, to netip.AddrPort) {
	if _, err := w.c.WriteToUDPAddrPort(b, to); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *plainWriter) Flush() error {
	err := w.err
	w.err = nil
	return err
}

// datagramReader receives datagrams, several per system call where the socket allows (recvmmsg).
type datagramReader interface {
	Read(fn func(b []byte, from netip.AddrPort)) error
}

func newReader(c PacketConn, bufSize int) datagramReader {
	if u, ok := c.(*net.UDPConn); ok {
		return netx.NewBatchReader(u, 32, bufSize)
	}
	return &plainReader{c: c, buf: make([]byte, bufSize)}
}

type plainReader struct {
	c   PacketConn
	buf []byte
}

func (r *plainReader) Read(fn func(b []byte, from netip.AddrPort)) error {
	n, from, err := r.c.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return err
	}
	fn(r.buf[:n], from)
	return nil
}
