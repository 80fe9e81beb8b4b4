package memnet

import (
	"container/heap"
	"time"
)

// flight is a delayed copy of a datagram.
type flight struct {
	due time.Time
	seq uint64 // send order, so equal delays keep FIFO order
	d   datagram
	to  *Conn
}

// scheduler holds delayed datagrams in a heap ordered by arrival time and keeps one
// time.AfterFunc timer armed for the earliest: no goroutine exists between arrivals, and in a
// synctest bubble the timer runs on fake time. It is guarded by Network.mu.
type scheduler struct {
	flights flightHeap
	seq     uint64
	timer   *time.Timer
	armed   time.Time // when the timer fires; zero if disarmed
	due     []flight  // reused result buffer of popDue
}

func (s *scheduler) len() int { return len(s.flights) }

func (s *scheduler) push(f flight, fire func()) {
	s.seq++
	f.seq = s.seq
	heap.Push(&s.flights, f)
	s.arm(fire)
}

// popDue removes and returns the flights due at now (valid until the next call) and re-arms
// the timer for the rest.
func (s *scheduler) popDue(now time.Time, fire func()) []flight {
	s.due = s.due[:0]
	for len(s.flights) > 0 && !s.flights[0].due.After(now) {
		s.due = append(s.due, heap.Pop(&s.flights).(flight))
	}
	s.armed = time.Time{}
	s.arm(fire)
	return s.due
}

// arm makes sure the timer fires no later than the earliest flight.
func (s *scheduler) arm(fire func()) {
	if len(s.flights) == 0 {
		return
	}
	next := s.flights[0].due
	if !s.armed.IsZero() && !next.Before(s.armed) {
		return
	}
	s.armed = next
	d := time.Until(next)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, fire)
		return
	}
	s.timer.Reset(d)
}

type flightHeap []flight

func (h flightHeap) Len() int { return len(h) }
func (h flightHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h flightHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *flightHeap) Push(x any)   { *h = append(*h, x.(flight)) }
func (h *flightHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = flight{} // drop references for the GC
	*h = old[:len(old)-1]
	return f
}
