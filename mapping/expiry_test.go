package mapping

import (
	"math"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestExpiryToMesh(t *testing.T) {
	tests := []struct {
		expiry *uint32
		want   time.Duration
	}{
		{nil, 0},
		{ptr[uint32](0), 0}, // 0 is treated as "never", like the local broker does
		{ptr[uint32](1), time.Second},
		{ptr[uint32](3600), time.Hour},
		{ptr[uint32](math.MaxUint32), math.MaxUint32 * time.Second},
	}
	for _, tt := range tests {
		if got := ExpiryToMesh(Envelope{MessageExpiry: tt.expiry}); got != tt.want {
			t.Errorf("ExpiryToMesh(%v) = %v, want %v", tt.expiry, got, tt.want)
		}
	}
}

func TestExpiryFromMesh(t *testing.T) {
	tests := []struct {
		remaining time.Duration
		secs      uint32
		expired   bool
	}{
		{0, 0, false},                      // never expires
		{-time.Nanosecond, 0, true},        // ran out in transit
		{-time.Hour, 0, true},              // long gone
		{time.Nanosecond, 1, false},        // rounds up, at least 1
		{300 * time.Millisecond, 1, false}, // never expire early
		{time.Second, 1, false},            // exact
		{time.Second + 1, 2, false},        // rounds up
		{59*time.Second + 999*time.Millisecond, 60, false},
		{math.MaxUint32 * time.Second, math.MaxUint32, false},
		{math.MaxInt64, math.MaxUint32, false}, // clamped
	}
	for _, tt := range tests {
		secs, expired := ExpiryFromMesh(tt.remaining)
		if secs != tt.secs || expired != tt.expired {
			t.Errorf("ExpiryFromMesh(%v) = %d, %v; want %d, %v", tt.remaining, secs, expired, tt.secs, tt.expired)
		}
	}
}

// A lifetime that goes to the mesh and back unchanged gives the same interval.
func TestExpiryRoundTrip(t *testing.T) {
	for _, s := range []uint32{1, 2, 59, 86400, math.MaxUint32} {
		secs, expired := ExpiryFromMesh(ExpiryToMesh(Envelope{MessageExpiry: &s}))
		if secs != s || expired {
			t.Errorf("round trip of %d s gave %d, %v", s, secs, expired)
		}
	}
}

func TestApplyExpiry(t *testing.T) {
	e := Envelope{MessageExpiry: ptr[uint32](10)}
	if ApplyExpiry(&e, 2500*time.Millisecond) || e.MessageExpiry == nil || *e.MessageExpiry != 3 {
		t.Fatalf("ApplyExpiry(2.5s) left %v", e.MessageExpiry)
	}
	if ApplyExpiry(&e, 0) || e.MessageExpiry != nil {
		t.Fatalf("ApplyExpiry(0) should clear the property, left %v", e.MessageExpiry)
	}
	if !ApplyExpiry(&e, -time.Millisecond) || e.MessageExpiry != nil {
		t.Fatal("ApplyExpiry(negative) should report expired")
	}
}
