package loopback

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of the harness.
const (
	startTimeout     = 15 * time.Second // a process until its MQTT listener serves
	meshTimeout      = 15 * time.Second // a set of processes until each knows all the others
	shutdownBound    = 5 * time.Second  // glue-mqtt's own bound from signal to exit (cmd/glue-mqtt/run.go)
	stopTimeout      = 7 * time.Second  // SIGTERM until the process is gone: the bound, plus slack for a loaded machine
	discoveryRateMS  = 300
	quietWindow      = 400 * time.Millisecond // listening for what must not arrive
	deliveryDeadline = 10 * time.Second       // a message that must arrive
)

// glueBinary is the glue-mqtt binary that TestMain built for this test binary.
var glueBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "glue-mqtt-loopback-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loopback:", err)
		os.Exit(1)
	}
	glueBinary = filepath.Join(dir, "glue-mqtt")
	build := exec.Command("go", "build", "-o", glueBinary, "../../cmd/glue-mqtt")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "loopback: building glue-mqtt:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// network is one mesh of the test: its own network ID and discovery port.
type network struct {
	t         *testing.T
	id        string
	discovery string
	instances []*instance
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// newNetwork returns a mesh no other test or run shares: a network ID made of the test's name, the
// PID and a random number, and a random multicast discovery port.
func newNetwork(t *testing.T) *network {
	t.Helper()
	name := unsafeChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	return &network{
		t:         t,
		id:        fmt.Sprintf("loopback-%s-%d-%08x", name, os.Getpid(), rand.Uint32()),
		discovery: fmt.Sprintf("239.192.137.1:%d", 20000+rand.IntN(20001)),
	}
}

// instance is one glue-mqtt process.
type instance struct {
	name     string
	addr     string // MQTT listener, 127.0.0.1:port
	port     int
	endpoint string // mesh endpoint ID, from the "running" log line
	started  time.Time
	cmd      *exec.Cmd
	log      *logBuffer
	exited   chan struct{} // closed when the process has exited; then ProcessState is set
	// noStart marks a process that failed to start (tryStart gave up on it): its exit status is
	// not the test's concern.
	noStart bool
}

// start runs one glue-mqtt process in the network with extra command-line args, and waits until
// its MQTT listener serves. The process is stopped (SIGTERM, then SIGKILL) in t.Cleanup.
func (n *network) start(name string, args ...string) *instance {
	t := n.t
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and bind
		inst, err := n.tryStart(name, args)
		if err == nil {
			n.instances = append(n.instances, inst)
			return inst
		}
		lastErr = err
	}
	t.Fatalf("starting glue-mqtt %s: %v", name, lastErr)
	return nil
}

var (
	runningLine = regexp.MustCompile(`msg="glue-mqtt: running".* endpoint=([0-9a-f-]+)`)
	peerLine    = regexp.MustCompile(`msg="mesh: peer (joined|restarted|gone)".* peer=([0-9a-f-]+)`)
)

func (n *network) tryStart(name string, args []string) (*instance, error) {
	t := n.t
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	inst := &instance{
		name:   name,
		port:   port,
		addr:   "127.0.0.1:" + strconv.Itoa(port),
		log:    &logBuffer{},
		exited: make(chan struct{}),
	}
	cmd := exec.Command(glueBinary, append([]string{"run"}, args...)...)
	cmd.Env = append(environWithoutGlue(),
		"GLUE_LISTEN_INTERFACE=lo",
		"GLUE_NETWORK_ID="+n.id,
		"GLUE_ENDPOINT_NAME="+name,
		"GLUE_DISCOVERY_TARGET_ADDRESS="+n.discovery,
		"GLUE_DISCOVERY_RATE_MILLISECONDS="+strconv.Itoa(discoveryRateMS),
		"GLUE_MQTT_LISTEN_ADDRESS="+inst.addr,
	)
	cmd.Stdout, cmd.Stderr = inst.log, inst.log
	inst.cmd = cmd
	inst.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = cmd.Wait() // the status is read from cmd.ProcessState once exited is closed
		close(inst.exited)
	}()
	t.Cleanup(func() { inst.stop(t) })
	fail := func(err error) (*instance, error) {
		inst.noStart = true
		return nil, err
	}

	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if m := runningLine.FindStringSubmatch(inst.log.String()); m != nil {
			inst.endpoint = m[1]
			return inst, nil
		}
		select {
		case <-inst.exited:
			return fail(fmt.Errorf("exited early (%v):\n%s", cmd.ProcessState, inst.log.String()))
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	return fail(fmt.Errorf("not serving after %v:\n%s", startTimeout, inst.log.String()))
}

