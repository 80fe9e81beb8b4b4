package bridge

import (
	"context"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// "p/+/#" matches the parent level "p/a" (MQTT 4.7.1.2), which mochi v2.7.9 misses on its own:
// delivered once, at the highest QoS of the client's matching subscriptions, next to an
// overlapping subscription, locally and from the mesh; and the internal subscription that makes
// the fix possible reaches nobody.
func TestPlusHashMatchesParentLevel(t *testing.T) {
	a, b, _ := twoHosts(t, Config{})
	local, remote := newReceived(), newReceived()
	// One v5 client with both subscriptions (paho 3.1.1 would call one handler per matching
	// subscription and so count one PUBLISH twice).
	lc, _ := v5Client(t, a.srv.Addr(), "ph-local", local)
	v5Subscribe(t, lc, "p/+/#", 1)
	v5Subscribe(t, lc, "p/a", 0)
	rc := orderedV3Client(t, b.srv.Addr(), "ph-remote")
	v3Subscribe(t, rc, "p/+/#", 2, remote)
	pub := v3Client(t, a.srv.Addr(), "ph-pub", true)
	for _, topic := range []string{"p/a", "p/", "p/a/b", "q/a"} {
		v3Publish(t, pub, topic, 1, "to "+topic)
	}
	// Matches p/+/#, and mochi writes one client's PUBLISHes (QoS 0 and 1 alike) in the order it
	// delivers them: once the marker has reached a handler, everything before it has too, as
	// both clients run their handlers in arrival order.
	v3Publish(t, pub, "p/end", 0, "end")
	local.waitTopic(t, "p/end")
	remote.waitTopic(t, "p/end")
	for name, r := range map[string]*received{"local": local, "remote": remote} {
		for _, topic := range []string{"p/a", "p/", "p/a/b"} {
			if n := r.count(topic); n != 1 {
				t.Errorf("%s: %d deliveries of %q, want 1", name, n, topic)
			}
		}
		if r.count("q/a") != 0 {
			t.Errorf("%s: q/a delivered", name)
		}
		for _, m := range r.snapshot() {
			if m.topic == "p/a" && m.qos != 1 {
				t.Errorf("%s: p/a at QoS %d, want 1 (the highest matching subscription, capped by the publish)", name, m.qos)
			}
		}
	}
}

// orderedV3Client connects an MQTT 3.1.1 client whose handlers run one at a time in arrival
// order. v3Client's do not (SetOrderMatters(false): paho.mqtt.golang starts a goroutine per
// message), so a later message, such as an end marker, can reach its handler first.
func orderedV3Client(t *testing.T, addr, id string) pahov3.Client {
	t.Helper()
	c := newV3(v3Options(addr, id).SetCleanSession(true).SetOrderMatters(true))
	tok := c.Connect()
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("v3 connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// The client ID of the workaround's internal subscription is reserved like the inline client's.
func TestPlusHashClientIDReserved(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	requireClientIDRefused(t, a.srv.Addr(), plusHashClient)
}

// No client can join the share group of the internal subscription (its name has a '+', which
// SUBSCRIBE refuses), and a group of a similar name is an ordinary group.
func TestPlusHashShareGroupNotUsable(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	got := newReceived()
	c, _ := v5Client(t, a.srv.Addr(), "sneaky", got)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: plusHashShare, QoS: 1}}})
	if sa == nil || len(sa.Reasons) != 1 || sa.Reasons[0] != packets.ErrTopicFilterInvalid.Code {
		t.Fatalf("SUBSCRIBE %q: %+v, %v; want reason 0x8F Topic filter invalid", plusHashShare, sa, err)
	}
	// The group name the workaround used before: nothing special about it now.
	v5Subscribe(t, c, "$share/glue-mqtt-bridge-plushash/#", 1)
	pub := v3Client(t, a.srv.Addr(), "pub", true)
	v3Publish(t, pub, "any/topic", 1, "x")
	got.waitTopic(t, "any/topic")
}

// Shared subscriptions with "+/#" get the parent level too, locally and from the mesh, and keep
// one delivery per group: of two members of one group exactly one gets each message, and a
// second group gets its own copy.
func TestPlusHashSharedSubscription(t *testing.T) {
	t.Parallel()
	a, b, _ := twoHosts(t, Config{})
	g1, g2, h := newReceived(), newReceived(), newReceived()
	members := map[string]*received{"g1": g1, "g2": g2, "h": h}
	for name, r := range members {
		c, _ := v5Client(t, a.srv.Addr(), "member-"+name, r)
		group := "g"
		if name == "h" {
			group = "h"
		}
		v5Subscribe(t, c, "$share/"+group+"/p/+/#", 1)
		v5Subscribe(t, c, "done/#", 1) // an ordinary subscription, for the end marker
	}
	topics := []string{"p/a", "p/", "p/a/b", "p/b"}
	for _, from := range []struct {
		name string
		addr string
	}{{"local", a.srv.Addr()}, {"mesh", b.srv.Addr()}} {
		pub := v3Client(t, from.addr, "pub-"+from.name, true)
		for _, topic := range topics {
			v3Publish(t, pub, topic, 1, from.name)
		}
		v3Publish(t, pub, "done/"+from.name, 1, "end") // after the others, on every member's connection
		for _, r := range members {
			r.waitTopic(t, "done/"+from.name)
		}
		for _, topic := range topics {
			inG, inH := 0, 0
			for name, r := range members {
				n := 0
				for _, m := range r.snapshot() {
					if m.topic == topic && m.payload == from.name {
						n++
					}
				}
				if name == "h" {
					inH += n
				} else {
					inG += n
				}
			}
			if inG != 1 || inH != 1 {
				t.Errorf("%s publish on %q: group g got %d copies, group h %d; want 1 each", from.name, topic, inG, inH)
			}
		}
	}
}

// The scan runs only while a local filter ends in "+/#": the count follows SUBSCRIBE,
// UNSUBSCRIBE, disconnection and reconciliation, and includes filters that stay local ($SYS).
func TestPlusHashCountFollowsSubscriptions(t *testing.T) {
	t.Parallel()
	a, _, _ := twoHosts(t, Config{})
	in := a.srv.hook.interest
	if in.hasPlusHash() {
		t.Fatal("counted a +/# filter before any subscription")
	}
	got := newReceived()
	c, _ := v5Client(t, a.srv.Addr(), "counted", got)
	v5Subscribe(t, c, "$SYS/+/#", 0)
	v5Subscribe(t, c, "q/+/#", 1)
	if n := in.plusHash.Load(); n != 2 {
		t.Fatalf("count %d after two +/# subscriptions, want 2", n)
	}
	a.srv.hook.reconcile()
	if n := in.plusHash.Load(); n != 2 {
		t.Fatalf("count %d after reconcile, want 2", n)
	}
	pub := v3Client(t, a.srv.Addr(), "pub", true)
	v3Publish(t, pub, "q/a", 1, "x")
	got.waitTopic(t, "q/a")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"q/+/#"}}); err != nil {
		t.Fatal(err)
	}
	if n := in.plusHash.Load(); n != 1 {
		t.Fatalf("count %d after UNSUBSCRIBE, want 1", n)
	}
	_ = c.Disconnect(&paho.Disconnect{})
	eventually(t, "the clean session's filters to be forgotten", func() bool { return !in.hasPlusHash() })
}
