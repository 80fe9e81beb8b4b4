package netlab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

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

	mu           sync.Mutex
	peers        map[string]bool
	events       []PeerEvent
	lines        int
	killedAt     time.Time // when Kill sent SIGKILL
	impairDigest string    // of the impairment rules last logged as in force
	impairLoads  int
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

// KilledAt is when Kill sent the process SIGKILL (zero if it did not).
func (p *Process) KilledAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killedAt
}

// signal sends sig and reports whether the process exited within wait.
func (p *Process) signal(sig syscall.Signal, wait time.Duration) bool {
	if p.Exited() {
		return true
	}
	if sig == syscall.SIGKILL {
		p.mu.Lock()
		if p.killedAt.IsZero() {
			p.killedAt = time.Now()
		}
		p.mu.Unlock()
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
