package mapping

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzDecodeEnvelope feeds arbitrary bytes to the decoder: it must not panic, must fail with
// ErrInvalidEnvelope or return an envelope that re-encodes to exactly the input (the format is
// canonical), and must not allocate beyond what the input can justify.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(EncodeEnvelope(nil, Envelope{}))
	f.Add(EncodeEnvelope(nil, fullEnvelope()))
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		f.Add(EncodeEnvelope(nil, randomEnvelope(r)))
	}
	f.Add([]byte{1, flagUser, 0, 5, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidEnvelope) {
				t.Fatalf("error %v does not wrap ErrInvalidEnvelope", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded envelope fails Validate: %v", err)
		}
		if again := EncodeEnvelope(nil, e); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gave %x", b, again)
		}
		if len(e.User) > len(b)/4 {
			t.Fatalf("%d user properties from %d bytes", len(e.User), len(b))
		}
	})
}

// FuzzFilterToMesh checks that accepted filters are valid mesh filters and map back verbatim.
func FuzzFilterToMesh(f *testing.F) {
	for _, s := range []string{"a/+", "$share/g/a/#", "$SYS/#", "$share/g", "#", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := FilterToMesh(s)
		if err != nil {
			return
		}
		if m.MQTT() != s {
			t.Fatalf("FilterToMesh(%q).MQTT() = %q", s, m.MQTT())
		}
		if IsLocalOnly(m.Mesh) {
			t.Fatalf("FilterToMesh(%q) let $SYS through", s)
		}
		if m.ShareGroup == "" {
			if got, err := FilterFromMesh(m.Mesh); err != nil || got != m.Mesh {
				t.Fatalf("FilterFromMesh(%q) = %q, %v", m.Mesh, got, err)
			}
		}
	})
}
