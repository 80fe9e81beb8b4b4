package netlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Subnet is the /24 every Lab's hosts live in (link-local, never routed): host i is Subnet.i.
const Subnet = "169.254.77"

// NamePrefix starts the name of every namespace a Lab creates; the test process's PID and a
// per-process counter follow, so concurrent test binaries never collide and the namespaces of
// runs that died can be recognised and swept.
const NamePrefix = "gmnl"

// Options shape a Lab.
type Options struct {
	// Hosts is the number of host namespaces (1..250).
	Hosts int
	// Impairable starts every glue-mqtt with a per-host impairment rules file
	// (GLUE_TEST_IMPAIR_FILE), so that Impair can delay, reorder, drop or duplicate what it sends
	// per link at run time. Off by default: the wrapped socket sends and receives one datagram
	// per system call instead of in batches.
	Impairable bool
}

// Lab is one bridged segment with its hosts, owned by one test.
type Lab struct {
	t      testing.TB
	Prefix string // unique prefix of every namespace name, e.g. "gmnl4242-1"
	Switch string // the switch namespace holding br0
	Hosts  []*Host

	faultsMu sync.Mutex
	faults   faultState

	impairable bool
	impairMu   sync.Mutex
	impairs    map[Link]string // faultnet spec by link, for the rules files

	logDir string // the glue-mqtt logs, one file per host and boot

	closeOnce sync.Once
}

// Host is one namespace on the segment.
type Host struct {
	lab   *Lab
	Index int        // 1-based
	Name  string     // "h<i>", also the glue-mqtt endpoint name
	NS    string     // namespace name
	Veth  string     // the host's interface ("v<i>")
	Port  string     // its bridge port in the switch namespace ("b<i>")
	Addr  netip.Addr // Subnet.<i>

	procMu sync.Mutex
	proc   *Process
	env    map[string]string // the environment of the last Start, reused by Restart
	args   []string          // and its arguments
	boots  int
}

var labCounter atomic.Int64

// Available reports why network namespaces cannot be used here, or nil when they can.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH", tool)
		}
	}
	probe := fmt.Sprintf("%s%d-probe", NamePrefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add failed: %s", strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("ip", "netns", "del", probe).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del failed: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

var (
	availableOnce sync.Once
	availableErr  error
)

// Require skips the test when network namespaces are not available (not root, no ip or nft).
func Require(t testing.TB) {
	t.Helper()
	availableOnce.Do(func() { availableErr = Available() })
	if availableErr != nil {
		t.Skipf("integration: needs root for network namespaces: %v", availableErr)
	}
}

// New builds a Lab of opts.Hosts hosts and registers its removal with t.Cleanup. It skips the test
// when namespaces are not available and fails it when the segment cannot be built.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	Require(t)
	if opts.Hosts < 1 || opts.Hosts > 250 {
		t.Fatalf("integration: netlab: %d hosts: want 1..250", opts.Hosts)
	}
	if err := SweepStale(); err != nil {
		t.Logf("integration: netlab: sweeping stale namespaces: %v", err)
	}
	prefix := fmt.Sprintf("%s%d-%d", NamePrefix, os.Getpid(), labCounter.Add(1))
	lab := &Lab{t: t, Prefix: prefix, Switch: prefix + "sw", logDir: t.TempDir(),
		impairable: opts.Impairable, impairs: map[Link]string{}}
	t.Cleanup(lab.Close)
	start := time.Now()
	if err := lab.build(opts.Hosts); err != nil {
		t.Fatalf("integration: netlab: building the segment: %v", err)
	}
	t.Logf("netlab: %d hosts on %s.0/24 (prefix %s) built in %v", opts.Hosts, Subnet, prefix, time.Since(start).Round(time.Millisecond))
	return lab
}

func (l *Lab) build(n int) error {
	sw := l.Switch
	steps := [][]string{
		{"netns", "add", sw},
		{"-n", sw, "link", "set", "lo", "up"},
		{"-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"},
		{"-n", sw, "link", "set", "br0", "up"},
	}
	for _, s := range steps {
		if err := runIP(s...); err != nil {
			return err
		}
	}
	for i := 1; i <= n; i++ {
		h := &Host{
			lab:   l,
			Index: i,
			Name:  fmt.Sprintf("h%d", i),
			NS:    fmt.Sprintf("%sh%d", l.Prefix, i),
			Veth:  fmt.Sprintf("v%d", i),
			Port:  fmt.Sprintf("b%d", i),
			Addr:  netip.MustParseAddr(fmt.Sprintf("%s.%d", Subnet, i)),
		}
		l.Hosts = append(l.Hosts, h)
		steps := [][]string{
			{"netns", "add", h.NS},
			{"link", "add", h.Veth, "netns", h.NS, "type", "veth", "peer", "name", h.Port, "netns", sw},
			{"-n", sw, "link", "set", h.Port, "master", "br0"},
			{"-n", sw, "link", "set", h.Port, "up"},
			{"-n", h.NS, "link", "set", "lo", "up"},
			{"-n", h.NS, "addr", "add", h.Addr.String() + "/24", "dev", h.Veth},
			{"-n", h.NS, "link", "set", h.Veth, "up"},
			{"-n", h.NS, "route", "add", "224.0.0.0/4", "dev", h.Veth},
		}
		for _, s := range steps {
			if err := runIP(s...); err != nil {
				return err
			}
		}
	}
	return nil
}

