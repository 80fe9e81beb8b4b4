package frag

import (
	"testing"
	"time"
)

// FuzzReassemble feeds arbitrary fragment sequences from a few sources: no panic, Used never
// exceeds the budget, and everything is returned after Expire far in the future.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 5, 1, 1, 3, 5, 1, 2, 3, 2})
	f.Add([]byte{1, 9, 0, 200, 255, 0, 9, 199, 200, 1, 2, 255, 7, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := Config{MaxMessage: 4096, Budget: 3000, Timeout: time.Second, MaxPartials: 8}
		r := NewReassembler[byte](cfg)
		now := time.Unix(0, 0)
		for len(in) >= 5 {
			src, id, idx, count, size := in[0]%4, uint64(in[1]%8), uint32(in[2]), uint32(in[3]), int(in[4])
			in = in[5:]
			if src == 3 {
				now = now.Add(time.Duration(id) * 100 * time.Millisecond)
				r.Expire(now)
				continue
			}
			data := make([]byte, size%300)
			for i := range data {
				data[i] = byte(idx)
			}
			msg, complete, err := r.Add(src, Fragment{MsgID: id, Index: idx % 16, Count: count % 16, Data: data}, now)
			if complete && (err != nil || len(msg) > cfg.MaxMessage) {
				t.Fatalf("complete with err %v, %d bytes", err, len(msg))
			}
			if r.Used() > cfg.Budget || r.Used() < 0 || r.Partials() > cfg.MaxPartials {
				t.Fatalf("Used %d (budget %d), Partials %d", r.Used(), cfg.Budget, r.Partials())
			}
			if src == 2 && id == 7 {
				r.DropSource(src)
			}
		}
		r.Expire(now.Add(time.Hour))
		if r.Used() != 0 || r.Partials() != 0 || !r.NextExpiry().IsZero() {
			t.Fatalf("after Expire: Used %d, Partials %d", r.Used(), r.Partials())
		}
	})
}
