package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func sealedDatagram(t testing.TB, c *Crypto, session, pn uint64, frames []byte) []byte {
	t.Helper()
	h := Header{Sender: goldenSender, SenderSession: session, PacketNumber: pn}
	return c.Seal(nil, h, frames)
}

func TestCryptoRoundTrip(t *testing.T) {
	for _, key := range [][]byte{nil, goldenKey, goldenKey[:16]} {
		tx, rx := mustCrypto(t, "net", key), mustCrypto(t, "net", key)
		frames := goldenPlainFrames()
		d := sealedDatagram(t, tx, 7, 1, frames)
		if want := HeaderLen + len(frames) + tx.Overhead(); len(d) != want {
			t.Fatalf("key %d bytes: datagram %d bytes, want %d", len(key), len(d), want)
		}
		h, got, err := rx.Open(d)
		if err != nil || !bytes.Equal(got, frames) || h.SenderSession != 7 || h.NetworkTag != NetworkTag("net") ||
			(h.Flags&FlagSealed != 0) != (len(key) > 0) {
			t.Fatalf("key %d bytes: Open = %+v, %x, %v", len(key), h, got, err)
		}
	}
}

func TestNewCryptoShortKey(t *testing.T) {
	if _, err := NewCrypto("net", make([]byte, MinKeyLen-1)); err == nil {
		t.Fatal("15-byte key accepted")
	}
}

