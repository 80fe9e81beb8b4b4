package bridge

import (
	"testing"
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
	rc := v3Client(t, b.srv.Addr(), "ph-remote", true)
	v3Subscribe(t, rc, "p/+/#", 2, remote)
	pub := v3Client(t, a.srv.Addr(), "ph-pub", true)
	for _, topic := range []string{"p/a", "p/", "p/a/b", "q/a"} {
		v3Publish(t, pub, topic, 1, "to "+topic)
	}
	v3Publish(t, pub, "p/end", 0, "end") // matches p/+/#: once it is in, everything before is too
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
