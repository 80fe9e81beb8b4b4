package frag

import "testing"

// BenchmarkReassemble16MiB reassembles a 16 MiB message from 1400-byte fragments in order.
func BenchmarkReassemble16MiB(b *testing.B) {
	msg := randomMessage(16<<20, 1)
	frags := Split(1, msg, 1400)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := NewReassembler[int](DefaultConfig())
		for _, f := range frags {
			if _, _, err := r.Add(0, f, epoch); err != nil {
				b.Fatal(err)
			}
		}
	}
}
