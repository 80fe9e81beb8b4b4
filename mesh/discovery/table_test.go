package discovery

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Unix(1700000000, 0)

func ann(id byte, session uint64) Announcement {
	return Announcement{ID: ID{id}, Session: session, Name: "n", Addr: netip.MustParseAddrPort("127.0.0.1:1000"), Interval: time.Second}
}

func TestJoinRefreshExpire(t *testing.T) {
	tb := NewTable(ID{0xff}, Config{Multiplier: 3})
	ev, ok := tb.Observe(ann(1, 10), t0)
	if !ok || ev.Kind != Joined {
		t.Fatalf("first beacon: got %v %v, want joined", ev.Kind, ok)
	}
	if _, ok := tb.Observe(ann(1, 10), t0.Add(time.Second)); ok {
		t.Fatal("a refresh must not be an event")
	}
	if evs := tb.Expire(t0.Add(3*time.Second + time.Second - time.Nanosecond)); len(evs) != 0 {
		t.Fatalf("expired too early: %v", evs)
	}
	if got := tb.NextExpiry(); !got.Equal(t0.Add(4 * time.Second)) {
		t.Fatalf("next expiry %v", got)
	}
	evs := tb.Expire(t0.Add(4 * time.Second))
	if len(evs) != 1 || evs[0].Kind != Left || !evs[0].Expired {
		t.Fatalf("want one expiry, got %v", evs)
	}
	if tb.Len() != 0 {
		t.Fatal("table not empty")
	}
}

func TestOwnAnnouncementIgnored(t *testing.T) {
	tb := NewTable(ID{1}, DefaultConfig())
	if _, ok := tb.Observe(ann(1, 5), t0); ok || tb.Len() != 0 {
		t.Fatal("own beacon must be ignored")
	}
}

func TestRestartAndStaleSession(t *testing.T) {
	tb := NewTable(ID{0xff}, DefaultConfig())
	tb.Observe(ann(1, 10), t0)
	ev, ok := tb.Observe(ann(1, 20), t0.Add(time.Second))
	if !ok || ev.Kind != Restarted || ev.PrevSession != 10 || ev.Peer.Session != 20 {
		t.Fatalf("restart: got %+v %v", ev, ok)
	}
	if _, ok := tb.Observe(ann(1, 10), t0.Add(2*time.Second)); ok {
		t.Fatal("a delayed beacon of the old session must be stale, not a restart")
	}
	if tb.Stats().Stale != 1 || tb.Stats().Restarts != 1 {
		t.Fatalf("stats %+v", tb.Stats())
	}
	if p, _ := tb.Get(ID{1}); p.Session != 20 {
		t.Fatalf("session %d, want 20", p.Session)
	}
}

func TestChangedAndLeaving(t *testing.T) {
	tb := NewTable(ID{0xff}, DefaultConfig())
	tb.Observe(ann(1, 10), t0)
	a := ann(1, 10)
	a.InterestDigest = 42
	if ev, ok := tb.Observe(a, t0); !ok || ev.Kind != Changed || ev.Peer.InterestDigest != 42 {
		t.Fatalf("digest change: %+v %v", ev, ok)
	}
	a.Leaving = true
	if ev, ok := tb.Observe(a, t0); !ok || ev.Kind != Left || ev.Expired {
		t.Fatalf("goodbye: %+v %v", ev, ok)
	}
	if _, ok := tb.Observe(a, t0); ok {
		t.Fatal("goodbye of an unknown peer must not add it")
	}
}

func TestBounded(t *testing.T) {
	tb := NewTable(ID{0xff}, Config{MaxPeers: 3})
	for i := 1; i <= 5; i++ {
		tb.Observe(ann(byte(i), 1), t0)
	}
	if tb.Len() != 3 || tb.Stats().Refused != 2 {
		t.Fatalf("len %d stats %+v", tb.Len(), tb.Stats())
	}
}

func TestRefreshKeepsAlive(t *testing.T) {
	tb := NewTable(ID{0xff}, Config{Multiplier: 2})
	tb.Observe(ann(1, 10), t0)
	if !tb.Refresh(ID{1}, 10, t0.Add(time.Second)) {
		t.Fatal("refresh of a known peer")
	}
	if tb.Refresh(ID{1}, 11, t0) || tb.Refresh(ID{2}, 10, t0) {
		t.Fatal("refresh of an unknown session must fail")
	}
	if evs := tb.Expire(t0.Add(2500 * time.Millisecond)); len(evs) != 0 {
		t.Fatal("refreshed peer expired")
	}
}

// A host without a real-time clock can reboot "into the past": its new session is lower than
// the old one. While the old session is still heard, a lower one is a straggler; once the old one
// has been silent for 1.5 intervals, an unknown lower session is a restart. The replaced session
// stays stale afterwards, whatever its number.
func TestRestartIntoThePast(t *testing.T) {
	tb := NewTable(ID{0xff}, DefaultConfig())
	tb.Observe(ann(1, 1000), t0)
	tb.Observe(ann(1, 1000), t0.Add(time.Second))
	if _, ok := tb.Observe(ann(1, 500), t0.Add(1400*time.Millisecond)); ok {
		t.Fatal("a lower session while the current one is heard must be stale")
	}
	ev, ok := tb.Observe(ann(1, 500), t0.Add(2500*time.Millisecond))
	if !ok || ev.Kind != Restarted || ev.PrevSession != 1000 || ev.Peer.Session != 500 {
		t.Fatalf("reboot into the past after 1.5 s of silence: %+v %v, want restarted", ev, ok)
	}
	// A straggler of the replaced boot, even after the new one went quiet: stale.
	if _, ok := tb.Observe(ann(1, 1000), t0.Add(10*time.Second)); ok {
		t.Fatal("the replaced session came back as a restart")
	}
	// A third boot, into the past again, after silence: a restart; both earlier sessions stay stale.
	tb.Observe(ann(1, 500), t0.Add(11*time.Second))
	ev, ok = tb.Observe(ann(1, 200), t0.Add(13*time.Second))
	if !ok || ev.Kind != Restarted || ev.PrevSession != 500 {
		t.Fatalf("second reboot into the past: %+v %v", ev, ok)
	}
	for _, s := range []uint64{500, 1000} {
		if _, ok := tb.Observe(ann(1, s), t0.Add(20*time.Second)); ok {
			t.Fatalf("replaced session %d accepted again", s)
		}
	}
	if p, _ := tb.Get(ID{1}); p.Session != 200 {
		t.Fatalf("session %d, want 200", p.Session)
	}
	if st := tb.Stats(); st.Restarts != 2 || st.Stale != 4 {
		t.Fatalf("stats %+v, want 2 restarts and 4 stale", st)
	}
}
