package netlab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// udpProbe is ProbeUnicast, failing the test on an error.
func udpProbe(t *testing.T, from *Host, to *net.UDPConn, addr *net.UDPAddr, count int) int {
	t.Helper()
	got, err := ProbeUnicast(from, to, addr, count)
	if err != nil {
		t.Fatal(err)
	}
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

// multicastProbe is ProbeMulticast, failing the test on an error.
func multicastProbe(t *testing.T, from *Host, group *net.UDPAddr, rxs []*net.UDPConn, count int) []int {
	t.Helper()
	counts, err := ProbeMulticast(from, group, rxs, count)
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestNetlabFaults applies and removes each kind of nft fault and measures its effect.
func TestNetlabFaults(t *testing.T) {
	lab := New(t, Options{Hosts: 3, Impairable: true})
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

	// Delay inside glue-mqtt, per link and at run time: MQTT latency h1->h2 against h1->h3.
	summary = append(summary, impairmentLatency(t, lab)...)
	t.Logf("summary: faults %s", strings.Join(summary, " "))
}

// TestNetlabProcesses starts, kills and restarts a stand-in process in a host namespace.
func TestNetlabProcesses(t *testing.T) {
	lab := New(t, Options{Hosts: 1})
	h := lab.Host(1)
	p, err := h.Start("/bin/sh", map[string]string{"GLUE_ENDPOINT_NAME": "h1"},
		"-c", `echo 'time=2030-01-02T03:04:05.678Z level=INFO msg="mesh: peer joined" peer=abc name=h9 addr=1.2.3.4:5'; echo "env=$GLUE_ENDPOINT_NAME ns=$(readlink /proc/self/ns/net)"; exec sleep 60`)
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
	if ev := p.Events(); len(ev) != 1 || !ev[0].Logged.Equal(time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)) {
		t.Errorf("logged time not parsed: events %v", ev)
	}
	// The process runs in the host's namespace, not in ours: its /proc/PID/ns/net is the
	// namespace file the Lab created (the same inode), and what it printed says so too.
	want := namespaceInode(t, "/var/run/netns/"+h.NS)
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if link != fmt.Sprintf("net:[%d]", want) || link == own || !strings.Contains(p.Log(), "ns="+link) {
		t.Errorf("process in namespace %s (printed %q), want net:[%d] of %s (the test runs in %s)", link, p.Log(), want, h.NS, own)
	}
	rss, err := p.RSS()
	if err != nil || rss <= 0 {
		t.Errorf("RSS: %d, %v", rss, err)
	}
	h.Kill()
	if !p.Exited() {
		t.Fatal("process still running after Kill")
	}
	if p.KilledAt().IsZero() || p.KilledAt().After(time.Now()) {
		t.Errorf("kill time %v", p.KilledAt())
	}
	if _, err := p.RSS(); err == nil {
		t.Error("RSS of a dead process read without an error")
	}
	p2, err := h.Restart("/bin/sh")
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer h.Kill()
	if p2.Boot != 2 || p2.PID == p.PID {
		t.Fatalf("restart: boot %d pid %d (was %d)", p2.Boot, p2.PID, p.PID)
	}
	t.Logf("summary: process start/kill/restart OK in namespace %s, rss of stand-in %d KiB", link, rss>>10)
}

func namespaceInode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("%s: no inode", path)
	}
	return st.Ino
}

// TestSweepStale: a namespace named after a test process that is gone is deleted; one named
// after a live process is kept.
func TestSweepStale(t *testing.T) {
	Require(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = live.Process.Kill()
		_ = live.Wait()
	}()
	if processAlive(gone.Process.Pid) || !processAlive(live.Process.Pid) {
		t.Fatalf("pid %d should be gone and %d alive", gone.Process.Pid, live.Process.Pid)
	}
	staleNS := fmt.Sprintf("%s%d-1sw", NamePrefix, gone.Process.Pid)
	liveNS := fmt.Sprintf("%s%d-1sw", NamePrefix, live.Process.Pid)
	for _, ns := range []string{staleNS, liveNS} {
		if err := runIP("netns", "add", ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := deleteNamespace(ns); err != nil {
				t.Error(err)
			}
		})
	}
	if err := SweepStale(); err != nil {
		t.Fatal(err)
	}
	if names, _ := Namespaces(staleNS); len(names) != 0 {
		t.Errorf("stale namespace %s left: %v", staleNS, names)
	}
	if names, _ := Namespaces(liveNS); len(names) != 1 {
		t.Errorf("namespace %s of a live process swept: %v", liveNS, names)
	}
	t.Logf("summary: SweepStale removed %s (pid gone), kept %s (pid alive)", staleNS, liveNS)
}

// TestSweepStaleDirs: directories named after a test process that is gone are removed, others
// stay. (No root needed.)
func TestSweepStaleDirs(t *testing.T) {
	parent := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	const prefix = "glue-mqtt-netlab-"
	names := map[string]bool{ // name: should stay
		fmt.Sprintf("%s%d-123", prefix, gone.Process.Pid): false,
		fmt.Sprintf("%s%d-456", prefix, os.Getpid()):      true,
		fmt.Sprintf("%s%d-789", prefix, os.Getppid()):     true,
		prefix + "123abc": true, // an older name without a pid
		fmt.Sprintf("other-%d-1", gone.Process.Pid): true,
	}
	for name := range names {
		if err := os.MkdirAll(filepath.Join(parent, name, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := SweepStaleDirs(parent, prefix); err != nil {
		t.Fatal(err)
	}
	for name, stay := range names {
		_, err := os.Stat(filepath.Join(parent, name))
		if stay != (err == nil) {
			t.Errorf("%s: exists=%v, want %v", name, err == nil, stay)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 17
glue_mesh_test_impairment_total{action="delayed"} 1234
go_memstats_heap_inuse_bytes 4.194304e+06
`))
	if err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{"go_goroutines": 17, `glue_mesh_test_impairment_total{action="delayed"}`: 1234, "go_memstats_heap_inuse_bytes": 4194304} {
		if v, ok := m.Value(series); !ok || v != want {
			t.Errorf("%s = %v %v, want %v", series, v, ok, want)
		}
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines many\n")); err == nil {
		t.Error("a bad value parsed")
	}
}
