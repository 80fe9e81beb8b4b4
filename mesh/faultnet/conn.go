package faultnet

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"time"
)

// PacketConn is the socket interface faultnet wraps (the mesh's PacketConn).
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	Close() error
}

// maxHeld bounds the datagrams waiting for their delay.
const maxHeld = 65536

// PollInterval is how often, at most, the rules file is checked for a change.
const PollInterval = 200 * time.Millisecond

// maxRulesFile bounds the size of a rules file that is read.
const maxRulesFile = 1 << 20

// Options configure a Conn beyond its base impairment.
type Options struct {
	// Seed makes the random choices repeatable.
	Seed uint64
	// RulesFile, when set, names a file of per-destination rules (see ParseRules). For the
	// destinations a rule matches, the rule's impairment replaces the base one. The file is read
	// by New, and read again by the sending goroutine whenever its modification time, size or
	// identity changes, checked at most every PollInterval; write it atomically (a new file
	// renamed over the old one). A missing file means no rules. A later version that does not
	// parse is logged and counted, and the rules in force stay.
	RulesFile string
	// Logger receives the rules file's loads and errors. Default: slog.Default().
	Logger *slog.Logger
}

// Stats count what a Conn did to the datagrams written to it. A duplicated datagram counts its
// copies apiece in Delayed and Reordered.
type Stats struct {
	Datagrams    uint64 // written to the Conn
	Dropped      uint64 // lost on purpose (loss)
	Duplicated   uint64 // sent twice (dup)
	Delayed      uint64 // copies held back for a delay (delay, jitter, reorder)
	Reordered    uint64 // copies held back long enough for later ones to overtake them (reorder)
	Overflow     uint64 // delayed copies dropped because too many were held already
	RuleLoads    uint64 // versions of the rules file put in force (the first read included)
	RuleErrors   uint64 // versions of the rules file that could not be read or parsed
	RulesInForce int    // rules of the version in force
}

// Conn impairs the datagrams written to the wrapped socket.
type Conn struct {
	PacketConn
	base Impairment
	file string
	log  *slog.Logger

	mu     sync.Mutex
	rng    *rand.Rand
	rules  Rules
	stats  Stats
	held   pending
	wakeup chan struct{}
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	// Owned by the sending goroutine (and New, before it starts).
	fileInfo os.FileInfo // the version in force (nil: none yet, or no file)
	nextPoll time.Time
}

// Wrap returns c impaired by im on every datagram.
func Wrap(c PacketConn, im Impairment, seed uint64) *Conn {
	w, _ := New(c, im, Options{Seed: seed}) // no rules file: cannot fail
	return w
}

// New returns c impaired by base, and per destination by the rules of opts.RulesFile. It fails
// when the rules file exists but cannot be read or parsed.
func New(c PacketConn, base Impairment, opts Options) (*Conn, error) {
	w := &Conn{PacketConn: c, base: base, file: opts.RulesFile, log: opts.Logger,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		wakeup: make(chan struct{}, 1), closed: make(chan struct{})}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.file != "" {
		now := time.Now()
		if err := w.pollRules(now); err != nil {
			return nil, err
		}
	}
	w.wg.Add(1)
	go w.sendLoop()
	return w, nil
}

// Stats returns the counts so far.
func (w *Conn) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.RulesInForce = len(w.rules)
	return s
}

// WriteToUDPAddrPort sends b to addr, impaired. It never blocks on the impairment.
func (w *Conn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	var delays [2]time.Duration
	w.mu.Lock()
	w.stats.Datagrams++
	im := w.base
	if r, ok := w.rules.For(addr.Addr()); ok {
		im = r
	}
	if im.Zero() {
		w.mu.Unlock()
		return w.PacketConn.WriteToUDPAddrPort(b, addr)
	}
	if w.rng.Float64() < im.Loss {
		w.stats.Dropped++
		w.mu.Unlock()
		return len(b), nil
	}
	copies := 1
	if w.rng.Float64() < im.Duplicate {
		copies = 2
		w.stats.Duplicated++
	}
	for i := range copies {
		d := im.Delay
		if im.Jitter > 0 {
			d += time.Duration(w.rng.Int64N(int64(im.Jitter)))
		}
		if w.rng.Float64() < im.Reorder {
			d += 2*(im.Delay+im.Jitter) + time.Millisecond
			w.stats.Reordered++
		}
		delays[i] = d
	}
	w.mu.Unlock()
	for _, d := range delays[:copies] {
		if d <= 0 {
			if _, err := w.PacketConn.WriteToUDPAddrPort(b, addr); err != nil {
				return 0, err
			}
			continue
		}
		w.hold(b, addr, time.Now().Add(d))
	}
	return len(b), nil
}

