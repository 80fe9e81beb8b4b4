package bridge

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// The SUBACK is written only after the mesh confirmed the new interest (SyncInterest returned),
// and the mesh subscription comes before that wait.
func TestSubackWaitsForSyncInterest(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	release := make(chan struct{})
	a.mesh.mu.Lock()
	a.mesh.syncInterest = func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.mesh.mu.Unlock()

	c, _ := v5Client(t, a.srv.Addr(), "waiter", nil)
	subacked := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "wait/#", QoS: 1}}})
		subacked <- err
	}()
	eventually(t, "SyncInterest to be called", func() bool { return slices.Contains(a.mesh.eventLog(), "sync") })
	select {
	case err := <-subacked:
		t.Fatalf("SUBACK arrived while SyncInterest was still waiting (err %v)", err)
	default:
	}
	log := a.mesh.eventLog()
	if i, j := slices.Index(log, "subscribe wait/#"), slices.Index(log, "sync"); i < 0 || i > j {
		t.Fatalf("events %v: want the mesh subscription before the sync", log)
	}
	close(release)
	if err := <-subacked; err != nil {
		t.Fatalf("subscribe: %v", err)
	}
}

// A peer that never confirms delays the SUBACK only up to SubscribeSyncTimeout.
func TestSubackSyncIsBounded(t *testing.T) {
	t.Parallel()
	const bound = 200 * time.Millisecond
	a, _, _ := twoHosts(t, Config{SubscribeSyncTimeout: bound})
	var deadline time.Time
	a.mesh.mu.Lock()
	a.mesh.syncInterest = func(ctx context.Context) error {
		deadline, _ = ctx.Deadline()
		<-ctx.Done()
		return errors.New("peer silent")
	}
	a.mesh.mu.Unlock()
	c, _ := v5Client(t, a.srv.Addr(), "bounded", nil)
	start := time.Now()
	sa := v5Subscribe(t, c, "bounded/#", 1)
	if len(sa.Reasons) != 1 || sa.Reasons[0] != 1 {
		t.Fatalf("suback reasons %v, want [1]", sa.Reasons)
	}
	a.mesh.mu.Lock()
	d := deadline
	a.mesh.mu.Unlock()
	if d.IsZero() || d.Sub(start) > bound+time.Second {
		t.Fatalf("SyncInterest context deadline %v after the subscribe, want about %v", d.Sub(start), bound)
	}
}

// The mesh interest follows the local subscriptions: one mesh filter per distinct filter
// (reference counted), $share/<group>/ stripped, kept for offline persistent sessions, dropped when
// the last subscription goes, and restored by reconcile when a hook was missed.
func TestInterestFollowsSubscriptions(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	wantMesh := func(what string, want ...string) {
		t.Helper()
		eventually(t, what, func() bool {
			got := a.mesh.subscribed()
			if len(got) != len(want) {
				return false
			}
			for _, f := range want {
				if !got[f] {
					return false
				}
			}
			return true
		})
	}
	c1 := v3Client(t, a.srv.Addr(), "c1", true)
	v3Subscribe(t, c1, "room/+/temp", 1, newReceived())
	c2, _ := v5Client(t, a.srv.Addr(), "c2", nil)
	v5Subscribe(t, c2, "$share/workers/room/+/temp", 1)
	wantMesh("one mesh filter for a plain and a shared subscription", "room/+/temp")
	if n := a.srv.hook.interest.filters()["room/+/temp"]; n != 2 {
		t.Fatalf("reference count %d, want 2", n)
	}

	persistent := v3Client(t, a.srv.Addr(), "persistent", false)
	v3Subscribe(t, persistent, "offline/#", 1, newReceived())
	persistent.Disconnect(100)
	wantMesh("persistent session keeps its interest", "room/+/temp", "offline/#")

	if tok := c1.Unsubscribe("room/+/temp"); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("unsubscribe: %v", tok.Error())
	}
	wantMesh("filter kept while c2 needs it", "room/+/temp", "offline/#")
	if n := a.srv.hook.interest.filters()["room/+/temp"]; n != 1 {
		t.Fatalf("reference count %d, want 1", n)
	}
	_ = c2.Disconnect(&paho.Disconnect{})
	wantMesh("filter dropped with the last clean session", "offline/#")

	// A missed hook (as on session takeover) is repaired by reconcile.
	a.srv.hook.interest.removeClient("persistent")
	wantMesh("forgotten interest")
	a.srv.hook.reconcile()
	wantMesh("interest restored from mochi's sessions", "offline/#")
}

// The interest survives a session takeover by a new connection with the same client ID.
func TestInterestSurvivesTakeover(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	first := v3Client(t, a.srv.Addr(), "same", false)
	got := newReceived()
	v3Subscribe(t, first, "take/#", 1, got)
	second := v3Client(t, a.srv.Addr(), "same", false) // takes the session over
	eventually(t, "first connection to be dropped", func() bool { return !first.IsConnectionOpen() })
	if !a.mesh.subscribed()["take/#"] {
		t.Fatalf("mesh interest lost on takeover: %v", a.mesh.subscribed())
	}
	got2 := newReceived()
	v3Subscribe(t, second, "take/#", 1, got2)
	v3Publish(t, v3Client(t, b.srv.Addr(), "pub", true), "take/x", 1, "x")
	got2.waitTopic(t, "take/x")
}

// An expired persistent session takes its interest with it (mochi fires no OnUnsubscribed then).
func TestInterestDroppedOnClientExpired(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	c := v3Client(t, a.srv.Addr(), "expiring", false)
	v3Subscribe(t, c, "exp/#", 1, newReceived())
	c.Disconnect(100)
	cl, ok := a.srv.mqtt.Clients.Get("expiring")
	if !ok || !a.mesh.subscribed()["exp/#"] {
		t.Fatalf("offline session or its interest missing: %v %v", ok, a.mesh.subscribed())
	}
	a.srv.hook.OnClientExpired(cl) // as mochi's expiry sweep does, before deleting the client
	if a.mesh.subscribed()["exp/#"] {
		t.Fatal("interest of an expired session kept")
	}
}