func TestCryptoRejects(t *testing.T) {
	tx := mustCrypto(t, "net", goldenKey)
	d := sealedDatagram(t, tx, 7, 1, goldenPlainFrames())
	other := mustCrypto(t, "net", []byte("another key of thirty-two bytes!"))
	foreign := mustCrypto(t, "other net", goldenKey)
	plain := mustCrypto(t, "net", nil)
	flip := func(i int) []byte { b := bytes.Clone(d); b[i] ^= 1; return b }

	for _, tc := range []struct {
		name string
		rx   *Crypto
		b    []byte
		want error
	}{
		{"wrong key", other, d, ErrAuth},
		{"wrong network", foreign, d, ErrNetwork},
		{"sealed datagram, plaintext receiver", plain, d, ErrAuth},
		{"unsealed datagram, keyed receiver", mustCrypto(t, "net", goldenKey), plain.Seal(nil, Header{Sender: goldenSender, SenderSession: 7, PacketNumber: 1}, nil), ErrAuth},
		{"header tampered (dest session)", mustCrypto(t, "net", goldenKey), flip(35), ErrAuth},
		{"header tampered (packet number)", mustCrypto(t, "net", goldenKey), flip(45), ErrAuth},
		{"ciphertext tampered", mustCrypto(t, "net", goldenKey), flip(HeaderLen + 1), ErrAuth},
		{"tag tampered", mustCrypto(t, "net", goldenKey), flip(len(d) - 1), ErrAuth},
		{"version 2", mustCrypto(t, "net", goldenKey), func() []byte { b := bytes.Clone(d); b[1] = 2; return b }(), ErrVersion},
		{"sealed body shorter than tag", mustCrypto(t, "net", goldenKey), d[:HeaderLen+TagLen-1], ErrMalformed},
	} {
		if _, _, err := tc.rx.Open(bytes.Clone(tc.b)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	// Every truncation fails, and failures leave no sender state behind.
	rx := mustCrypto(t, "net", goldenKey)
	for n := range len(d) {
		if _, _, err := rx.Open(bytes.Clone(d[:n])); err == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
	// Random bytes, with and without a valid-looking header, fail.
	r := rand.New(rand.NewPCG(11, 12))
	for range 1000 {
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if r.IntN(2) == 0 && len(b) >= HeaderLen {
			copy(b, d[:HeaderLen])
		}
		if _, _, err := rx.Open(b); err == nil {
			t.Fatalf("random datagram %x accepted", b)
		}
	}
	if rx.senders.len() != 0 {
		t.Fatalf("%d sender entries created by unauthenticated datagrams", rx.senders.len())
	}
	// The genuine datagram still opens after all that.
	if _, _, err := rx.Open(bytes.Clone(d)); err != nil {
		t.Fatal(err)
	}
}

func TestCryptoReplay(t *testing.T) {
	tx, rx := mustCrypto(t, "net", goldenKey), mustCrypto(t, "net", goldenKey)
	const n = 3000
	datagrams := make([][]byte, n+1)
	for pn := uint64(1); pn <= n; pn++ {
		datagrams[pn] = sealedDatagram(t, tx, 7, pn, []byte{byte(pn)})
	}
	open := func(pn uint64) error { _, _, err := rx.Open(bytes.Clone(datagrams[pn])); return err }

	if err := open(1); err != nil {
		t.Fatal(err)
	}
	if err := open(1); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay of pn 1: %v", err)
	}
	// Reordered inside the window: each accepted exactly once.
	order := []uint64{5, 3, 4, 2, 1000, 10, 999}
	for _, pn := range order {
		if err := open(pn); err != nil {
			t.Fatalf("reordered pn %d: %v", pn, err)
		}
	}
	for _, pn := range order {
		if err := open(pn); !errors.Is(err, ErrReplay) {
			t.Fatalf("second copy of pn %d: %v", pn, err)
		}
	}
	// Jump ahead: numbers that fell out of the window are replays even if never seen.
	if err := open(3000); err != nil {
		t.Fatal(err)
	}
	if err := open(3000 - ReplayWindow); !errors.Is(err, ErrReplay) {
		t.Fatalf("pn beyond the window: %v", err)
	}
	if err := open(3000 - ReplayWindow + 1); err != nil {
		t.Fatalf("oldest pn inside the window: %v", err)
	}

	// A restarted sender (same ID, new session) starts again at packet number 1.
	if _, _, err := rx.Open(sealedDatagram(t, tx, 8, 1, nil)); err != nil {
		t.Fatalf("restarted sender: %v", err)
	}

	// A replay window is not poisoned by a forgery: a datagram with a fresh packet number and
	// a bad tag is rejected as ErrAuth, and the genuine one with that number still opens.
	forged := sealedDatagram(t, tx, 7, 2500, []byte("x"))
	forged[len(forged)-1] ^= 0xff
	if _, _, err := rx.Open(forged); !errors.Is(err, ErrAuth) {
		t.Fatalf("forged: %v", err)
	}
	if err := open(2500); err != nil {
		t.Fatalf("genuine after forgery: %v", err)
	}
}

// Plaintext mode has no replay protection (nothing to authenticate the packet number with).
func TestPlaintextNoReplayCheck(t *testing.T) {
	c := mustCrypto(t, "net", nil)
	d := sealedDatagram(t, c, 7, 1, goldenPlainFrames())
	for range 2 {
		if _, _, err := c.Open(bytes.Clone(d)); err != nil {
			t.Fatal(err)
		}
	}
}

// The per-sender cache never exceeds MaxSenders; the least recently used sender is evicted.
func TestSenderCacheBound(t *testing.T) {
	tx, rx := mustCrypto(t, "net", goldenKey), mustCrypto(t, "net", goldenKey)
	for s := uint64(1); s <= MaxSenders+100; s++ {
		if _, _, err := rx.Open(sealedDatagram(t, tx, s, 1, nil)); err != nil {
			t.Fatal(err)
		}
		if s == 200 { // keep session 1 recently used: fewer than MaxSenders newer ones follow
			if _, _, err := rx.Open(sealedDatagram(t, tx, 1, 2, nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := rx.senders.len(); got != MaxSenders {
		t.Fatalf("cache holds %d senders, want %d", got, MaxSenders)
	}
	if rx.senders.get(senderKey{goldenSender, 1}) == nil {
		t.Error("recently used sender 1 was evicted")
	}
	if rx.senders.get(senderKey{goldenSender, 2}) != nil {
		t.Error("least recently used sender 2 survived")
	}
	// Walk the list both ways: it must hold exactly the map's entries.
	n := 0
	for s := rx.senders.head; s != nil; s = s.next {
		if rx.senders.byKey[s.key] != s {
			t.Fatal("list entry not in map")
		}
		n++
	}
	if n != MaxSenders {
		t.Fatalf("list has %d entries", n)
	}
}

func TestSealInPlaceMatchesSeal(t *testing.T) {
	for _, key := range [][]byte{nil, goldenKey} {
		c := mustCrypto(t, "net", key)
		h := Header{Sender: goldenSender, SenderSession: 9, DestSession: 3, PacketNumber: 77}
		frames := goldenPlainFrames()
		want := c.Seal(nil, h, frames)
		for _, spare := range []int{0, TagLen} { // without spare capacity SealInPlace must grow
			buf := make([]byte, HeaderLen, HeaderLen+len(frames)+spare)
			buf = append(buf, frames...)
			if got := c.SealInPlace(buf, h); !bytes.Equal(got, want) {
				t.Fatalf("key %v spare %d:\n got %x\nwant %x", key != nil, spare, got, want)
			}
		}
		if got := c.SealInPlace(nil, h); !bytes.Equal(got, c.Seal(nil, h, nil)) {
			t.Fatalf("short buffer: %x", got)
		}
	}
}

// Seal and Open may run concurrently with each other (one goroutine each).
func TestSealOpenConcurrently(t *testing.T) {
	tx := mustCrypto(t, "net", goldenKey)
	c := mustCrypto(t, "net", goldenKey)
	in := make([][]byte, 200)
	for i := range in {
		in[i] = sealedDatagram(t, tx, 7, uint64(i+1), []byte("frames"))
	}
	var wg sync.WaitGroup
	var openErr error
	wg.Go(func() {
		for _, d := range in {
			if _, _, err := c.Open(d); err != nil {
				openErr = err
				return
			}
		}
	})
	var out []byte
	for i := range in {
		out = c.Seal(out[:0], Header{Sender: goldenSender, SenderSession: 1, PacketNumber: uint64(i + 1)}, []byte("frames"))
	}
	wg.Wait()
	if openErr != nil {
		t.Fatal(openErr)
	}
}

// The hot path does not allocate: Seal into a buffer with room, Open of a known sender.
func TestCryptoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	tx, rx := mustCrypto(t, "net", goldenKey), mustCrypto(t, "net", goldenKey)
	frames := make([]byte, 1300)
	buf := make([]byte, 0, 1500)
	pn := uint64(0)
	next := func() []byte {
		pn++
		return tx.Seal(buf[:0], Header{Sender: goldenSender, SenderSession: 7, PacketNumber: pn}, frames)
	}
	if _, _, err := rx.Open(next()); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() { next() }); a != 0 {
		t.Errorf("Seal allocates %.1f times", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		if _, _, err := rx.Open(next()); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Seal+Open allocates %.1f times", a)
	}
}
