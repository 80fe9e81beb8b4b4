package wire

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

func randAddr(r *rand.Rand) netip.AddrPort {
	if r.IntN(2) == 0 {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(r.Uint32()))
	}
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return netip.AddrPortFrom(netip.AddrFrom16(b), uint16(r.Uint32()))
}

// randUvarint returns values of every encoded size, 1 to 10 bytes.
func randUvarint(r *rand.Rand) uint64 { return r.Uint64() >> r.IntN(64) }

func randString(r *rand.Rand, max int) string {
	b := make([]byte, r.IntN(max+1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

func randFrame(r *rand.Rand) interface {
	AppendTo([]byte) []byte
	EncodedLen() int
	Validate() error
} {
	switch r.IntN(4) {
	case 0:
		return &Beacon{
			ProtoVersion: randUvarint(r), NetworkID: randString(r, MaxNetworkIDLen), Name: randString(r, MaxNameLen),
			DataAddr: randAddr(r), InterestDigest: r.Uint64(), StateDigest: r.Uint64(),
			Interval: time.Duration(r.Int64N(int64(maxDuration/time.Millisecond))) * time.Millisecond, Flags: uint8(r.Uint32()),
		}
	case 1:
		p := &Peers{}
		for range r.IntN(MaxPeerEntries + 1) {
			var e PeerEntry
			for i := range e.ID {
				e.ID[i] = byte(r.Uint32())
			}
			e.Session, e.Addr = r.Uint64(), randAddr(r)
			p.Entries = append(p.Entries, e)
		}
		return p
	case 2:
		count := 1 + r.Uint32N(MaxFragCount)
		d := &Data{Reliable: r.IntN(2) == 0, MsgID: randUvarint(r), FragCount: count, FragIndex: r.Uint32N(count),
			Payload: []byte(randString(r, 1500))}
		if d.Reliable {
			d.Seq = 1 + randUvarint(r)>>1
		}
		return d
	default:
		a := &Ack{Cumulative: r.Uint64N(1 << 40), Delay: time.Duration(r.Int64N(1<<40)) * time.Microsecond}
		prev := a.Cumulative
		for range r.IntN(MaxAckRanges + 1) {
			lo := prev + 2 + r.Uint64N(1000)
			hi := lo + r.Uint64N(1000)
			a.Ranges = append(a.Ranges, AckRange{lo, hi})
			prev = hi
		}
		return a
	}
}

func frameValue(f any) any {
	switch x := f.(type) {
	case *Beacon:
		return *x
	case *Peers:
		return *x
	case *Data:
		return *x
	case *Ack:
		return *x
	}
	panic("unknown frame")
}

// A random batch of valid frames encodes to EncodedLen bytes each and decodes back to itself.
func TestFramesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 2000 {
		var body []byte
		var want []any
		for range 1 + r.IntN(5) {
			f := randFrame(r)
			if err := f.Validate(); err != nil {
				t.Fatalf("generated invalid frame %+v: %v", f, err)
			}
			before := len(body)
			body = f.AppendTo(body)
			if got := len(body) - before; got != f.EncodedLen() {
				t.Fatalf("iter %d: %T EncodedLen %d, encoded %d bytes", iter, f, f.EncodedLen(), got)
			}
			if d, ok := f.(*Data); ok && d.EncodedLen()-len(d.Payload) > DataOverhead(len(d.Payload)) {
				t.Fatalf("DataOverhead(%d) = %d < actual %d", len(d.Payload), DataOverhead(len(d.Payload)), d.EncodedLen()-len(d.Payload))
			}
			want = append(want, frameValue(f))
		}
		checkFrames(t, body, want)
	}
}

// Every strict, non-empty prefix of a frame is rejected as malformed (an empty body is valid
// and carries no frames).
func TestFrameTruncation(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	frames := [][]byte{goldenBeacon.AppendTo(nil), goldenPeers.AppendTo(nil), goldenData.AppendTo(nil),
		goldenDataBE.AppendTo(nil), goldenAck.AppendTo(nil)}
	for range 200 {
		frames = append(frames, randFrame(r).AppendTo(nil))
	}
	for _, f := range frames {
		for n := 1; n < len(f); n++ {
			if _, err := collect(f[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix %d of %x: err = %v, want ErrMalformed", n, f, err)
			}
		}
	}
	if got, err := collect(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty body: %v, %v", got, err)
	}
}

func TestFrameRejects(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       error // the specific detail error, which wraps ErrMalformed
	}{
		{"unknown frame type", "05", errFrameType},
		{"frame type zero", "00", errFrameType},
		{"non-minimal uvarint", "04 80 00 00 00", errVarint},
		{"uvarint over 64 bits", "04 ff ff ff ff ff ff ff ff ff 02 00 00", errVarint},
		{"beacon network id too long", "01 01 80 02", errTooLong},
		{"beacon bad address family", "01 01 00 00 05", errAddrFamily},
		{"beacon interval overflow", "01 01 00 00 04 00000000 0000 0000000000000000 0000000000000000 ffffffffffffffffff01 00", errDuration},
		{"peers count over 64", "02 41", errPeerCount},
		{"data reserved flag", "03 02 01 00 01 00", errDataFlags},
		{"data reliable seq zero", "03 01 00 01 00 01 00", errZeroSeq},
		{"data frag count zero", "03 00 01 00 00 00", errFragment},
		{"data frag index = count", "03 00 01 02 02 00", errFragment},
		{"data frag count over 1<<20", "03 00 01 00 81 80 40 00", errFragment},
		{"data payload past end", "03 00 01 00 01 05 68 69", errTruncated},
		{"ack range count over 32", "04 00 00 21", errRangeCount},
		{"ack gap zero", "04 05 00 01 00 00", errRangeGap},
		{"ack delay overflow", "04 00 ffffffffffffffffff01 00", errDuration},
		{"ack range start overflow", "04 ffffffffffffffffff01 00 01 01 00", errRangeOverflow},
		{"ack range length overflow", "04 00 00 01 01 ffffffffffffffffff01", errRangeOverflow},
		{"valid data then bad type", "03 00 08 00 01 02 68 69 09", errFrameType},
		{"valid data then short frame", "03 00 08 00 01 02 68 69 04 01", errTruncated},
	} {
		_, err := collect(hexBytes(t, tc.body))
		if !errors.Is(err, tc.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Frames before a malformed one are delivered (the documented apply-as-walked behaviour), and
// a callback error stops the walk and is returned as is.
func TestWalkStops(t *testing.T) {
	body := goldenDataBE.AppendTo(nil)
	body = append(body, 0x7f)
	got, err := collect(body)
	if !errors.Is(err, ErrMalformed) || len(got) != 1 {
		t.Fatalf("got %d frames, err %v; want 1 frame then ErrMalformed", len(got), err)
	}

	stop := errors.New("stop")
	body = goldenAck.AppendTo(goldenData.AppendTo(nil))
	acks := 0
	v := Visitor{Data: func(*Data) error { return stop }, Ack: func(*Ack) error { acks++; return nil }}
	if err := WalkFrames(body, &v); err != stop || acks != 0 {
		t.Fatalf("err = %v, acks = %d; want the callback error and no further frames", err, acks)
	}

	// Nil callbacks skip frame types but still validate them.
	v = Visitor{}
	if err := WalkFrames(append(goldenBeacon.AppendTo(nil), goldenPeers.AppendTo(nil)...), &v); err != nil {
		t.Fatal(err)
	}
	if err := WalkFrames(goldenBeacon.AppendTo(nil)[:10], &v); !errors.Is(err, ErrMalformed) {
		t.Fatalf("skipped truncated beacon: err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	long := string(make([]byte, 256))
	bad := []interface{ Validate() error }{
		&Beacon{NetworkID: long},
		&Beacon{Name: long},
		&Peers{Entries: make([]PeerEntry, MaxPeerEntries+1)},
		&Data{Reliable: true, FragCount: 1},
		&Data{FragCount: 0},
		&Data{FragIndex: 2, FragCount: 2},
		&Data{FragCount: MaxFragCount + 1},
		&Ack{Ranges: make([]AckRange, MaxAckRanges+1)},
		&Ack{Cumulative: 5, Ranges: []AckRange{{6, 7}}},
		&Ack{Cumulative: 5, Ranges: []AckRange{{8, 9}, {10, 11}}},
		&Ack{Cumulative: 5, Ranges: []AckRange{{9, 8}}},
	}
	for _, f := range bad {
		if err := f.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%+v: Validate = %v, want ErrMalformed", f, err)
		}
	}
}

// Addresses: IPv4 uses family 4, IPv6 (including IPv4-mapped) family 6; zones are dropped.
func TestAddrEncoding(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		size     int
	}{
		{"1.2.3.4:5", "1.2.3.4:5", 7},
		{"[::ffff:1.2.3.4]:5", "[::ffff:1.2.3.4]:5", 19},
		{"[fe80::1%eth0]:5", "[fe80::1]:5", 19},
	} {
		b := &Beacon{DataAddr: netip.MustParseAddrPort(tc.in)}
		got, err := collect(b.AppendTo(nil))
		if err != nil {
			t.Fatal(err)
		}
		if a := got[0].(Beacon).DataAddr; a.String() != tc.want || addrLen(b.DataAddr) != tc.size {
			t.Errorf("%s: decoded %s (size %d), want %s (size %d)", tc.in, a, addrLen(b.DataAddr), tc.want, tc.size)
		}
	}
	b := &Beacon{}
	got, err := collect(b.AppendTo(nil))
	if err != nil || got[0].(Beacon).DataAddr != netip.MustParseAddrPort("0.0.0.0:0") {
		t.Fatalf("zero address: %v, %v", got, err)
	}
}

// Walking DATA and ACK frames with a reused Visitor does not allocate, and beacons from an
// unchanged peer do not either.
func TestWalkAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	body := goldenAck.AppendTo(goldenData.AppendTo(goldenDataBE.AppendTo(goldenBeacon.AppendTo(goldenPeers.AppendTo(nil)))))
	var n int
	v := Visitor{
		Beacon: func(*Beacon) error { n++; return nil }, Peers: func(*Peers) error { n++; return nil },
		Data: func(*Data) error { n++; return nil }, Ack: func(*Ack) error { n++; return nil },
	}
	if err := WalkFrames(body, &v); err != nil { // warm the scratch space
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() { _ = WalkFrames(body, &v) }); a != 0 {
		t.Fatalf("WalkFrames allocates %.1f times per walk", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _, _ = ParseHeader(goldenHeaderBytes) }); a != 0 {
		t.Fatalf("ParseHeader allocates %.1f times", a)
	}
}

var goldenHeaderBytes = AppendHeader(nil, goldenHeader)
