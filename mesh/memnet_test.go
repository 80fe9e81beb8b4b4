package mesh

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/mesh/memnet"
)

// memNetwork puts an endpoint on an in-memory network, as host ip.
type memNetwork struct {
	n  *memnet.Network
	ip netip.Addr
}

func (m memNetwork) ListenData(listen string) (PacketConn, netip.AddrPort, error) {
	c, err := m.n.Listen(netip.AddrPortFrom(m.ip, 0))
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return c, c.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}

func (m memNetwork) ListenDiscovery(listen string, group netip.AddrPort) (PacketConn, error) {
	c, err := m.n.Listen(netip.AddrPortFrom(m.ip, group.Port()))
	if err != nil {
		return nil, err
	}
	if group.Addr().IsMulticast() {
		m.n.JoinGroup(group, c)
	}
	return c, nil
}

// memConfig is a test endpoint's configuration on host 10.0.0.i of network n.
func memConfig(n *memnet.Network, i int) Config {
	cfg := DefaultConfig()
	cfg.NetworkID = "test"
	cfg.EndpointName = fmt.Sprintf("ep%d", i)
	cfg.Network = memNetwork{n: n, ip: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})}
	cfg.Logger = testLogger()
	return cfg
}

func startEndpoint(t *testing.T, cfg Config) *Endpoint {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })
	return e
}

// waitFor polls cond (in a synctest bubble time is fake, so this costs nothing real).
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func peersOf(e *Endpoint) int { return len(e.Peers()) }

func addrOf(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
