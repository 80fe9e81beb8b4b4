package wire

import (
	"fmt"
	"testing"
)

// dataBatch fills about 1400 bytes with reliable DATA frames of payloadLen bytes.
func dataBatch(payloadLen int) ([]Data, []byte) {
	payload := make([]byte, payloadLen)
	var frames []Data
	var body []byte
	for seq := uint64(1); ; seq++ {
		d := Data{Reliable: true, Seq: 1000 + seq, MsgID: 5000 + seq, FragCount: 1, Payload: payload}
		if len(body)+d.EncodedLen() > 1400-HeaderLen-TagLen {
			return frames, body
		}
		frames = append(frames, d)
		body = d.AppendTo(body)
	}
}

func BenchmarkDataEncode(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			frames, body := dataBatch(size)
			buf := make([]byte, 0, 1500)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for i := range frames {
					buf = frames[i].AppendTo(buf)
				}
			}
			b.ReportMetric(float64(len(frames)*b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func BenchmarkDataDecode(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			frames, body := dataBatch(size)
			var sum uint64
			v := Visitor{Data: func(d *Data) error { sum += d.Seq; return nil }}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := WalkFrames(body, &v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(frames)*b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func BenchmarkSeal1400(b *testing.B) {
	c := mustCrypto(b, "net", goldenKey)
	frames := make([]byte, 1400-HeaderLen-TagLen)
	buf := make([]byte, 0, 1500)
	h := Header{Sender: goldenSender, SenderSession: 7}
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		h.PacketNumber++
		buf = c.Seal(buf[:0], h, frames)
	}
}

func BenchmarkOpen1400(b *testing.B) {
	tx, rx := mustCrypto(b, "net", goldenKey), mustCrypto(b, "net", goldenKey)
	frames := make([]byte, 1400-HeaderLen-TagLen)
	// Pre-seal distinct packet numbers (Open rejects replays), reusing a ring of datagrams.
	const ring = 1024
	sealed := make([][]byte, ring)
	work := make([]byte, 1400)
	h := Header{Sender: goldenSender, SenderSession: 7}
	b.SetBytes(1400)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%ring == 0 {
			b.StopTimer()
			for j := range sealed {
				h.PacketNumber++
				sealed[j] = tx.Seal(sealed[j][:0], h, frames)
			}
			b.StartTimer()
		}
		copy(work, sealed[i%ring]) // Open decrypts in place
		if _, _, err := rx.Open(work); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