func (w *Conn) hold(b []byte, addr netip.AddrPort, at time.Time) {
	w.mu.Lock()
	if len(w.held) >= maxHeld {
		w.stats.Overflow++
		w.mu.Unlock()
		return
	}
	w.stats.Delayed++
	heap.Push(&w.held, heldDatagram{b: append([]byte(nil), b...), to: addr, at: at})
	w.mu.Unlock()
	select {
	case w.wakeup <- struct{}{}:
	default:
	}
}

// sendLoop sends held datagrams when their time comes, and watches the rules file.
func (w *Conn) sendLoop() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if w.file != "" && !now.Before(w.nextPoll) {
			_ = w.pollRules(now) // logged and counted
		}
		w.mu.Lock()
		var due []heldDatagram
		for len(w.held) > 0 && !w.held[0].at.After(now) {
			due = append(due, heap.Pop(&w.held).(heldDatagram))
		}
		next := time.Hour
		if len(w.held) > 0 {
			next = w.held[0].at.Sub(now)
		}
		w.mu.Unlock()
		if w.file != "" {
			next = min(next, w.nextPoll.Sub(now))
		}
		for _, d := range due {
			w.PacketConn.WriteToUDPAddrPort(d.b, d.to)
		}
		timer.Reset(next)
		select {
		case <-timer.C:
		case <-w.wakeup:
		case <-w.closed:
			return
		}
	}
}

// pollRules puts a changed rules file in force; now is the time of the check. It reports why a
// changed version could not be put in force.
func (w *Conn) pollRules(now time.Time) error {
	w.nextPoll = now.Add(PollInterval)
	fi, err := os.Stat(w.file)
	if errors.Is(err, os.ErrNotExist) {
		if w.fileInfo == nil && w.Stats().RuleLoads > 0 {
			return nil // still gone
		}
		w.fileInfo = nil
		w.install(nil, nil, "missing")
		return nil
	}
	if err == nil && w.fileInfo != nil && os.SameFile(fi, w.fileInfo) &&
		fi.ModTime().Equal(w.fileInfo.ModTime()) && fi.Size() == w.fileInfo.Size() {
		return nil // unchanged
	}
	var content []byte
	if err == nil {
		content, err = readBounded(w.file)
	}
	var rules Rules
	if err == nil {
		rules, err = ParseRules(string(content))
	}
	if err != nil {
		w.fileInfo = fi // report a broken version once, not at every poll
		w.mu.Lock()
		w.stats.RuleErrors++
		w.mu.Unlock()
		err = fmt.Errorf("faultnet: rules file %s: %w", w.file, err)
		w.log.Warn("faultnet: impairment rules not loaded, the previous ones stay", "file", w.file, "error", err)
		return err
	}
	w.fileInfo = fi
	w.install(rules, content, "loaded")
	return nil
}

func (w *Conn) install(rules Rules, content []byte, how string) {
	w.mu.Lock()
	w.rules = rules
	w.stats.RuleLoads++
	w.mu.Unlock()
	w.log.Info("faultnet: impairment rules "+how, "file", w.file, "rules", len(rules), "digest", Digest(content))
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRulesFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRulesFile {
		return nil, fmt.Errorf("larger than %d bytes", maxRulesFile)
	}
	return b, nil
}

// Close closes the socket and stops the sender; held datagrams are lost.
func (w *Conn) Close() error {
	err := w.PacketConn.Close()
	w.once.Do(func() { close(w.closed) })
	w.wg.Wait()
	return err
}

type heldDatagram struct {
	b  []byte
	to netip.AddrPort
	at time.Time
}

type pending []heldDatagram

func (p pending) Len() int           { return len(p) }
func (p pending) Less(i, j int) bool { return p[i].at.Before(p[j].at) }
func (p pending) Swap(i, j int)      { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)        { *p = append(*p, x.(heldDatagram)) }
func (p *pending) Pop() any {
	old := *p
	x := old[len(old)-1]
	*p = old[:len(old)-1]
	return x
}
