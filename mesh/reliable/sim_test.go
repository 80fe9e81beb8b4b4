package reliable

import (
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"
)

// This file is a small discrete-event simulator: a Sender and a Receiver joined by two lossy,
// duplicating, reordering links. Simulated time only moves forward to the next event or
// deadline; nothing sleeps.

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// simLink decides the fate of each datagram: lost, delivered once, or duplicated, each copy
// after a random delay. With inOrder, arrivals keep send order (jitter but no reordering).
type simLink struct {
	rng                *rand.Rand
	loss, dup          float64
	minDelay, maxDelay time.Duration
	inOrder            bool
	lastArrival        time.Time
	sent, dropped      int
}

func (l *simLink) arrivals(now time.Time) []time.Time {
	l.sent++
	if l.rng.Float64() < l.loss {
		l.dropped++
		return nil
	}
	copies := 1
	if l.rng.Float64() < l.dup {
		copies = 2
	}
	out := make([]time.Time, 0, copies)
	for range copies {
		d := l.minDelay
		if l.maxDelay > l.minDelay {
			d += time.Duration(l.rng.Int64N(int64(l.maxDelay - l.minDelay)))
		}
		at := now.Add(d)
		if l.inOrder && at.Before(l.lastArrival) {
			at = l.lastArrival
		}
		l.lastArrival = at
		out = append(out, at)
	}
	return out
}

type simEvent struct {
	at     time.Time
	order  int // ties broken by scheduling order
	isData bool
	seq    uint64
	item   int
	cum    uint64
	ranges []Range
	delay  time.Duration
}

type eventQueue []simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].order < q[j].order
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type simulation struct {
	t         testing.TB
	now       time.Time
	snd       *Sender[int]
	rcv       *Receiver[int]
	fwd, back simLink
	events    eventQueue
	order     int
	maxRanges int
	itemSize  int
	delivered int
	enqueued  int
}

func newSimulation(t testing.TB, cfg Config, seed uint64) *simulation {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &simulation{
		t: t, now: epoch,
		snd: NewSender[int](cfg), rcv: NewReceiver[int](cfg),
		fwd:       simLink{rng: rng, minDelay: time.Millisecond, maxDelay: time.Millisecond},
		back:      simLink{rng: rng, minDelay: time.Millisecond, maxDelay: time.Millisecond},
		maxRanges: 32, itemSize: 1000,
	}
}

func (sim *simulation) schedule(e simEvent) {
	sim.order++
	e.order = sim.order
	heap.Push(&sim.events, e)
}

// transfer moves items (numbered from 0, continuing across calls) through the channel until every one has been delivered and
// acked, failing on disorder, loss, duplication, stall or timeout. It returns the simulated
// duration.
func (sim *simulation) transfer(n int, limit time.Duration) time.Duration {
	sim.t.Helper()
	start := sim.now
	for sim.delivered < n || sim.snd.Pending() {
		if sim.now.Sub(start) > limit {
			sim.t.Fatalf("not done after %v: delivered %d/%d, stats %+v", limit, sim.delivered, n, sim.snd.Stats())
		}
		for sim.enqueued < n && sim.snd.Enqueue(sim.enqueued, sim.itemSize, sim.now) {
			sim.enqueued++
		}
		sim.flush()
		if err := sim.snd.Failed(sim.now); err != nil {
			sim.t.Fatalf("sender failed: %v", err)
		}
		next := earliest(sim.snd.Deadline(), sim.rcv.AckDeadline())
		if sim.events.Len() > 0 {
			next = earliest(next, sim.events[0].at)
		}
		if next.IsZero() {
			if sim.delivered < n || sim.snd.Pending() {
				sim.t.Fatalf("stalled: delivered %d/%d, stats %+v", sim.delivered, n, sim.snd.Stats())
			}
			break
		}
		if next.After(sim.now) {
			sim.now = next
		}
		for sim.events.Len() > 0 && !sim.events[0].at.After(sim.now) {
			sim.handle(heap.Pop(&sim.events).(simEvent))
		}
		if d := sim.snd.Deadline(); !d.IsZero() && !sim.now.Before(d) {
			sim.snd.OnTimer(sim.now)
		}
	}
	if sim.delivered != n {
		sim.t.Fatalf("delivered %d items, want %d", sim.delivered, n)
	}
	return sim.now.Sub(start)
}

// flush is the end of a loop turn: send what the sender allows, and an ACK if one is due.
func (sim *simulation) flush() {
	for {
		seq, item, ok := sim.snd.Next(sim.now)
		if !ok {
			break
		}
		for _, at := range sim.fwd.arrivals(sim.now) {
			sim.schedule(simEvent{at: at, isData: true, seq: seq, item: item})
		}
	}
	if sim.rcv.AckDue(sim.now) {
		cum, ranges, delay := sim.rcv.Ack(sim.now, sim.maxRanges, nil)
		if len(ranges) > sim.maxRanges {
			sim.t.Fatalf("ack with %d ranges, max %d", len(ranges), sim.maxRanges)
		}
		for _, at := range sim.back.arrivals(sim.now) {
			sim.schedule(simEvent{at: at, cum: cum, ranges: ranges, delay: delay})
		}
	}
}

func (sim *simulation) handle(e simEvent) {
	if !e.isData {
		sim.snd.OnAck(e.cum, e.ranges, e.delay, sim.now)
		return
	}
	if e.seq == 0 || int(e.seq) != e.item+1 {
		sim.t.Fatalf("item %d carried sequence number %d; want item+1", e.item, e.seq)
	}
	sim.rcv.OnData(e.seq, e.item, sim.now)
	for {
		item, ok := sim.rcv.Pop()
		if !ok {
			break
		}
		if item != sim.delivered {
			sim.t.Fatalf("delivered item %d, want %d (out of order or duplicated)", item, sim.delivered)
		}
		sim.delivered++
	}
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
