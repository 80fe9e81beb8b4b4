package wire

import (
	"bytes"
	"errors"
	"testing"
)

// errorClassified asserts that a decoding error wraps one of the sentinel classes.
func errorClassified(t *testing.T, err error) {
	t.Helper()
	for _, class := range []error{ErrMalformed, ErrVersion, ErrNetwork, ErrAuth, ErrReplay} {
		if errors.Is(err, class) {
			return
		}
	}
	t.Fatalf("unclassified error %v", err)
}

func addGoldenSeeds(f *testing.F) {
	for _, gc := range goldenCases() {
		f.Add(readHexFile(f, gc.file))
	}
}

func readHexFile(f *testing.F, name string) []byte { return readHex(f, "testdata/"+name) }

// FuzzParseHeader: no panic; a parsed header re-encodes to the exact input bytes.
func FuzzParseHeader(f *testing.F) {
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := ParseHeader(b)
		if err != nil {
			errorClassified(t, err)
			return
		}
		if got := append(AppendHeader(nil, h), body...); !bytes.Equal(got, b) {
			t.Fatalf("re-encode %x != input %x", got, b)
		}
	})
}

// FuzzWalkFrames: no panic; a body that walks cleanly re-encodes to the exact input bytes
// (the encoding is canonical), and every frame passes Validate.
func FuzzWalkFrames(f *testing.F) {
	addGoldenSeeds(f)
	f.Add(goldenPlainFrames())
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := collect(b)
		if err != nil {
			errorClassified(t, err)
			return
		}
		var out []byte
		for _, fr := range frames {
			var enc interface {
				AppendTo([]byte) []byte
				EncodedLen() int
				Validate() error
			}
			switch x := fr.(type) {
			case Beacon:
				enc = &x
			case Peers:
				enc = &x
			case Data:
				enc = &x
			case Ack:
				enc = &x
			}
			if err := enc.Validate(); err != nil {
				t.Fatalf("decoded frame %+v fails Validate: %v", fr, err)
			}
			before := len(out)
			out = enc.AppendTo(out)
			if len(out)-before != enc.EncodedLen() {
				t.Fatalf("EncodedLen mismatch for %+v", fr)
			}
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encode %x != input %x", out, b)
		}
	})
}

// FuzzMessage: no panic; decoded messages re-encode to the input; output size is bounded by
// the input size.
func FuzzMessage(f *testing.F) {
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, err := MessageKind(b)
		if err != nil {
			errorClassified(t, err)
			return
		}
		switch kind {
		case KindPublish:
			p, err := ParsePublish(b)
			if err != nil {
				errorClassified(t, err)
				return
			}
			if got := AppendPublish(nil, &p); !bytes.Equal(got, b) {
				t.Fatalf("re-encode %x != input %x", got, b)
			}
		case KindInterestAck:
			v, err := ParseInterestAck(b)
			if err != nil {
				errorClassified(t, err)
				return
			}
			if got := AppendInterestAck(nil, v); !bytes.Equal(got, b) {
				t.Fatalf("re-encode %x != input %x", got, b)
			}
		case KindInterest:
			in, err := ParseInterest(b)
			if err != nil {
				errorClassified(t, err)
				return
			}
			total := 0
			for _, s := range in.Filters {
				total += len(s)
			}
			if len(in.Filters) > len(b) || total > len(b) {
				t.Fatalf("%d filters / %d bytes from %d input bytes", len(in.Filters), total, len(b))
			}
			if got := AppendInterest(nil, &in); !bytes.Equal(got, b) {
				t.Fatalf("re-encode %x != input %x", got, b)
			}
		}
	})
}

// FuzzOpen: no panic in either mode; errors are classified; the number of cached senders stays
// bounded; whatever opens also walks without panicking.
func FuzzOpen(f *testing.F) {
	addGoldenSeeds(f)
	keyed := mustCrypto(f, goldenNetwork, goldenKey)
	plain := mustCrypto(f, goldenNetwork, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Visitor
		for _, c := range []*Crypto{keyed, plain} {
			_, frames, err := c.Open(bytes.Clone(b))
			if err != nil {
				errorClassified(t, err)
				continue
			}
			if err := WalkFrames(frames, &v); err != nil {
				errorClassified(t, err)
			}
		}
		if keyed.senders.len() > MaxSenders {
			t.Fatalf("%d cached senders", keyed.senders.len())
		}
	})
}
