package netlab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// udpProbe sends count datagrams from one host to addr (paced in small bursts, so that socket
// buffers never overflow and every shortfall is the fault under test) while the receiver counts
// them, and returns what arrived.
func udpProbe(t *testing.T, from *Host, to *net.UDPConn, addr *net.UDPAddr, count int) int {
	t.Helper()
	var got int
	var wg sync.WaitGroup
	msg := fmt.Appendf(nil, "netlab probe %d", rand.Int64())
	sent := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = CountDatagrams(to, msg, sent, 300*time.Millisecond, time.Now().Add(15*time.Second))
	}()
	senderDone := sync.OnceFunc(func() { close(sent) })
	defer wg.Wait()
	defer senderDone() // also on t.Fatal, so the counter stops
	out, err := from.ListenUDP(from.Addr.String() + ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for i := 0; i < count; i++ {
		if _, err := out.WriteToUDP(msg, addr); err != nil {
			t.Fatalf("integration: %s: send %d: %v", from.Name, i, err)
		}
		if i%20 == 19 {
			time.Sleep(200 * time.Microsecond) // pacing, not synchronisation
		}
	}
	senderDone()
	wg.Wait()
	return got
}

func listen(t *testing.T, h *Host, port int) (*net.UDPConn, *net.UDPAddr) {
	t.Helper()
	c, err := h.ListenUDP(fmt.Sprintf("%s:%d", h.Addr, port))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr)
}

// TestNetlabSegment builds a segment and checks unicast and multicast between the hosts, and
// that nothing is left once the Lab is closed.
func TestNetlabSegment(t *testing.T) {
	Require(t)
	var prefix string
	t.Run("build", func(t *testing.T) {
		lab := New(t, Options{Hosts: 3})
		prefix = lab.Prefix
		names, err := Namespaces(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 4 {
			t.Fatalf("want 4 namespaces (switch + 3 hosts), have %v", names)
		}
		for _, pair := range [][2]int{{1, 2}, {2, 3}, {3, 1}} {
			from, to := lab.Host(pair[0]), lab.Host(pair[1])
			rx, addr := listen(t, to, 40000)
			got := udpProbe(t, from, rx, addr, 100)
			t.Logf("unicast %s->%s: %d/100", from.Name, to.Name, got)
			if got != 100 {
				t.Errorf("unicast %s->%s: %d of 100 datagrams arrived", from.Name, to.Name, got)
			}
		}
		group := &net.UDPAddr{IP: net.IPv4(239, 192, 137, 77), Port: 40001}
		var rxs []*net.UDPConn
		for _, i := range []int{2, 3} {
			c, err := lab.Host(i).ListenMulticastUDP(group)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			rxs = append(rxs, c)
		}
		counts := multicastProbe(t, lab.Host(1), group, rxs, 50)
		t.Logf("multicast h1->{h2,h3}: %v of 50", counts)
		for i, n := range counts {
			if n != 50 {
				t.Errorf("multicast h1->h%d: %d of 50", i+2, n)
			}
		}
	})
	names, err := Namespaces(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Fatalf("namespaces left after Close: %v", names)
	}
	t.Logf("summary: segment of 3 hosts: unicast and multicast OK, 0 namespaces left after cleanup")
}

// multicastProbe sends count datagrams to group from host h and counts them on each receiver.
func multicastProbe(t *testing.T, from *Host, group *net.UDPAddr, rxs []*net.UDPConn, count int) []int {
	t.Helper()
	counts := make([]int, len(rxs))
	var wg sync.WaitGroup
	msg := fmt.Appendf(nil, "netlab multicast probe %d", rand.Int64())
	sent := make(chan struct{})
	senderDone := sync.OnceFunc(func() { close(sent) })
	defer wg.Wait()
	defer senderDone()
	for i, rx := range rxs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i] = CountDatagrams(rx, msg, sent, 300*time.Millisecond, time.Now().Add(10*time.Second))
		}()
	}
	tx, err := from.ListenMulticastUDP(&net.UDPAddr{IP: group.IP, Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i := 0; i < count; i++ {
		if _, err := tx.WriteToUDP(msg, group); err != nil {
			t.Fatalf("multicast send: %v", err)
		}
	}
	senderDone()
	wg.Wait()
	return counts
}

// TestNetlabFaults applies and removes each kind of nft fault and measures its effect.
func TestNetlabFaults(t *testing.T) {
	lab := New(t, Options{Hosts: 3})
	h1, h2, h3 := lab.Host(1), lab.Host(2), lab.Host(3)
	rx2, addr2 := listen(t, h2, 40010)
	rx3, addr3 := listen(t, h3, 40011)
	const n = 2000
	var summary []string
	measure := func(what string, from *Host, rx *net.UDPConn, addr *net.UDPAddr, lo, hi int) {
		t.Helper()
		got := udpProbe(t, from, rx, addr, n)
		t.Logf("%s: %d of %d datagrams arrived", what, got, n)
		summary = append(summary, fmt.Sprintf("%s=%d/%d", what, got, n))
		if got < lo || got > hi {
			t.Errorf("%s: %d of %d arrived, want %d..%d", what, got, n, lo, hi)
		}
	}

	if err := lab.SetLoss(Link{1, 2}, 0.3); err != nil {
		t.Fatal(err)
	}
	measure("loss30%_h1->h2", h1, rx2, addr2, 1200, 1600)
	measure("loss30%_untouched_h1->h3", h1, rx3, addr3, n, n)
	if err := lab.SetLoss(Link{1, 2}, 0); err != nil {
		t.Fatal(err)
	}
	measure("loss_removed_h1->h2", h1, rx2, addr2, n, n)

	if err := lab.SetDuplicate(Link{1, 2}, 0.5); err != nil {
		t.Fatal(err)
	}
	measure("dup50%_h1->h2", h1, rx2, addr2, 2800, 3200)
	measure("dup50%_untouched_h1->h3", h1, rx3, addr3, n, n)
	if err := lab.SetDuplicate(Link{1, 2}, 0); err != nil {
		t.Fatal(err)
	}
	measure("dup_removed_h1->h2", h1, rx2, addr2, n, n)

	if err := lab.Partition([]int{1}, []int{2, 3}); err != nil {
		t.Fatal(err)
	}
	measure("partition_h1->h2", h1, rx2, addr2, 0, 0)
	measure("partition_h3->h2", h3, rx2, addr2, n, n)
	group := &net.UDPAddr{IP: net.IPv4(239, 192, 137, 78), Port: 40012}
	mrx, err := h2.ListenMulticastUDP(group)
	if err != nil {
		t.Fatal(err)
	}
	defer mrx.Close()
	if c := multicastProbe(t, h1, group, []*net.UDPConn{mrx}, 50); c[0] != 0 {
		t.Errorf("multicast crossed the partition: %d of 50", c[0])
	}
	if err := lab.Heal(); err != nil {
		t.Fatal(err)
	}
	measure("healed_h1->h2", h1, rx2, addr2, n, n)
	if c := multicastProbe(t, h1, group, []*net.UDPConn{mrx}, 50); c[0] != 50 {
		t.Errorf("multicast after heal: %d of 50", c[0])
	}

	if err := lab.BlockMulticast(true); err != nil {
		t.Fatal(err)
	}
	if c := multicastProbe(t, h1, group, []*net.UDPConn{mrx}, 50); c[0] != 0 {
		t.Errorf("multicast crossed the multicast block: %d of 50", c[0])
	}
	measure("multicast_blocked_unicast_h1->h2", h1, rx2, addr2, n, n)
	if err := lab.ClearFaults(); err != nil {
		t.Fatal(err)
	}
	rules, err := lab.Ruleset()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rules, "drop") || strings.Contains(rules, "dup") {
		t.Errorf("rules left after ClearFaults:\n%s", rules)
	}
	t.Logf("summary: faults %s", strings.Join(summary, " "))
}

