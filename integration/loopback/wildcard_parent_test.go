package loopback

import (
	"testing"
)

// TestWildcardPlusHashMatchesParentLevel: a filter "p/+/#" matches the topic "p/a" ('+' takes
// "a", and '#' also matches the parent level, MQTT 3.1.1 4.7.1.2 and MQTT 5 4.7.1.2) and "p/",
// as Mosquitto does, on the publisher's own instance and across the mesh.
//
// mochi-mqtt v2.7.9 alone fails it: TopicsIndex.scanSubscribers (topics.go, line 612) gathers
// the "#" child of a matched level only when that level was matched literally, so "p/+/#" never
// matches "p/a". bridge/plushash.go works around it.
func TestWildcardPlusHashMatchesParentLevel(t *testing.T) {
	inst := startMesh(t, 2)
	a, b := inst[0], inst[1]
	p := uniqueTopic("plushash")
	local, remote := connectV5(t, a, "plushash-local"), connectV3(t, b, "plushash-remote")
	local.subscribe(t, p+"/+/#", 1)
	remote.subscribe(t, p+"/+/#", 1)
	pub := connectV3(t, a, "plushash-pub")
	for _, topic := range []string{p + "/a", p + "/", p + "/a/b"} {
		pub.publish(t, topic, 1, "to "+topic)
	}
	for _, s := range []subscriber{local, remote} {
		s.inbox().waitCount(t, 1, deliveryDeadline) // p/a/b, which every broker delivers
	}
	listenQuiet()
	for _, s := range []subscriber{local, remote} {
		got := map[string]bool{}
		for _, m := range s.inbox().all() {
			got[m.Topic] = true
		}
		for _, topic := range []string{p + "/a", p + "/", p + "/a/b"} {
			if !got[topic] {
				t.Errorf("%s subscribed to %q did not get %q (Mosquitto delivers it)", s.name(), p+"/+/#", topic)
			}
		}
	}
}
