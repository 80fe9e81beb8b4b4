package mapping

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// fullEnvelope uses every field, with values chosen to catch aliasing and ordering bugs.
func fullEnvelope() Envelope {
	return Envelope{
		QoS: 2, Retain: true,
		PayloadFormat:   ptr[byte](1),
		MessageExpiry:   ptr[uint32](0xDEADBEEF),
		ContentType:     "application/json; charset=utf-8",
		ResponseTopic:   "reply/東京/ with space/",
		CorrelationData: []byte{0, 1, 2, 0xff},
		User:            []UserProperty{{"k", "v1"}, {"", ""}, {"k", "v2"}, {"a", "\x00bin"}},
		ProtocolVersion: 5,
	}
}

func TestEnvelopeRoundTripTable(t *testing.T) {
	tests := map[string]Envelope{
		"zero":             {},
		"qos1 v4":          {QoS: 1, ProtocolVersion: 4},
		"retain only":      {Retain: true},
		"expiry zero":      {MessageExpiry: ptr[uint32](0)},
		"format zero":      {PayloadFormat: ptr[byte](0)},
		"full":             fullEnvelope(),
		"max user props":   {User: make([]UserProperty, MaxUserProperties)},
		"max string":       {ContentType: strings.Repeat("c", MaxStringLen)},
		"max correlation":  {CorrelationData: bytes.Repeat([]byte{7}, MaxStringLen)},
		"max user key/val": {User: []UserProperty{{strings.Repeat("k", MaxStringLen), strings.Repeat("v", MaxStringLen)}}},
	}
	for name, e := range tests {
		prefix := []byte("meta-prefix")
		b := EncodeEnvelope(append([]byte(nil), prefix...), e)
		if !bytes.HasPrefix(b, prefix) {
			t.Fatalf("%s: EncodeEnvelope did not append to dst", name)
		}
		if b[len(prefix)] != 1 {
			t.Fatalf("%s: first byte = %d, want format version 1", name, b[len(prefix)])
		}
		got, err := DecodeEnvelope(b[len(prefix):])
		if err != nil {
			t.Fatalf("%s: DecodeEnvelope: %v", name, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s: round trip = %+v, want %+v", name, got, e)
		}
	}
}

func TestEnvelopeCompact(t *testing.T) {
	if n := len(EncodeEnvelope(nil, Envelope{QoS: 1, ProtocolVersion: 4})); n != 4 {
		t.Fatalf("a property-less envelope takes %d bytes, want 4", n)
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	b := EncodeEnvelope(nil, fullEnvelope())
	e, err := DecodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xAA
	}
	if !reflect.DeepEqual(e, fullEnvelope()) {
		t.Fatal("decoded envelope changed when the input buffer was overwritten")
	}
}

func TestInvalidEnvelopeEncodesToRejectedMarker(t *testing.T) {
	bad := []Envelope{
		{QoS: 3},
		{ContentType: strings.Repeat("c", MaxStringLen+1)},
		{ResponseTopic: strings.Repeat("r", MaxStringLen+1)},
		{CorrelationData: make([]byte, MaxStringLen+1)},
		{User: make([]UserProperty, MaxUserProperties+1)},
		{User: []UserProperty{{Key: "k", Val: strings.Repeat("v", MaxStringLen+1)}}},
	}
	for i, e := range bad {
		if err := e.Validate(); !errors.Is(err, ErrInvalidEnvelope) {
			t.Errorf("case %d: Validate = %v, want ErrInvalidEnvelope", i, err)
		}
		if _, err := MarshalEnvelope(nil, e); !errors.Is(err, ErrInvalidEnvelope) {
			t.Errorf("case %d: MarshalEnvelope error = %v", i, err)
		}
		if _, err := DecodeEnvelope(EncodeEnvelope(nil, e)); !errors.Is(err, ErrInvalidEnvelope) {
			t.Errorf("case %d: encoding of an invalid envelope decoded: %v", i, err)
		}
	}
}

func TestDecodeEnvelopeRejects(t *testing.T) {
	valid := EncodeEnvelope(nil, fullEnvelope())
	tests := map[string][]byte{
		"empty":              nil,
		"short header":       {1, 0, 0},
		"version 0":          {0, 0, 0, 4},
		"version 2":          {2, 0, 0, 4},
		"reserved flag":      {1, 0x80, 0, 4},
		"qos 3":              {1, 0, 3, 4},
		"missing format":     {1, flagPayloadFormat, 0, 5},
		"short expiry":       {1, flagMessageExpiry, 0, 5, 0, 0, 1},
		"empty content type": {1, flagContentType, 0, 5, 0, 0},
		"long length":        {1, flagContentType, 0, 5, 0xff, 0xff, 'a'},
		"empty correlation":  {1, flagCorrelationData, 0, 5, 0, 0},
		"zero user count":    {1, flagUser, 0, 5, 0, 0},
		"huge user count":    {1, flagUser, 0, 5, 0xff, 0xff, 0, 0, 0, 0},
		"count beyond input": {1, flagUser, 0, 5, 0, 2, 0, 0, 0, 0},
		"truncated user":     {1, flagUser, 0, 5, 0, 1, 0, 1, 'k', 0},
		"trailing byte":      append(append([]byte(nil), valid...), 0),
		"truncated":          valid[:len(valid)-1],
	}
	for name, b := range tests {
		e, err := DecodeEnvelope(b)
		if !errors.Is(err, ErrInvalidEnvelope) || !reflect.DeepEqual(e, Envelope{}) {
			t.Errorf("%s: DecodeEnvelope = %+v, %v; want ErrInvalidEnvelope", name, e, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "mapping: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

func randomString(r *rand.Rand) string {
	b := make([]byte, r.IntN(6))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randomEnvelope(r *rand.Rand) Envelope {
	e := Envelope{QoS: byte(r.IntN(3)), Retain: r.IntN(2) == 0, ProtocolVersion: byte(r.IntN(6))}
	if r.IntN(2) == 0 {
		e.PayloadFormat = ptr(byte(r.IntN(256)))
	}
	if r.IntN(2) == 0 {
		e.MessageExpiry = ptr(r.Uint32())
	}
	e.ContentType, e.ResponseTopic = randomString(r), randomString(r)
	if c := randomString(r); c != "" {
		e.CorrelationData = []byte(c)
	}
	for i := r.IntN(4); i > 0; i-- {
		e.User = append(e.User, UserProperty{randomString(r), randomString(r)})
	}
	return e
}

func TestPropertyEnvelopeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		e := randomEnvelope(r)
		b := EncodeEnvelope(nil, e)
		got, err := DecodeEnvelope(b)
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip of %+v = %+v, %v", e, got, err)
		}
		// Canonical: re-encoding gives the same bytes.
		if again := EncodeEnvelope(nil, got); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding of %+v differs", e)
		}
	}
}
