package faultnet

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Impairment says how to damage outgoing datagrams.
type Impairment struct {
	Loss      float64       // probability a datagram is dropped
	Duplicate float64       // probability a datagram is sent twice
	Reorder   float64       // probability a datagram gets an extra delay of 2 x (Delay + Jitter) + 1ms, so later ones overtake it
	Delay     time.Duration // base delay of every datagram
	Jitter    time.Duration // uniform extra delay in [0, Jitter)
}

// Zero reports whether the impairment does nothing.
func (im Impairment) Zero() bool { return im == Impairment{} }

// Parse reads "loss=0.1,dup=0.05,delay=2ms,jitter=3ms,reorder=0.1" (any subset, any order).
func Parse(s string) (Impairment, error) {
	var im Impairment
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return im, fmt.Errorf("faultnet: %q: want key=value", kv)
		}
		var err error
		switch k {
		case "loss":
			im.Loss, err = probability(v)
		case "dup":
			im.Duplicate, err = probability(v)
		case "reorder":
			im.Reorder, err = probability(v)
		case "delay":
			im.Delay, err = time.ParseDuration(v)
		case "jitter":
			im.Jitter, err = time.ParseDuration(v)
		default:
			return im, fmt.Errorf("faultnet: unknown impairment %q (want loss, dup, reorder, delay, jitter)", k)
		}
		if err != nil {
			return im, fmt.Errorf("faultnet: %s: %w", k, err)
		}
		if im.Delay < 0 || im.Jitter < 0 {
			return im, fmt.Errorf("faultnet: %s: negative duration", k)
		}
	}
	return im, nil
}

func probability(v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("%q is not a probability in [0,1]", v)
	}
	return p, nil
}

// PacketConn is the socket interface faultnet wraps (the mesh's PacketConn).
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	Close() error
}

// maxHeld bounds the datagrams waiting for their delay.
const maxHeld = 65536

// Conn impairs the datagrams written to the wrapped socket.
type Conn struct {
	PacketConn
	im Impairment

	mu      sync.Mutex
	rng     *rand.Rand
	held    pending
	wakeup  chan struct{}
	closed  chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	dropped uint64
}

// Wrap returns c impaired by im.
func Wrap(c PacketConn, im Impairment, seed uint64) *Conn {
	w := &Conn{PacketConn: c, im: im, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wakeup: make(chan struct{}, 1), closed: make(chan struct{})}
	w.wg.Add(1)
	go w.sendLoop()
	return w
}

// WriteToUDPAddrPort sends b to addr, impaired. It never blocks on the impairment.
func (w *Conn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	w.mu.Lock()
	lost := w.rng.Float64() < w.im.Loss
	copies := 1
	if w.rng.Float64() < w.im.Duplicate {
		copies = 2
	}
	delays := make([]time.Duration, 0, 2)
	for range copies {
		d := w.im.Delay
		if w.im.Jitter > 0 {
			d += time.Duration(w.rng.Int64N(int64(w.im.Jitter)))
		}
		if w.rng.Float64() < w.im.Reorder {
			d += 2*(w.im.Delay+w.im.Jitter) + time.Millisecond
		}
		delays = append(delays, d)
	}
	w.mu.Unlock()
	if lost {
		return len(b), nil
	}
	for _, d := range delays {
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
		w.dropped++
		w.mu.Unlock()
		return
	}
	heap.Push(&w.held, heldDatagram{b: append([]byte(nil), b...), to: addr, at: at})
	w.mu.Unlock()
	select {
	case w.wakeup <- struct{}{}:
	default:
	}
}

// sendLoop sends held datagrams when their time comes.
func (w *Conn) sendLoop() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		var due []heldDatagram
		now := time.Now()
		for len(w.held) > 0 && !w.held[0].at.After(now) {
			due = append(due, heap.Pop(&w.held).(heldDatagram))
		}
		next := time.Hour
		if len(w.held) > 0 {
			next = w.held[0].at.Sub(now)
		}
		w.mu.Unlock()
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