// TestNetlabProcesses starts, kills and restarts a stand-in process in a host namespace.
func TestNetlabProcesses(t *testing.T) {
	lab := New(t, Options{Hosts: 1})
	h := lab.Host(1)
	p, err := h.Start("/bin/sh", map[string]string{"GLUE_ENDPOINT_NAME": "h1"},
		"-c", `echo 'time=x level=INFO msg="mesh: peer joined" peer=abc name=h9 addr=1.2.3.4:5'; echo "env=$GLUE_ENDPOINT_NAME ns=$(readlink /proc/self/ns/net)"; exec sleep 60`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !strings.Contains(p.Log(), "env=h1") {
		if ctx.Err() != nil {
			t.Fatalf("no output from the process: %q", p.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !p.Knows("h9") {
		t.Errorf("peer line not parsed: events %v", p.Events())
	}
	rss, err := p.RSS()
	if err != nil || rss <= 0 {
		t.Errorf("RSS: %d, %v", rss, err)
	}
	h.Kill()
	if !p.Exited() {
		t.Fatal("process still running after Kill")
	}
	p2, err := h.Restart("/bin/sh")
	if err == nil {
		defer h.Kill()
	}
	if err != nil || p2.Boot != 2 || p2.PID == p.PID {
		t.Fatalf("restart: %v boot %d pid %d (was %d)", err, p2.Boot, p2.PID, p.PID)
	}
	t.Logf("summary: process start/kill/restart OK, rss of stand-in %d KiB", rss>>10)
}
