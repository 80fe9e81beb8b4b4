package reliable

import (
	"testing"
	"time"
)

// BenchmarkSenderCycle is the per-item cost of Enqueue + Next + OnAck (an ACK every 2 items),
// with the window full of in-flight items.
func BenchmarkSenderCycle(b *testing.B) {
	s := NewSender[int](benchConfig())
	now := epoch
	for i := 0; i < 1000; i++ { // fill the pipe
		s.Enqueue(i, 1000, now)
		s.Next(now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		s.Enqueue(i, 1000, now)
		s.Next(now)
		if i%2 == 1 {
			s.OnAck(s.nextSeq-1000, nil, 0, now)
		}
	}
	checkBench(b, s)
}

// BenchmarkChannelWithLoss is the per-item cost of a Sender and Receiver pair joined by a fixed
// pipeline of 500 datagrams each way, dropping one datagram in 1000: ACKs then carry selective
// ranges over hundreds of items for a round trip, which must not cost a walk over them.
func BenchmarkChannelWithLoss(b *testing.B) {
	type datagram struct {
		seq  uint64
		item int
		cum  uint64
		rg   []Range
	}
	const pipe = 500
	s, r := NewSender[int](benchConfig()), NewReceiver[int](benchConfig())
	now := epoch
	var data, acks [pipe]datagram
	var sent int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		s.Enqueue(i, 1000, now)
		slot := i % pipe
		if d := data[slot]; d.seq != 0 {
			r.OnData(d.seq, d.item, now)
			for _, ok := r.Pop(); ok; _, ok = r.Pop() {
			}
		}
		data[slot] = datagram{}
		if seq, item, ok := s.Next(now); ok {
			if sent++; sent%1000 != 0 {
				data[slot] = datagram{seq: seq, item: item}
			}
		}
		if a := acks[slot]; a.cum != 0 || len(a.rg) > 0 {
			s.OnAck(a.cum, a.rg, 0, now)
		}
		acks[slot].cum, acks[slot].rg = 0, acks[slot].rg[:0]
		if r.AckDue(now) {
			acks[slot].cum, acks[slot].rg, _ = r.Ack(now, 32, acks[slot].rg)
		}
		if d := s.Deadline(); !d.IsZero() && !now.Before(d) {
			s.OnTimer(now)
		}
	}
	checkBench(b, s)
}

// benchConfig has a window large enough for the benchmarks' 1000 items in flight.
func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.InitialWindow, cfg.MinWindow, cfg.MaxWindow, cfg.MaxQueuedBytes = 8<<20, 8<<20, 8<<20, 64<<20
	cfg.GiveUpAfter = time.Hour
	return cfg
}

func checkBench(b *testing.B, s *Sender[int]) {
	b.StopTimer()
	if st := s.Stats(); st.Sent+st.Retransmitted < uint64(b.N) || st.Acked+5000 < uint64(b.N) {
		b.Fatalf("benchmark did not cycle: %+v for N=%d", st, b.N)
	}
}

// BenchmarkReceiver is the per-item cost of OnData + Pop + Ack (every 2 items).
func BenchmarkReceiver(b *testing.B) {
	r := NewReceiver[int](DefaultConfig())
	now := epoch
	dst := make([]Range, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		r.OnData(uint64(i+1), i, now)
		r.Pop()
		if r.AckDue(now) {
			r.Ack(now, 32, dst[:0])
		}
	}
}
