package netlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Build compiles ./cmd/glue-mqtt of the module that contains the current directory into dir and
// returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("integration: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		return "", errors.New("integration: not inside a Go module")
	}
	bin := filepath.Join(dir, "glue-mqtt")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/glue-mqtt")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("integration: go build ./cmd/glue-mqtt: %w\n%s", err, out)
	}
	return bin, nil
}

// BaseEnv is the glue-mqtt environment of a host on this Lab: MQTT on the host's own
// 127.0.0.1:1883, the mesh on its veth, a network ID unique to the Lab, the endpoint name h<i>
// and an endpoint ID that is stable across restarts of the host (so a restart is a restart).
func (l *Lab) BaseEnv(h *Host) map[string]string {
	return map[string]string{
		"GLUE_MQTT_LISTEN_ADDRESS": "127.0.0.1:1883",
		"GLUE_LISTEN_INTERFACE":    h.Veth,
		"GLUE_NETWORK_ID":          l.Prefix,
		"GLUE_ENDPOINT_NAME":       h.Name,
		"GLUE_ENDPOINT_ID":         uuid.NewSHA1(uuid.NameSpaceOID, []byte(l.Prefix+"/"+h.Name)).String(),
	}
}

// PeerEvent is one "mesh: peer ..." log line of a glue-mqtt process.
type PeerEvent struct {
	Time   time.Time // when the harness read the line
	Kind   string    // joined, restarted, gone
	Name   string    // the peer's endpoint name
	Reason string    // for gone: left, expired, restarted
}

// Process is one run of glue-mqtt in a host.
type Process struct {
	host    *Host
	cmd     *exec.Cmd
	PID     int
	Boot    int    // 1 for the first start of the host, 2 after a restart...
	LogPath string // combined stdout and stderr
	Started time.Time

	exited  chan struct{}
	exitErr error

	mu     sync.Mutex
	peers  map[string]bool
	events []PeerEvent
	lines  int
}

// Start runs binary in the host with the given environment (on top of the test process's
// environment without any GLUE_* variable) and returns once the process runs. The log goes to the
// test's temp dir.
func (h *Host) Start(binary string, env map[string]string, args ...string) (*Process, error) {
	h.procMu.Lock()
	defer h.procMu.Unlock()
	if h.proc != nil && !h.proc.Exited() {
		return nil, fmt.Errorf("integration: %s: glue-mqtt already running (pid %d)", h.Name, h.proc.PID)
	}
	h.boots++
	h.env, h.args = env, args
	logPath := filepath.Join(h.lab.logDir, fmt.Sprintf("%s.boot%d.log", h.Name, h.boots))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("integration: %s: log file: %w", h.Name, err)
	}
	p := &Process{host: h, Boot: h.boots, LogPath: logPath, exited: make(chan struct{}), peers: map[string]bool{}}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, binary}, args...)...)
	cmd.Env = childEnv(env)
	w := &logScanner{file: logFile, proc: p}
	cmd.Stdout, cmd.Stderr = w, w
	// ip netns exec execs the binary in place, so the PID is glue-mqtt's; the parent-death signal
	// survives that exec and kills glue-mqtt if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := startOnSpawner(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("integration: %s: starting glue-mqtt: %w", h.Name, err)
	}
	p.cmd, p.PID, p.Started = cmd, cmd.Process.Pid, time.Now()
	go func() {
		p.exitErr = cmd.Wait()
		w.flush()
		logFile.Close()
		close(p.exited)
	}()
	h.proc = p
	return p, nil
}

// Restart starts glue-mqtt again with the environment and arguments of the last Start.
func (h *Host) Restart(binary string) (*Process, error) {
	h.procMu.Lock()
	env, args := h.env, h.args
	h.procMu.Unlock()
	return h.Start(binary, env, args...)
}

// Process returns the host's current (or last) glue-mqtt process, or nil.
func (h *Host) Process() *Process {
	h.procMu.Lock()
	defer h.procMu.Unlock()
	return h.proc
}

// Kill sends SIGKILL to the host's glue-mqtt (by PID) and waits for it to exit.
func (h *Host) Kill() {
	if p := h.Process(); p != nil {
		p.signal(syscall.SIGKILL, 10*time.Second)
	}
}

// Stop asks the host's glue-mqtt to exit (SIGTERM) and kills it if it has not within timeout.
func (h *Host) Stop(timeout time.Duration) {
	if p := h.Process(); p != nil {
		if !p.signal(syscall.SIGTERM, timeout) {
			p.signal(syscall.SIGKILL, 10*time.Second)
		}
	}
}

