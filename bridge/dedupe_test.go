package bridge

import "testing"

func TestDedupeWindow(t *testing.T) {
	d := newDedupe(2)
	k := func(id uint64) messageKey { return messageKey{origin: [16]byte{1}, session: 7, id: id} }
	if !d.firstTime(k(1)) || d.firstTime(k(1)) {
		t.Fatal("a repeat inside the window was not dropped")
	}
	if !d.firstTime(messageKey{origin: [16]byte{2}, session: 7, id: 1}) {
		t.Fatal("same ID from another origin was taken for a repeat")
	}
	if !d.firstTime(k(2)) { // evicts k(1), the oldest
		t.Fatal("new key dropped")
	}
	if !d.firstTime(k(1)) {
		t.Fatal("the window holds more keys than its size")
	}
	if len(d.seen) != 2 {
		t.Fatalf("cache holds %d keys, want 2", len(d.seen))
	}
	if !newDedupe(0).firstTime(k(1)) {
		t.Fatal("a zero-size window must let everything through")
	}
}
