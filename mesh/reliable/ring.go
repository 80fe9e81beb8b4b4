package reliable

// ring holds one element per sequence number for a sliding window of sequence numbers, indexed
// by seq modulo its power-of-two size. It starts small and doubles on demand up to the window
// size, so an idle peer costs little memory.
type ring[E any] struct {
	slots []E
	mask  uint64
}

const initialRingSize = 64

func newRing[E any]() ring[E] {
	return ring[E]{slots: make([]E, initialRingSize), mask: initialRingSize - 1}
}

func (r *ring[E]) at(seq uint64) *E { return &r.slots[seq&r.mask] }

// fit makes room for sequence numbers [lo, need) while the live ones are [lo, end). The caller
// bounds need-lo by the window, which bounds the ring.
func (r *ring[E]) fit(lo, end, need uint64) {
	if need-lo <= uint64(len(r.slots)) {
		return
	}
	size := uint64(len(r.slots))
	for size < need-lo {
		size *= 2
	}
	slots := make([]E, size)
	for s := lo; s < end; s++ {
		slots[s&(size-1)] = r.slots[s&r.mask]
	}
	r.slots, r.mask = slots, size-1
}

// fifo is a growable ring-buffer queue. Its length is bounded by its users (bytes or window).
type fifo[E any] struct {
	buf  []E
	head int
	n    int
}

func (q *fifo[E]) len() int { return q.n }

func (q *fifo[E]) push(e E) {
	if q.n == len(q.buf) {
		buf := make([]E, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
}

func (q *fifo[E]) peek() E { return q.buf[q.head] }

func (q *fifo[E]) pop() E {
	var zero E
	e := q.buf[q.head]
	q.buf[q.head] = zero // release for the garbage collector
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.n == 0 && len(q.buf) > 1024 {
		q.buf, q.head = nil, 0 // a burst is over: give the memory back
	}
	return e
}

func (q *fifo[E]) clear() { *q = fifo[E]{} }