// stop ends the process: SIGTERM, and SIGKILL if it does not exit in time. The process must exit
// with status 0 (a clean stop within glue-mqtt's own bound; it exits 1 when the bound passes),
// also when it had already exited. It prints the process's log when the test failed.
func (inst *instance) stop(t *testing.T) {
	select {
	case <-inst.exited:
	default:
		_ = inst.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-inst.exited:
		case <-time.After(stopTimeout):
			t.Errorf("glue-mqtt %s did not stop within %v of SIGTERM; killing it", inst.name, stopTimeout)
			_ = inst.cmd.Process.Kill()
			<-inst.exited
		}
	}
	if code := inst.cmd.ProcessState.ExitCode(); code != 0 && !inst.noStart {
		t.Errorf("glue-mqtt %s exited with %v, want status 0 (a clean stop)", inst.name, inst.cmd.ProcessState)
	}
	if t.Failed() {
		t.Logf("log of glue-mqtt %s (%s):\n%s", inst.name, inst.addr, tail(inst.log.String(), 60))
	}
}

// peers returns the endpoint IDs this instance currently counts as peers, read from its log.
func (inst *instance) peers() map[string]bool {
	out := map[string]bool{}
	for _, m := range peerLine.FindAllStringSubmatch(inst.log.String(), -1) {
		if m[1] == "gone" {
			delete(out, m[2])
		} else {
			out[m[2]] = true
		}
	}
	return out
}

// waitMesh waits until every instance of the network knows every other one as a peer, and
// returns how long that took after the last instance started.
func (n *network) waitMesh() time.Duration {
	t := n.t
	t.Helper()
	var last time.Time
	for _, inst := range n.instances {
		if inst.started.After(last) {
			last = inst.started
		}
	}
	deadline := time.Now().Add(meshTimeout)
	for {
		missing := ""
		for _, a := range n.instances {
			known := a.peers()
			for _, b := range n.instances {
				if a != b && !known[b.endpoint] {
					missing += fmt.Sprintf(" %s does not know %s;", a.name, b.name)
				}
			}
		}
		if missing == "" {
			took := time.Since(last)
			t.Logf("mesh of %d instances formed %v after the last start", len(n.instances), took.Round(time.Millisecond))
			return took
		}
		if time.Now().After(deadline) {
			t.Fatalf("mesh not formed within %v:%s", meshTimeout, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startMesh starts count instances named A, B, C... and waits until they form one mesh.
func startMesh(t *testing.T, count int, args ...string) []*instance {
	t.Helper()
	n := newNetwork(t)
	out := make([]*instance, count)
	for i := range out {
		out[i] = n.start(string(rune('A'+i)), args...)
	}
	n.waitMesh()
	return out
}

// waitLog waits (bounded) until at least n lines of the process's log contain s, and reports
// whether they did: the log reaches the test through a pipe, a little after the event.
func (inst *instance) waitLog(s string, n int) bool {
	deadline := time.Now().Add(deliveryDeadline)
	for inst.log.count(s) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// signalAndWait sends sig and waits (up to limit) for the process to exit; it returns how long
// that took and the exit code (-1 if it did not exit in time or died of a signal).
func (inst *instance) signalAndWait(t *testing.T, sig os.Signal, limit time.Duration) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	if err := inst.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to glue-mqtt %s: %v", sig, inst.name, err)
	}
	select {
	case <-inst.exited:
		return time.Since(start), inst.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		return time.Since(start), -1
	}
}

// needTool stops a test that lacks an external tool: a skip with the reason on a developer's
// machine, a failure in CI (CI=true), where .ci/run installs every tool the tests use.
func needTool(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but "+format, args...)
	}
	t.Skipf(format, args...)
}

// alive reports whether the process still runs.
func (inst *instance) alive() bool {
	select {
	case <-inst.exited:
		return false
	default:
		return true
	}
}

func environWithoutGlue() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GLUE_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logBuffer collects a process's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count returns how many lines of the log contain s.
func (b *logBuffer) count(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// testContext is a context bounded by d and cancelled at the end of the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// uniqueTopic returns a topic no other part of the test uses.
func uniqueTopic(prefix string) string {
	return fmt.Sprintf("%s/%08x", prefix, rand.Uint32())
}
