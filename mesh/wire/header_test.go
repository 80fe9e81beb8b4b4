package wire

import (
	"errors"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := goldenHeader
	h.Flags = FlagSealed
	b := AppendHeader([]byte("prefix"), h)
	b = append(b, "body"...)
	got, body, err := ParseHeader(b[len("prefix"):])
	if err != nil || got != h || string(body) != "body" {
		t.Fatalf("ParseHeader = %+v, %q, %v", got, body, err)
	}
}

func TestHeaderRejects(t *testing.T) {
	valid := AppendHeader(nil, goldenHeader)
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), valid...)
		f(b)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"bad magic", mutate(func(b []byte) { b[0] = 'H' }), ErrMalformed},
		{"version 2", mutate(func(b []byte) { b[1] = 2 }), ErrVersion},
		{"version 0", mutate(func(b []byte) { b[1] = 0 }), ErrVersion},
		{"short version 2", []byte{Magic, 2}, ErrVersion},
		{"reserved flag", mutate(func(b []byte) { b[2] = 0x02 }), ErrMalformed},
		{"zero sender session", mutate(func(b []byte) { clear(b[23:31]) }), ErrMalformed},
		{"zero packet number", mutate(func(b []byte) { clear(b[39:47]) }), ErrMalformed},
	} {
		if _, _, err := ParseHeader(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	for n := range HeaderLen {
		if _, _, err := ParseHeader(valid[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("prefix %d: err = %v, want ErrMalformed", n, err)
		}
	}
}

func TestNetworkTag(t *testing.T) {
	// First 4 bytes of SHA-256("glue-mqtt network\x00demo"), computed independently.
	if got := NetworkTag("demo"); got != 0xe2c1ab1f {
		t.Fatalf("NetworkTag(demo) = %#x", got)
	}
	if NetworkTag("demo") == NetworkTag("demo2") {
		t.Fatal("different networks share a tag")
	}
}
