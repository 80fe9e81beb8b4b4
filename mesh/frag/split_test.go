package frag

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func randomMessage(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	msg := make([]byte, n)
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	return msg
}

func TestSplitReassembleRoundTrip(t *testing.T) {
	const chunk = 1400
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 16 << 20} {
		msg := randomMessage(size, uint64(size))
		frags := Split(7, msg, chunk)
		if want := Count(size, chunk); len(frags) != want {
			t.Fatalf("size %d: %d fragments, Count says %d", size, len(frags), want)
		}
		r := NewReassembler[string](DefaultConfig())
		var got []byte
		for i, f := range frags {
			if f.Count != uint32(len(frags)) || f.Index != uint32(i) || len(f.Data) > chunk {
				t.Fatalf("size %d: fragment %d = index %d count %d len %d", size, i, f.Index, f.Count, len(f.Data))
			}
			buf := append([]byte(nil), f.Data...) // the caller's buffer, reused below
			f.Data = buf
			m, complete, err := r.Add("a", f, epoch)
			clear(buf)
			if err != nil {
				t.Fatalf("size %d: fragment %d: %v", size, i, err)
			}
			if complete != (i == len(frags)-1) {
				t.Fatalf("size %d: complete=%v at fragment %d of %d", size, complete, i, len(frags))
			}
			got = m
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("size %d: reassembled message differs", size)
		}
		if r.Used() != 0 || r.Partials() != 0 {
			t.Fatalf("size %d: Used %d, Partials %d after completion", size, r.Used(), r.Partials())
		}
	}
}

func TestSplitAliasesAndEdgeCases(t *testing.T) {
	msg := []byte("abcdefghij")
	frags := Split(1, msg, 4)
	if len(frags) != 3 || string(frags[2].Data) != "ij" {
		t.Fatalf("Split = %+v", frags)
	}
	msg[0] = 'X'
	if frags[0].Data[0] != 'X' {
		t.Error("fragment data does not alias the message")
	}
	if f := Split(1, nil, 4); len(f) != 1 || f[0].Count != 1 || len(f[0].Data) != 0 {
		t.Errorf("empty message: %+v", f)
	}
	if Count(10, 0) != 10 || len(Split(1, msg, 0)) != 10 {
		t.Error("maxChunk 0 should count as 1")
	}
	if Count(8, 4) != 2 || Count(9, 4) != 3 || Count(0, 4) != 1 {
		t.Error("Count is not ceil")
	}
}

func TestOutOfOrderAndDuplicates(t *testing.T) {
	msg := randomMessage(10*100+37, 3)
	frags := Split(9, msg, 100)
	rng := rand.New(rand.NewPCG(4, 4))
	order := rng.Perm(len(frags))
	r := NewReassembler[int](DefaultConfig())
	var got []byte
	for n, i := range order {
		if n > 0 { // a duplicate of something already held
			if m, complete, err := r.Add(1, frags[order[n-1]], epoch); m != nil || complete || err != nil {
				t.Fatalf("duplicate: %v %v %v", m, complete, err)
			}
		}
		m, complete, err := r.Add(1, frags[i], epoch)
		if err != nil {
			t.Fatal(err)
		}
		if complete {
			got = m
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("out-of-order reassembly differs")
	}
	if r.Used() != 0 || r.Partials() != 0 {
		t.Fatalf("Used %d, Partials %d", r.Used(), r.Partials())
	}
}
