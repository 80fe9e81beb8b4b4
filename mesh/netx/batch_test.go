package netx

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBatchRoundTrip(t *testing.T) {
	ifi := loopback(t)
	src, dst := listenData(t, ifi), listenData(t, ifi)
	const total, batch = 100, 16
	w := NewBatchWriter(src, batch)
	buf := make([]byte, 8)
	for i := range total {
		// Reusing buf for every Queue proves Queue copies the payload.
		binary.BigEndian.PutUint64(buf, uint64(i))
		w.Queue(buf, addrPort(dst))
		if w.Len() >= batch {
			t.Fatalf("writer holds %d datagrams, bound is %d", w.Len(), batch)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Len() != 0 {
		t.Fatalf("%d datagrams queued after Flush", w.Len())
	}

	r := NewBatchReader(dst, batch, 1500)
	seen := make(map[uint64]bool)
	if err := dst.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	for len(seen) < total {
		err := r.Read(func(b []byte, from netip.AddrPort) {
			if from != addrPort(src) || len(b) != 8 {
				t.Errorf("datagram of %d bytes from %v, want 8 bytes from %v", len(b), from, addrPort(src))
				return
			}
			seen[binary.BigEndian.Uint64(b)] = true
		})
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(seen), err)
		}
	}
	for i := range uint64(total) {
		if !seen[i] {
			t.Fatalf("datagram %d missing", i)
		}
	}
}

// One datagram the kernel refuses must not cost the others in the batch.
func TestBatchFlushSkipsRefusedDatagram(t *testing.T) {
	ifi := loopback(t)
	src, dst := listenData(t, ifi), listenData(t, ifi)
	w := NewBatchWriter(src, 8)
	w.Queue([]byte("first"), addrPort(dst))
	w.Queue(make([]byte, 70000), addrPort(dst)) // larger than any IPv4 datagram: EMSGSIZE
	w.Queue([]byte("last"), addrPort(dst))
	err := w.Flush()
	if err == nil || !strings.HasPrefix(err.Error(), "netx: ") {
		t.Fatalf("Flush error = %v, want a netx error for the oversized datagram", err)
	}
	for _, want := range []string{"first", "last"} {
		if got, _ := readOne(t, dst); string(got) != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
}

func TestBatchReaderReportsDeadline(t *testing.T) {
	c := listenData(t, loopback(t))
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	err := NewBatchReader(c, 4, 64).Read(func([]byte, netip.AddrPort) { t.Error("no datagram was sent") })
	if err == nil || !strings.HasPrefix(err.Error(), "netx: ") {
		t.Fatalf("Read error = %v, want a netx timeout error", err)
	}
}
