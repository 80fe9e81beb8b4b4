package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

func mustCrypto(t testing.TB, networkID string, key []byte) *Crypto {
	t.Helper()
	c, err := NewCrypto(networkID, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect walks body and returns deep copies of the frames (as values: Beacon, Peers, Data, Ack),
// since the visitor's structs are only valid during the callbacks.
func collect(body []byte) ([]any, error) {
	var got []any
	v := Visitor{
		Beacon: func(f *Beacon) error { got = append(got, *f); return nil },
		Peers: func(f *Peers) error {
			got = append(got, Peers{Entries: append([]PeerEntry(nil), f.Entries...)})
			return nil
		},
		Data: func(f *Data) error {
			c := *f
			c.Payload = bytes.Clone(f.Payload)
			got = append(got, c)
			return nil
		},
		Ack: func(f *Ack) error {
			got = append(got, Ack{Cumulative: f.Cumulative, Delay: f.Delay, Ranges: append([]AckRange(nil), f.Ranges...)})
			return nil
		},
	}
	err := WalkFrames(body, &v)
	return got, err
}

// checkFrames asserts that body decodes to exactly want.
func checkFrames(t *testing.T, body []byte, want []any) {
	t.Helper()
	got, err := collect(body)
	if err != nil {
		t.Fatalf("WalkFrames: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !frameEqual(got[i], want[i]) {
			t.Errorf("frame %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// frameEqual compares frames treating nil and empty slices alike.
func frameEqual(a, b any) bool {
	switch x := a.(type) {
	case Data:
		y, ok := b.(Data)
		if !ok {
			return false
		}
		return x.Reliable == y.Reliable && x.Seq == y.Seq && x.MsgID == y.MsgID &&
			x.FragIndex == y.FragIndex && x.FragCount == y.FragCount && bytes.Equal(x.Payload, y.Payload)
	case Ack:
		y, ok := b.(Ack)
		return ok && x.Cumulative == y.Cumulative && x.Delay == y.Delay &&
			len(x.Ranges) == len(y.Ranges) && (len(x.Ranges) == 0 || reflect.DeepEqual(x.Ranges, y.Ranges))
	case Peers:
		y, ok := b.(Peers)
		return ok && len(x.Entries) == len(y.Entries) && (len(x.Entries) == 0 || reflect.DeepEqual(x.Entries, y.Entries))
	default:
		return reflect.DeepEqual(a, b)
	}
}

// hexBytes decodes hex with optional spaces.
func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
