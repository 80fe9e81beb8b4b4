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
		User:            []UserProperty{{"k", "v1"}, {"", ""}, {"k", "v2"}, {"a", "\x01bin\x7f"}},
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

// randomString returns a short valid MQTT string (UTF-8 without U+0000), with multi-byte runes,
// control characters and the wildcard characters, which only a response topic must not contain.
func randomString(r *rand.Rand) string {
	runes := []rune{'a', '/', ' ', '+', '#', '$', '\x01', 0x7f, 'é', '東', 0x1F600, 0xFFFD}
	b := make([]rune, r.IntN(6))
	for i := range b {
		b[i] = runes[r.IntN(len(runes))]
	}
	return string(b)
}

func randomEnvelope(r *rand.Rand) Envelope {
	e := Envelope{QoS: byte(r.IntN(3)), Retain: r.IntN(2) == 0, ProtocolVersion: byte(r.IntN(6))}
	if r.IntN(2) == 0 {
		e.PayloadFormat = ptr(byte(r.IntN(2)))
	}
	if r.IntN(2) == 0 {
		e.MessageExpiry = ptr(r.Uint32())
	}
	e.ContentType = randomString(r)
	e.ResponseTopic = strings.NewReplacer("+", "p", "#", "h").Replace(randomString(r))
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

// Property values MQTT forbids are refused both ways: Validate (so the bridge never sends them)
// and DecodeEnvelope (so a peer cannot inject them), as a *PropertyError naming the property.
func TestInvalidPropertiesRefused(t *testing.T) {
	tests := []struct {
		name     string
		e        Envelope
		property string
	}{
		{"payload format 2", Envelope{PayloadFormat: ptr[byte](2)}, PropPayloadFormat},
		{"payload format 255", Envelope{PayloadFormat: ptr[byte](255)}, PropPayloadFormat},
		{"content type invalid UTF-8", Envelope{ContentType: "text/\xff"}, PropContentType},
		{"content type surrogate", Envelope{ContentType: "\xed\xa0\x80"}, PropContentType},
		{"content type NUL", Envelope{ContentType: "text\x00plain"}, PropContentType},
		{"response topic +", Envelope{ResponseTopic: "reply/+"}, PropResponseTopic},
		{"response topic #", Envelope{ResponseTopic: "reply/#"}, PropResponseTopic},
		{"response topic wildcard inside a level", Envelope{ResponseTopic: "re+ply"}, PropResponseTopic},
		{"response topic NUL", Envelope{ResponseTopic: "reply\x00"}, PropResponseTopic},
		{"response topic invalid UTF-8", Envelope{ResponseTopic: "reply/\xc3"}, PropResponseTopic},
		{"user key invalid UTF-8", Envelope{User: []UserProperty{{"ok", "ok"}, {"\xff", "v"}}}, PropUserProperty},
		{"user value NUL", Envelope{User: []UserProperty{{"k", "a\x00b"}}}, PropUserProperty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				var pe *PropertyError
				if !errors.As(err, &pe) || pe.Property != tc.property {
					t.Fatalf("%s: %v, want a PropertyError for %s", what, err, tc.property)
				}
				if !errors.Is(err, ErrInvalidProperty) || !errors.Is(err, ErrInvalidEnvelope) {
					t.Fatalf("%s: %v does not wrap ErrInvalidProperty and ErrInvalidEnvelope", what, err)
				}
				if !strings.HasPrefix(err.Error(), "mapping: ") {
					t.Fatalf("%s: %q lacks the package prefix", what, err)
				}
			}
			check("Validate", tc.e.Validate())
			_, err := MarshalEnvelope(nil, tc.e)
			check("MarshalEnvelope", err)
			// What a hostile peer would send: the canonical encoding of the bad value, written
			// here without Validate.
			b := encodeUnchecked(tc.e)
			e, err := DecodeEnvelope(b)
			check("DecodeEnvelope", err)
			if !reflect.DeepEqual(e, Envelope{}) {
				t.Fatalf("DecodeEnvelope returned %+v with its error", e)
			}
		})
	}
	// What MQTT allows stays allowed: the edges of the rules above.
	for _, e := range []Envelope{
		{PayloadFormat: ptr[byte](0)}, {PayloadFormat: ptr[byte](1)},
		{ContentType: "\x01\x7f\uFFFF東"},
		{ResponseTopic: "$reply/ a//b/"}, {ResponseTopic: "/"},
		{User: []UserProperty{{"", ""}, {"+#", "/"}}},
	} {
		if err := e.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", e, err)
		}
		if _, err := DecodeEnvelope(EncodeEnvelope(nil, e)); err != nil {
			t.Errorf("DecodeEnvelope of %+v: %v", e, err)
		}
	}
}

// encodeUnchecked encodes e as EncodeEnvelope would if e were valid: the bytes a peer that skips
// validation would send.
func encodeUnchecked(e Envelope) []byte {
	format, content, response, user := e.PayloadFormat, e.ContentType, e.ResponseTopic, e.User
	e.PayloadFormat, e.ContentType, e.ResponseTopic, e.User = nil, "", "", nil
	var flags byte
	var tail []byte
	if format != nil {
		flags |= flagPayloadFormat
		tail = append(tail, *format)
	}
	if content != "" {
		flags |= flagContentType
		tail = appendString(tail, content)
	}
	if response != "" {
		flags |= flagResponseTopic
		tail = appendString(tail, response)
	}
	if len(user) > 0 {
		flags |= flagUser
		tail = append(tail, byte(len(user)>>8), byte(len(user)))
		for _, p := range user {
			tail = appendString(appendString(tail, p.Key), p.Val)
		}
	}
	b := EncodeEnvelope(nil, e) // header only: e has none of the fields above now
	b[1] |= flags
	return append(b, tail...)
}
