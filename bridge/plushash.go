package bridge

import (
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

// mochi v2.7.9 misses one MQTT matching rule: a filter whose '#' follows a '+' ("p/+/#") must
// also match the parent level ("p/a"; MQTT 3.1.1 and 5, 4.7.1.2), but TopicsIndex.scanSubscribers
// (topics.go, line 612) skips the '#' child of a level matched by '+'. Mosquitto delivers; so
// must we. mochi offers no hook on that path, except OnSelectSubscribers, which it calls only
// when a shared subscription matches. So the bridge holds one internal shared subscription to
// "#" for a client that does not exist: every publish then passes through OnSelectSubscribers,
// which removes that subscription again and adds the subscribers mochi missed.
//
// Finding them: a subscriber mochi missed for topic T has a filter ending in "+/#" that matches
// T; mochi's own scan of the child topic T/x does find that subscriber (the '#' is then below
// the level). For each client found there, its own filters are matched against T with the mesh's
// matcher (which follows the specification), and the client gets the merge of those that match,
// as mochi merges overlapping subscriptions.

const (
	plusHashClient = "glue-mqtt-bridge-plushash" // not a real client: no session, no connection
	plusHashShare  = "$share/" + plusHashClient + "/#"
)

// installPlusHashFix adds the internal shared subscription. It is not in any client's session,
// so it is not persisted, counted as interest, or shown to anyone.
func installPlusHashFix(srv *mqtt.Server) {
	srv.Topics.Subscribe(plusHashClient, packets.Subscription{Filter: plusHashShare})
}

// OnSelectSubscribers takes the internal shared subscription out again and adds the
// subscriptions mochi missed.
func (h *hook) OnSelectSubscribers(subs *mqtt.Subscribers, pk packets.Packet) *mqtt.Subscribers {
	delete(subs.Shared, plusHashShare)
	topic := pk.TopicName
	if topic == "" {
		return subs
	}
	below := h.srv.Topics.Subscribers(topic + "/x")
	for clientID := range below.Subscriptions {
		cl, ok := h.srv.Clients.Get(clientID)
		if !ok {
			continue
		}
		var merged packets.Subscription
		found := false
		for filter, sub := range cl.State.Subscriptions.GetAll() {
			if !strings.HasSuffix(filter, "+/#") || !topicfilter.Match(filter, topic) {
				continue // mochi's own scan handles every other filter correctly
			}
			if !found {
				merged, found = sub, true
			} else {
				merged = merged.Merge(sub)
			}
		}
		if !found {
			continue
		}
		if have, ok := subs.Subscriptions[clientID]; ok {
			merged = have.Merge(merged)
		}
		if subs.Subscriptions == nil {
			subs.Subscriptions = map[string]packets.Subscription{}
		}
		subs.Subscriptions[clientID] = merged
	}
	return subs
}
