package reliable

import (
	"testing"
	"time"
)

func TestAckReportsLowestRangesFirst(t *testing.T) {
	r := NewReceiver[int](DefaultConfig())
	now := epoch
	for seq := uint64(1); seq < 200; seq += 2 { // every even sequence number missing
		if !r.OnData(seq, int(seq), now) {
			t.Fatalf("OnData(%d) refused", seq)
		}
	}
	cum, ranges, _ := r.Ack(now, 8, nil)
	if cum != 1 || len(ranges) != 8 {
		t.Fatalf("Ack = %d, %v; want cumulative 1 and 8 ranges", cum, ranges)
	}
	for i, rg := range ranges {
		if want := uint64(3 + 2*i); rg.Lo != want || rg.Hi != want {
			t.Errorf("range %d = %v, want [%d,%d]", i, rg, want, want)
		}
	}
	if r.AckDue(now) {
		t.Error("AckDue after Ack")
	}
	// Filling the first gap moves the cumulative point and delivers in order.
	r.OnData(2, 2, now)
	if cum, _, _ := r.Ack(now, 8, nil); cum != 3 {
		t.Errorf("cumulative %d after filling 2, want 3", cum)
	}
	for want := 1; want <= 3; want++ {
		if got, ok := r.Pop(); !ok || got != want {
			t.Fatalf("Pop() = %d %v, want %d", got, ok, want)
		}
	}
	if _, ok := r.Pop(); ok {
		t.Error("Pop returned an item past a gap")
	}
}

func TestReceiverDuplicatesAndWindow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxInFlight = 16
	r := NewReceiver[int](cfg)
	now := epoch
	if !r.OnData(1, 1, now) || r.OnData(1, 1, now) {
		t.Fatal("first copy must be accepted, second refused")
	}
	if !r.AckDue(now) {
		t.Error("a duplicate must make an ACK due")
	}
	r.Ack(now, 4, nil)
	if !r.OnData(5, 5, now) || r.OnData(5, 5, now) {
		t.Fatal("buffered out-of-order duplicate not refused")
	}
	if r.OnData(17, 17, now) { // window is [next=1, 17)
		t.Error("accepted beyond the reorder window")
	}
	if r.OnData(0, 0, now) {
		t.Error("accepted sequence number 0")
	}
	r.Pop()
	if !r.OnData(17, 17, now) {
		t.Error("window did not slide after Pop")
	}
	st := r.Stats()
	if st.Duplicates != 2 || st.OutOfWindow != 2 || st.Buffered != 2 {
		t.Errorf("stats %+v; want 2 duplicates, 2 out of window, 2 buffered", st)
	}
}

func TestAckDelayTimer(t *testing.T) {
	cfg := DefaultConfig()
	r := NewReceiver[int](cfg)
	r.OnData(1, 1, epoch)
	if r.AckDue(epoch) {
		t.Error("one in-order item: ACK should wait")
	}
	if d := r.AckDeadline(); !d.Equal(epoch.Add(cfg.MaxAckDelay)) {
		t.Errorf("AckDeadline = %v, want +%v", d.Sub(epoch), cfg.MaxAckDelay)
	}
	at := epoch.Add(cfg.MaxAckDelay)
	if !r.AckDue(at) {
		t.Error("ACK not due after MaxAckDelay")
	}
	if cum, ranges, delay := r.Ack(at, 4, nil); cum != 1 || len(ranges) != 0 || delay != cfg.MaxAckDelay {
		t.Errorf("Ack = %d %v %v", cum, ranges, delay)
	}
	r.OnData(2, 2, at)
	r.OnData(3, 3, at)
	if !r.AckDue(at) {
		t.Error("two new items: ACK due at once")
	}
	if !r.AckDeadline().Equal(at) {
		t.Error("AckDeadline should be now")
	}
	_ = time.Second
}

// Wants agrees with OnData: new in-window items are wanted, duplicates and items beyond the
// window are not; Expected is the one that extends the in-order run.
func TestReceiverWants(t *testing.T) {
	r := NewReceiver[int](Config{MaxInFlight: 8})
	now := time.Unix(0, 0)
	for seq, want := range map[uint64]bool{0: false, 1: true, 8: true, 9: false} {
		if got := r.Wants(seq); got != want {
			t.Errorf("empty receiver: Wants(%d) = %v, want %v", seq, got, want)
		}
	}
	r.OnData(1, 1, now)
	r.OnData(3, 3, now)
	if r.Wants(1) || r.Wants(3) || !r.Wants(2) || !r.Wants(4) || r.Expected() != 2 {
		t.Fatalf("after 1 and 3: Wants(1..4) = %v %v %v %v, Expected %d", r.Wants(1), r.Wants(2), r.Wants(3), r.Wants(4), r.Expected())
	}
	for seq := uint64(0); seq < 20; seq++ {
		want := r.Wants(seq)
		if got := r.OnData(seq, int(seq), now); got != want {
			t.Fatalf("Wants(%d) = %v but OnData accepted: %v", seq, want, got)
		}
	}
}
