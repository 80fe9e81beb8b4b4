package mapping

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeEnvelope feeds arbitrary bytes to the decoder: it must not panic, must fail with
// ErrInvalidEnvelope or return an envelope that re-encodes to exactly the input (the format is
// canonical), must not allocate beyond what the input can justify, and must never return a
// property value MQTT forbids (checked here independently of the decoder's own rules).
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(EncodeEnvelope(nil, Envelope{}))
	f.Add(EncodeEnvelope(nil, fullEnvelope()))
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		f.Add(EncodeEnvelope(nil, randomEnvelope(r)))
	}
	f.Add([]byte{1, flagUser, 0, 5, 0xff, 0xff})
	// Near misses of the property rules: one byte away from valid.
	f.Add([]byte{1, flagPayloadFormat, 0, 5, 2})
	f.Add([]byte{1, flagContentType, 0, 5, 0, 2, 'a', 0xff})
	f.Add([]byte{1, flagResponseTopic, 0, 5, 0, 3, 'a', '/', '+'})
	f.Add([]byte{1, flagResponseTopic, 0, 5, 0, 2, 'a', 0})
	f.Add([]byte{1, flagUser, 0, 5, 0, 1, 0, 1, 'k', 0, 1, 0})
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
		mqttString := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
		if e.PayloadFormat != nil && *e.PayloadFormat > 1 {
			t.Fatalf("payload format %d accepted", *e.PayloadFormat)
		}
		if !mqttString(e.ContentType) || !mqttString(e.ResponseTopic) || strings.ContainsAny(e.ResponseTopic, "+#") {
			t.Fatalf("content type %q / response topic %q accepted", e.ContentType, e.ResponseTopic)
		}
		for _, p := range e.User {
			if !mqttString(p.Key) || !mqttString(p.Val) {
				t.Fatalf("user property %q=%q accepted", p.Key, p.Val)
			}
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
