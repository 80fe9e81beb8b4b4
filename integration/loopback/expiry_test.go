package loopback

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestMessageExpiryCountsDownAcrossHosts: MQTT 5 messages with a Message Expiry Interval cross
// from A to B and wait on B, queued for an offline persistent session, for a measured delay.
// When that session comes back, the waiting message's remaining interval must be the published
// one minus the time it spent (never more than what the mesh handed over), and a message whose
// interval ran out while it waited must not be delivered at all. An online subscriber on B shows
// what arrived over the mesh: at most the published interval.
func TestMessageExpiryCountsDownAcrossHosts(t *testing.T) {
	inst := startMesh(t, 2)
	a, b := inst[0], inst[1]
	topic := uniqueTopic("expiry")
	const (
		long  = 30 // seconds: still valid after the wait
		short = 2  // seconds: expired after the wait
		wait  = 4 * time.Second
	)

	// A persistent session on B subscribes, then goes offline; its messages queue on B.
	offline := dialSession(t, b, "expiry-offline", true)
	offline.subscribe(t, topic, 1)
	if err := offline.c.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	online := connectV5(t, b, "expiry-online")
	online.subscribe(t, topic, 1)

	pub := connectV5(t, a, "expiry-pub")
	for _, m := range []struct {
		payload string
		expiry  uint32
	}{{"long", long}, {"short", short}, {"marker", 0}} {
		p := &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(m.payload)}
		if m.expiry > 0 {
			e := m.expiry
			p.Properties = &paho.PublishProperties{MessageExpiry: &e}
		}
		pub.publish(t, p)
	}
	arrived := online.in.waitPayload(t, topic, "long").At
	online.in.waitPayload(t, topic, "marker")
	for payload, limit := range map[string]uint32{"long": long, "short": short} {
		d := online.in.waitPayload(t, topic, payload)
		if d.Props == nil || d.Props.MessageExpiry == nil || *d.Props.MessageExpiry == 0 || *d.Props.MessageExpiry > limit {
			t.Errorf("online subscriber on B: %q with expiry %v, want 1..%d", payload, d.Props, limit)
		}
	}

	// The measured delay: the short message runs out on B (mochi sweeps expired messages every
	// second), the long one keeps counting down.
	for time.Since(arrived) < wait {
		time.Sleep(50 * time.Millisecond)
	}
	back := dialSession(t, b, "expiry-offline", false)
	elapsed := time.Since(arrived)
	back.in.waitPayload(t, topic, "marker")
	got := back.in.waitPayload(t, topic, "long")
	listenQuiet()
	if got.Props == nil || got.Props.MessageExpiry == nil {
		t.Fatalf("queued message delivered without an expiry: %+v", got.Props)
	}
	// mochi keeps expiry in whole Unix seconds, so the remaining interval can be up to a second
	// more than the exact one.
	remaining, most := *got.Props.MessageExpiry, uint32(long-int(elapsed.Seconds())+1)
	t.Logf("published with %d s, delivered %v after arriving on B with %d s left", long, elapsed.Round(time.Millisecond), remaining)
	if remaining == 0 || remaining > most {
		t.Errorf("remaining expiry %d s after %v on B, want 1..%d", remaining, elapsed.Round(time.Millisecond), most)
	}
	for _, m := range back.in.all() {
		if m.Payload == "short" {
			t.Errorf("a message with a %d s expiry was delivered %v after it reached B", short, elapsed.Round(time.Millisecond))
		}
	}
}

// dialSession connects an MQTT 5 client with a session that outlives the connection (expiry
// 300 s); clean starts it anew, else the session is resumed.
func dialSession(t *testing.T, inst *instance, id string, clean bool) *v5Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", inst.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", inst.name, err)
	}
	cl := &v5Client{id: id, in: newInbox()}
	cl.c = paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			p := pr.Packet
			cl.in.add(delivery{Topic: p.Topic, Payload: string(p.Payload), QoS: p.QoS, Props: p.Properties})
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	expiry := uint32(300)
	ack, err := cl.c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: clean, KeepAlive: 30,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if err != nil {
		t.Fatalf("v5 session %s: connect: %v", id, err)
	}
	if !clean && !ack.SessionPresent {
		t.Fatalf("v5 session %s: the session was not resumed", id)
	}
	t.Cleanup(func() { _ = cl.c.Disconnect(&paho.Disconnect{ReasonCode: 0}) })
	return cl
}