// BaseEnv is the glue-mqtt environment of a host on this Lab: MQTT on the host's own
// 127.0.0.1:1883, the mesh on its veth, a network ID unique to the Lab, the endpoint name h<i>
// and an endpoint ID that is stable across restarts of the host (so a restart is a restart),
// Prometheus metrics on MetricsAddress, and with Options.Impairable the host's impairment rules
// file (ImpairFile).
func (l *Lab) BaseEnv(h *Host) map[string]string {
	env := map[string]string{
		"GLUE_MQTT_LISTEN_ADDRESS":    "127.0.0.1:1883",
		"GLUE_LISTEN_INTERFACE":       h.Veth,
		"GLUE_NETWORK_ID":             l.Prefix,
		"GLUE_ENDPOINT_NAME":          h.Name,
		"GLUE_ENDPOINT_ID":            uuid.NewSHA1(uuid.NameSpaceOID, []byte(l.Prefix+"/"+h.Name)).String(),
		"GLUE_METRICS_LISTEN_ADDRESS": MetricsAddress,
	}
	if l.impairable {
		env["GLUE_TEST_IMPAIR_FILE"] = l.ImpairFile(h)
	}
	return env
}

// Host returns host i (1-based).
func (l *Lab) Host(i int) *Host {
	if i < 1 || i > len(l.Hosts) {
		l.t.Fatalf("integration: netlab: no host %d (have %d)", i, len(l.Hosts))
	}
	return l.Hosts[i-1]
}

// Close stops every process and deletes every namespace of the Lab (and so its veths, bridge
// and nft tables). It runs from t.Cleanup and is safe to call more than once.
func (l *Lab) Close() {
	l.closeOnce.Do(func() {
		if l.t.Failed() {
			for _, h := range l.Hosts {
				h.dumpLogTail(40)
			}
		}
		for _, h := range l.Hosts {
			h.Kill()
		}
		var errs []error
		for _, h := range l.Hosts {
			errs = append(errs, deleteNamespace(h.NS))
		}
		errs = append(errs, deleteNamespace(l.Switch))
		if err := errors.Join(errs...); err != nil {
			l.t.Errorf("integration: netlab: cleanup: %v", err)
		}
	})
}

// Namespaces lists the namespaces whose names start with prefix.
func Namespaces(prefix string) ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("integration: ip netns list: %w: %s", err, bytes.TrimSpace(out))
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name != "" && strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names, nil
}

var staleName = regexp.MustCompile("^" + NamePrefix + `(\d+)-`)

// SweepStale deletes the namespaces of earlier test processes that died without cleaning up:
// those named NamePrefix<pid>-... whose pid is no longer running. The glue-mqtt processes left in
// them (normally none: they are started with a parent-death signal) were started by this harness
// and are killed by PID first.
func SweepStale() error {
	names, err := Namespaces(NamePrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		m := staleName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || processAlive(pid) {
			continue
		}
		errs = append(errs, deleteNamespace(name))
	}
	return errors.Join(errs...)
}

// SweepStaleDirs removes the entries of parent named prefix<pid>-... whose pid is no longer
// running: what test processes that died (a panic, a -timeout) left behind, such as the
// directory holding a glue-mqtt binary built for one run.
func SweepStaleDirs(parent, prefix string) error {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return fmt.Errorf("integration: sweeping %s: %w", parent, err)
	}
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `(\d+)-`)
	var errs []error
	for _, e := range entries {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("integration: sweeping %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// deleteNamespace kills the processes still inside ns (by PID) and deletes it. A namespace that
// does not exist is not an error.
func deleteNamespace(ns string) error {
	if _, err := os.Stat("/var/run/netns/" + ns); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	return runIP("netns", "del", ns)
}

// runIP runs ip with args, bounded in time, and wraps its output into the error.
func runIP(args ...string) error {
	return runTool(nil, "ip", args...)
}

func runTool(stdin []byte, tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("integration: %s %s: %w: %s", tool, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func runToolOutput(tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("integration: %s %s: %w: %s", tool, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}
