package netx

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/net/ipv4"
)

// BatchReader receives up to n datagrams per system call (recvmmsg). It owns its buffers and
// reuses them on every Read; it is not safe for concurrent use.
type BatchReader struct {
	pc   *ipv4.PacketConn
	msgs []ipv4.Message
}

// NewBatchReader reads from c in batches of up to n datagrams of up to bufSize bytes each;
// longer datagrams are truncated, so bufSize should exceed the largest datagram expected.
func NewBatchReader(c *net.UDPConn, n, bufSize int) *BatchReader {
	n = max(n, 1)
	msgs := make([]ipv4.Message, n)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, bufSize)}
	}
	return &BatchReader{pc: ipv4.NewPacketConn(c), msgs: msgs}
}

// Read blocks until at least one datagram arrives (or the connection's read deadline passes),
// then calls fn for each datagram received by one recvmmsg. b is only valid during the call to
// fn: the buffer is reused by the next Read.
func (r *BatchReader) Read(fn func(b []byte, from netip.AddrPort)) error {
	n, err := r.pc.ReadBatch(r.msgs, 0)
	if err != nil {
		return fmt.Errorf("netx: read batch: %w", err)
	}
	for i := range r.msgs[:n] {
		m := &r.msgs[i]
		ua, ok := m.Addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		from := ua.AddrPort()
		fn(m.Buffers[0][:m.N], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
	return nil
}

// BatchWriter queues datagrams and sends them with as few sendmmsg calls as possible. It is
// bounded: queuing the n-th datagram flushes the batch. It is not safe for concurrent use.
type BatchWriter struct {
	pc     *ipv4.PacketConn
	msgs   []ipv4.Message
	bufs   [][]byte       // per-slot payload copies, grown as needed and reused
	addrs  []*net.UDPAddr // per-slot destinations, reused so a flush does not allocate
	queued int
	err    error // first error of an automatic flush inside Queue, reported by the next Flush
}

// NewBatchWriter writes to c in batches of up to n datagrams.
func NewBatchWriter(c *net.UDPConn, n int) *BatchWriter {
	n = max(n, 1)
	w := &BatchWriter{
		pc:    ipv4.NewPacketConn(c),
		msgs:  make([]ipv4.Message, n),
		bufs:  make([][]byte, n),
		addrs: make([]*net.UDPAddr, n),
	}
	for i := range w.addrs {
		w.addrs[i] = &net.UDPAddr{IP: make(net.IP, 4)}
	}
	return w
}

// Queue copies b, so the caller may reuse it at once, and queues it for to. When the batch is
// full it is flushed; an error of that flush is kept and returned by the next Flush.
func (w *BatchWriter) Queue(b []byte, to netip.AddrPort) {
	i := w.queued
	w.bufs[i] = append(w.bufs[i][:0], b...)
	a := w.addrs[i]
	if ip := to.Addr().Unmap(); ip.Is4() {
		v4 := ip.As4()
		a.IP = append(a.IP[:0], v4[:]...)
	} else {
		a.IP = ip.AsSlice() // not sendable on a udp4 socket: the flush reports it
	}
	a.Port = int(to.Port())
	w.msgs[i].Buffers = w.bufs[i : i+1]
	w.msgs[i].Addr = a
	w.queued++
	if w.queued == len(w.msgs) {
		if err := w.Flush(); err != nil && w.err == nil {
			w.err = err
		}
	}
}

// Len reports how many datagrams are queued.
func (w *BatchWriter) Len() int { return w.queued }

// Flush sends every queued datagram. Like UDP itself it does not let one bad datagram hold back
// the others: a datagram the kernel refuses is skipped, and the first such error is returned
// (together with any error kept from an automatic flush).
func (w *BatchWriter) Flush() error {
	var firstErr error
	pending := w.msgs[:w.queued]
	for len(pending) > 0 {
		n, err := w.pc.WriteBatch(pending, 0)
		n = min(max(n, 0), len(pending)) // the syscall reports -1 on error
		if err == nil {
			pending = pending[n:]
			continue
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("netx: write batch to %v: %w", pending[min(n, len(pending)-1)].Addr, err)
		}
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
			break // nothing more can be sent
		}
		// Skip the datagram the kernel refused (e.g. too large, or blocked by a firewall).
		pending = pending[min(n+1, len(pending)):]
	}
	w.queued = 0
	err := errors.Join(w.err, firstErr)
	w.err = nil
	return err
}
