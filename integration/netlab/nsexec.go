package netlab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Do runs fn inside the host's network namespace. Sockets fn creates stay in that namespace for
// their whole life, wherever they are used afterwards; that is how the test process, which stays
// in the root namespace, talks to the hosts.
func (h *Host) Do(fn func() error) error {
	return inNamespace(h.NS, fn)
}

// inNamespace runs fn on a fresh OS thread moved into the named network namespace. The thread is
// never handed back to the Go scheduler: the goroutine ends while still locked to it, so the
// runtime destroys it, and no other goroutine can ever run in the wrong namespace.
func inNamespace(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread, on purpose: see above.
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			done <- fmt.Errorf("integration: netns %s: %w", ns, err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("integration: setns %s: %w", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// DialContext opens a connection from inside the host's namespace (e.g. to its own 127.0.0.1:1883).
// Use IP literals: name resolution could run on another thread, outside the namespace.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := h.Do(func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, address)
		conn = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("integration: %s: dial %s %s: %w", h.Name, network, address, err)
	}
	return conn, nil
}

// ListenUDP opens a UDP socket inside the host's namespace.
func (h *Host) ListenUDP(address string) (*net.UDPConn, error) {
	var conn *net.UDPConn
	err := h.Do(func() error {
		laddr, err := net.ResolveUDPAddr("udp4", address)
		if err != nil {
			return err
		}
		conn, err = net.ListenUDP("udp4", laddr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("integration: %s: listen udp %s: %w", h.Name, address, err)
	}
	return conn, nil
}

// ListenMulticastUDP opens a UDP socket inside the host's namespace, bound to the group's port
// and joined to the group on the host's veth, with multicast sent through the veth and looped
// back locally.
func (h *Host) ListenMulticastUDP(group *net.UDPAddr) (*net.UDPConn, error) {
	var conn *net.UDPConn
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Veth)
		if err != nil {
			return err
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: group.Port})
		if err != nil {
			return err
		}
		p := ipv4.NewPacketConn(c)
		if err := p.JoinGroup(ifi, group); err != nil {
			c.Close()
			return err
		}
		if err := p.SetMulticastInterface(ifi); err != nil {
			c.Close()
			return err
		}
		_ = p.SetMulticastTTL(1)
		conn = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("integration: %s: multicast listen %v: %w", h.Name, group, err)
	}
	return conn, nil
}

// CountDatagrams counts the datagrams equal to want that arrive on conn. It keeps counting until
// senderDone is closed and then quiet passes without a datagram, or until deadline. Datagrams with
// other contents (late ones of an earlier probe) are ignored, so probes cannot bleed into each other
// however slow the machine is.
func CountDatagrams(conn *net.UDPConn, want []byte, senderDone <-chan struct{}, quiet time.Duration, deadline time.Time) int {
	buf := make([]byte, 65536)
	n := 0
	for time.Now().Before(deadline) {
		next := time.Now().Add(quiet)
		if next.After(deadline) {
			next = deadline
		}
		_ = conn.SetReadDeadline(next)
		k, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			select {
			case <-senderDone:
				return n
			default:
				continue // the sender is still at work: silence means nothing yet
			}
		}
		if bytes.Equal(buf[:k], want) {
			n++
		}
	}
	return n
}
