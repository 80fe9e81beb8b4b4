package netx

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// testTimeout bounds every blocking read so a broken test fails instead of hanging.
const testTimeout = 5 * time.Second

func loopback(t *testing.T) *net.Interface {
	t.Helper()
	ifi, err := ResolveInterface("lo")
	if err != nil {
		t.Fatal(err)
	}
	return ifi
}

// freePort returns a UDP port that was free a moment ago, so parallel test runs do not collide.
func freePort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

func testGroup(t *testing.T) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 192, 137, byte(2 + rand.IntN(250))}), freePort(t))
}

func readOne(t *testing.T, c *net.UDPConn) ([]byte, netip.AddrPort) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("read on %v: %v", c.LocalAddr(), err)
	}
	return buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

func listenDiscovery(t *testing.T, ifi *net.Interface, group netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := ListenDiscovery(ifi, "", group)
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("joining multicast group %v on %s is not permitted here: %v", group, ifi.Name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listenData(t *testing.T, ifi *net.Interface) *net.UDPConn {
	t.Helper()
	c, err := ListenData(ifi, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrPort(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestListenDataBindsInterfaceAddressOnEphemeralPort(t *testing.T) {
	c := listenData(t, loopback(t))
	ap := addrPort(c)
	if ap.Addr() != netip.MustParseAddr("127.0.0.1") || ap.Port() == 0 {
		t.Fatalf("data socket bound to %v, want 127.0.0.1:<ephemeral>", ap)
	}
}

func TestListenDataHonoursExplicitAddress(t *testing.T) {
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t))
	c, err := ListenData(loopback(t), want.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := addrPort(c); got != want {
		t.Fatalf("bound %v, want %v", got, want)
	}
}

func TestUnicastBetweenDataSockets(t *testing.T) {
	ifi := loopback(t)
	a, b := listenData(t, ifi), listenData(t, ifi)
	if _, err := a.WriteToUDPAddrPort([]byte("hello b"), addrPort(b)); err != nil {
		t.Fatal(err)
	}
	got, from := readOne(t, b)
	if string(got) != "hello b" || from != addrPort(a) {
		t.Fatalf("got %q from %v, want %q from %v", got, from, "hello b", addrPort(a))
	}
}

// Two processes on one host share the discovery port; a beacon sent to the group from a data
// socket must reach both, and must stay on lo.
func TestMulticastBeaconReachesEverySharedDiscoverySocket(t *testing.T) {
	ifi := loopback(t)
	group := testGroup(t)
	d1 := listenDiscovery(t, ifi, group)
	d2 := listenDiscovery(t, ifi, group)
	sender := listenData(t, ifi)

	beacon := []byte(fmt.Sprintf("beacon to %v", group))
	if _, err := sender.WriteToUDPAddrPort(beacon, group); err != nil {
		t.Fatal(err)
	}
	for i, d := range []*net.UDPConn{d1, d2} {
		got, from := readOne(t, d)
		if !bytes.Equal(got, beacon) || from != addrPort(sender) {
			t.Fatalf("discovery socket %d got %q from %v, want %q from %v", i+1, got, from, beacon, addrPort(sender))
		}
	}
}

// With IP_MULTICAST_ALL off, a discovery socket must not receive a group it did not join even
// though another socket on the same port joined it.
func TestDiscoverySocketIgnoresGroupsItDidNotJoin(t *testing.T) {
	ifi := loopback(t)
	port := freePort(t)
	mine := netip.AddrPortFrom(netip.MustParseAddr("239.192.137.250"), port)
	other := netip.AddrPortFrom(netip.MustParseAddr("239.192.137.251"), port)
	dMine := listenDiscovery(t, ifi, mine)
	dOther := listenDiscovery(t, ifi, other)
	sender := listenData(t, ifi)

	// Send to the other group first, then to ours: if the filter failed, dMine would read the
	// datagram for the other group first.
	if _, err := sender.WriteToUDPAddrPort([]byte("other"), other); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.WriteToUDPAddrPort([]byte("mine"), mine); err != nil {
		t.Fatal(err)
	}
	if got, _ := readOne(t, dMine); string(got) != "mine" {
		t.Fatalf("socket joined to %v read %q", mine, got)
	}
	if got, _ := readOne(t, dOther); string(got) != "other" {
		t.Fatalf("socket joined to %v read %q", other, got)
	}
}

// Rendezvous mode: the "group" is a unicast address; several processes can still bind the port.
func TestDiscoveryWithUnicastTargetOnlyBindsWithReuse(t *testing.T) {
	ifi := loopback(t)
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t))
	listen := target.String()
	for i := 0; i < 2; i++ {
		c, err := ListenDiscovery(ifi, listen, target)
		if err != nil {
			t.Fatalf("bind %d: %v", i+1, err)
		}
		defer c.Close()
	}
	sender := listenData(t, ifi)
	// The kernel hands a unicast datagram on a shared port to one of the sockets; just check the
	// port is live.
	if _, err := sender.WriteToUDPAddrPort([]byte("hi"), target); err != nil {
		t.Fatal(err)
	}
}
