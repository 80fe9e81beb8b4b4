package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMessageKind(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		kind byte
		err  error
	}{
		{[]byte{KindPublish}, KindPublish, nil},
		{[]byte{KindInterest, 9}, KindInterest, nil},
		{[]byte{7}, 7, ErrMalformed},
		{nil, 0, ErrMalformed},
	} {
		k, err := MessageKind(tc.b)
		if k != tc.kind || !errors.Is(err, tc.err) {
			t.Errorf("MessageKind(%x) = %d, %v", tc.b, k, err)
		}
	}
}

func TestPublishRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		p := Publish{
			Topic:  randString(r, 300),
			Type:   randString(r, MaxTypeLen),
			Expiry: time.Duration(r.Int64N(int64(maxDuration/time.Millisecond))>>r.IntN(63)) * time.Millisecond,
		}
		if m := []byte(randString(r, 40)); len(m) > 0 {
			p.Meta = m
		}
		if pl := []byte(randString(r, 3000)); len(pl) > 0 {
			p.Payload = pl
		}
		if err := ValidatePublish(&p); err != nil {
			t.Fatal(err)
		}
		b := AppendPublish(nil, &p)
		if len(b) != PublishLen(&p) {
			t.Fatalf("PublishLen %d, encoded %d", PublishLen(&p), len(b))
		}
		got, err := ParsePublish(b)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %+v %v\nwant %+v", got, err, p)
		}
	}
}

// Meta and Payload alias the input (no copy); Topic and Type do not.
func TestPublishAliasing(t *testing.T) {
	b := AppendPublish(nil, &goldenPublish)
	p, err := ParsePublish(b)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = '!'
	b[3] = 'X' // inside the topic
	if p.Payload[len(p.Payload)-1] != '!' || p.Topic != goldenPublish.Topic {
		t.Fatalf("aliasing: payload %q topic %q", p.Payload, p.Topic)
	}
}

// The payload runs to the end of the message, so a cut inside it cannot be seen here (DATA
// fragment lengths and counts protect it); every cut before the payload is rejected.
func TestPublishTruncation(t *testing.T) {
	b := AppendPublish(nil, &goldenPublish)
	payloadStart := len(b) - len(goldenPublish.Payload)
	for n := range payloadStart {
		if _, err := ParsePublish(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("prefix %d: err = %v, want ErrMalformed", n, err)
		}
	}
	for n := payloadStart; n < len(b); n++ {
		p, err := ParsePublish(b[:n])
		if err != nil || !bytes.Equal(p.Payload, goldenPublish.Payload[:n-payloadStart]) {
			t.Errorf("prefix %d: %q, %v", n, p.Payload, err)
		}
	}
}

func TestPublishRejects(t *testing.T) {
	for name, b := range map[string]string{
		"interest kind":      "02 00 00",
		"topic over 65535":   "01 80 80 04",
		"type over 255":      "01 00 80 02",
		"meta over 65535":    "01 00 00 00 80 80 04",
		"expiry overflow":    "01 00 00 ffffffffffffffffff01 00",
		"non-minimal length": "01 80 00 00 00 00",
	} {
		if _, err := ParsePublish(hexBytes(t, b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if err := ValidatePublish(&Publish{Type: strings.Repeat("x", 256)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ValidatePublish long type: %v", err)
	}
}

func TestInterestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		in := Interest{Version: randUvarint(r)}
		for range r.IntN(50) {
			in.Filters = append(in.Filters, randString(r, 200))
		}
		b := AppendInterest(nil, &in)
		if len(b) != InterestLen(&in) {
			t.Fatalf("InterestLen %d, encoded %d", InterestLen(&in), len(b))
		}
		got, err := ParseInterest(b)
		if err != nil || !reflect.DeepEqual(got, in) {
			t.Fatalf("round trip:\n got %+v %v\nwant %+v", got, err, in)
		}
		for n := range len(b) {
			if _, err := ParseInterest(b[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix %d of %x: err = %v", n, b, err)
			}
		}
	}
}

func TestInterestRejects(t *testing.T) {
	for name, b := range map[string]string{
		"publish kind":              "01 00 00",
		"count over 100000":         "02 00 a1 8d 06",
		"count above bytes present": "02 00 05 00 00",
		"filter over 65535":         "02 00 01 80 80 04",
		"trailing bytes":            "02 00 01 00 00",
	} {
		if _, err := ParseInterest(hexBytes(t, b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if err := ValidateInterest(&Interest{Filters: make([]string, MaxFilters+1)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ValidateInterest: %v", err)
	}
}

// ParseInterest's memory is bounded by its input: the maximal filter count costs two
// allocations, and a count larger than the bytes present allocates nothing.
func TestInterestAllocs(t *testing.T) {
	in := Interest{Version: 1, Filters: make([]string, MaxFilters)}
	b := AppendInterest(nil, &in)
	got, err := ParseInterest(b)
	if err != nil || len(got.Filters) != MaxFilters {
		t.Fatalf("max filters: %d, %v", len(got.Filters), err)
	}
	if raceEnabled {
		return
	}
	if a := testing.AllocsPerRun(10, func() { _, _ = ParseInterest(b) }); a > 2 {
		t.Errorf("ParseInterest allocates %.0f times, want <= 2", a)
	}
	lying := hexBytes(t, "02 00 a0 8d 06 00 00 00") // claims 100000 filters, carries 3
	if a := testing.AllocsPerRun(10, func() { _, _ = ParseInterest(lying) }); a != 0 {
		t.Errorf("lying count allocates %.0f times", a)
	}
}
