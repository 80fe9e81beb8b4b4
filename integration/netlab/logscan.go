package netlab

import (
	"bytes"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// PeerEvent is one "mesh: peer ..." log line of a glue-mqtt process.
type PeerEvent struct {
	Time   time.Time // when the harness read the line
	Logged time.Time // the line's own time= (glue-mqtt's clock, ms resolution); zero if absent
	Kind   string    // joined, restarted, gone
	Name   string    // the peer's endpoint name
	Reason string    // for gone: left, expired, restarted
}

// At is when the event happened: the logged time when the line has one, else when it was read.
func (ev PeerEvent) At() time.Time {
	if !ev.Logged.IsZero() {
		return ev.Logged
	}
	return ev.Time
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

// ImpairmentDigest returns the digest (faultnet.Digest) of the impairment rules file version the
// process last logged as in force, and whether it logged any.
func (p *Process) ImpairmentDigest() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.impairDigest, p.impairLoads > 0
}

// Log returns the process's log so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

var (
	peerLine   = regexp.MustCompile(`msg="mesh: peer (joined|restarted|gone)"`)
	impairLine = regexp.MustCompile(`msg="faultnet: impairment rules (?:loaded|missing)".* digest=([0-9a-f]+)`)
	timeAttr   = regexp.MustCompile(`^time=(\S+)`)
	nameAttr   = regexp.MustCompile(`\bname=("(?:[^"\\]|\\.)*"|\S+)`)
	reasonArg  = regexp.MustCompile(`\breason=(\S+)`)
)

func (p *Process) observe(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines++
	if m := impairLine.FindStringSubmatch(line); m != nil {
		p.impairDigest = m[1]
		p.impairLoads++
		return
	}
	m := peerLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	ev := PeerEvent{Time: time.Now(), Kind: m[1]}
	if t := timeAttr.FindStringSubmatch(line); t != nil {
		if at, err := time.Parse(time.RFC3339Nano, t[1]); err == nil {
			ev.Logged = at
		}
	}
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
