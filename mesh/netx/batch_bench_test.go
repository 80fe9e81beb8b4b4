package netx

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// burst is how many datagrams are sent before they are read back. It keeps the benchmark
// lossless (64 x 1400 B fits the socket buffer) and free of goroutines: each iteration of a
// burst is one write and one read, so ns/op is the cost of moving one datagram.
const burst = 64

func benchPair(b *testing.B) (src, dst *net.UDPConn) {
	ifi, err := ResolveInterface("lo")
	if err != nil {
		b.Fatal(err)
	}
	if src, err = ListenData(ifi, ""); err != nil {
		b.Fatal(err)
	}
	if dst, err = ListenData(ifi, ""); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close(); dst.Close() })
	if err := dst.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	return src, dst
}

func BenchmarkLoopback(b *testing.B) {
	for _, size := range []int{64, 1400} {
		b.Run("plain/"+strconv.Itoa(size), func(b *testing.B) { benchPlain(b, size) })
		b.Run("batch/"+strconv.Itoa(size), func(b *testing.B) { benchBatch(b, size) })
	}
}

func benchPlain(b *testing.B, size int) {
	src, dst := benchPair(b)
	to := addrPort(dst)
	payload, buf := make([]byte, size), make([]byte, 2048)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for done := 0; done < b.N; {
		n := min(burst, b.N-done)
		for range n {
			if _, err := src.WriteToUDPAddrPort(payload, to); err != nil {
				b.Fatal(err)
			}
		}
		for range n {
			if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
}

func benchBatch(b *testing.B, size int) {
	src, dst := benchPair(b)
	to := addrPort(dst)
	payload := make([]byte, size)
	w, r := NewBatchWriter(src, burst), NewBatchReader(dst, burst, 2048)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for done := 0; done < b.N; {
		n := min(burst, b.N-done)
		for range n {
			w.Queue(payload, to)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < n; {
			if err := r.Read(func([]byte, netip.AddrPort) { got++ }); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
}
