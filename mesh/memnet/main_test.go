package memnet

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind (e.g. a stuck timer callback).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func listen(t *testing.T, n *Network, addr string) *Conn {
	t.Helper()
	c, err := n.Listen(ap(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *Conn, to netip.AddrPort, payload string) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort([]byte(payload), to); err != nil {
		t.Fatal(err)
	}
}

// recv reads one datagram; use it inside a synctest bubble (or with data already queued), where
// an absent datagram shows up as a deadline after fake time instead of a hang.
func recv(t *testing.T, c *Conn) (string, netip.AddrPort, error) {
	t.Helper()
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	return string(buf[:n]), from, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}