// signal sends sig and reports whether the process exited within wait.
func (p *Process) signal(sig syscall.Signal, wait time.Duration) bool {
	if p.Exited() {
		return true
	}
	_ = syscall.Kill(p.PID, sig)
	select {
	case <-p.exited:
		return true
	case <-time.After(wait):
		return false
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// ExitError returns how the process ended (nil while it runs).
func (p *Process) ExitError() error {
	if !p.Exited() {
		return nil
	}
	return p.exitErr
}

// RSS returns the process's resident set size in bytes, from /proc/PID/status.
func (p *Process) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return 0, fmt.Errorf("integration: %s: %w", p.host.Name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("integration: %s: VmRSS %q: %w", p.host.Name, rest, err)
				}
				return kb * 1024, nil
			}
		}
	}
	return 0, fmt.Errorf("integration: %s: no VmRSS in /proc/%d/status", p.host.Name, p.PID)
}

// Peers returns the names of the peers the process currently knows, from its log.
func (p *Process) Peers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.peers))
	for n, ok := range p.peers {
		if ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Knows reports whether the process currently knows peer name.
func (p *Process) Knows(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peers[name]
}

// Events returns the peer events logged so far.
func (p *Process) Events() []PeerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PeerEvent(nil), p.events...)
}

// LogLines returns how many log lines the process wrote so far.
func (p *Process) LogLines() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines
}

// Log returns the process's log so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

var (
	peerLine  = regexp.MustCompile(`msg="mesh: peer (joined|restarted|gone)"`)
	nameAttr  = regexp.MustCompile(`\bname=("(?:[^"\\]|\\.)*"|\S+)`)
	reasonArg = regexp.MustCompile(`\breason=(\S+)`)
)

func (p *Process) observe(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines++
	m := peerLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	ev := PeerEvent{Time: time.Now(), Kind: m[1]}
	if n := nameAttr.FindStringSubmatch(line); n != nil {
		ev.Name = n[1]
		if uq, err := strconv.Unquote(n[1]); err == nil {
			ev.Name = uq
		}
	}
	if r := reasonArg.FindStringSubmatch(line); r != nil {
		ev.Reason = r[1]
	}
	p.events = append(p.events, ev)
	p.peers[ev.Name] = ev.Kind != "gone"
}

// logScanner writes a process's output to its log file and feeds whole lines to observe.
type logScanner struct {
	mu      sync.Mutex
	file    *os.File
	proc    *Process
	partial []byte
}

func (w *logScanner) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.file.Write(b)
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.proc.observe(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 1<<20 { // a line that never ends: keep memory bounded
		w.partial = w.partial[:0]
	}
	return len(b), nil
}

func (w *logScanner) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.proc.observe(string(w.partial))
		w.partial = nil
	}
}

// The parent-death signal is sent when the OS thread that forked the child ends, not the process:
// Do discards the OS threads it locks, and any of them may earlier have run a goroutine that
// forked. So every child is forked from one goroutine locked to its own thread for the life of
// the test process, a thread that therefore never ends early.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnRequest
)

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func startOnSpawner(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for req := range spawnReqs {
				req.done <- req.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnReqs <- spawnRequest{cmd, done}
	return <-done
}

// childEnv is the test process's environment without GLUE_* variables (CI exports some for its
// loopback tests), plus env.
func childEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GLUE_") {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func (h *Host) dumpLogTail(lines int) {
	p := h.Process()
	if p == nil {
		return
	}
	all := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	h.lab.t.Logf("netlab: last log lines of %s (boot %d, pid %d, exited %v: %v):\n%s",
		h.Name, p.Boot, p.PID, p.Exited(), p.ExitError(), strings.Join(all, "\n"))
}

// WaitReady waits until the host's glue-mqtt accepts TCP connections on 127.0.0.1:1883, and
// fails early if the process exits.
func (h *Host) WaitReady(ctx context.Context) error {
	p := h.Process()
	if p == nil {
		return fmt.Errorf("integration: %s: no glue-mqtt started", h.Name)
	}
	for {
		if p.Exited() {
			return fmt.Errorf("integration: %s: glue-mqtt exited (%v) before listening:\n%s", h.Name, p.ExitError(), tail(p.Log(), 20))
		}
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := h.DialContext(dctx, "tcp4", "127.0.0.1:1883")
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("integration: %s: MQTT listener not up: %w (last: %v)", h.Name, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
