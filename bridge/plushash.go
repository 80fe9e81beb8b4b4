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
// as mochi merges overlapping subscriptions. Shared subscriptions ("$share/<group>/p/+/#") are
// found the same way, matched with "$share/<group>/" stripped, and added as whole groups, so
// that mochi still picks one member of each group for the message.
//
// The scan costs about as much as mochi's own, so it runs only while some local subscription's
// filter ends in "+/#" (the interest tracker counts them, $SYS filters included).
//
// The internal subscription's share group contains a '+', which mochi refuses in a client's
// SUBSCRIBE (MQTT 5 section 4.8.2), so no client can join the group the hook removes; and its
// client ID is reserved (OnConnect).

const (
	plusHashClient = "glue-mqtt-bridge-plushash" // not a real client: no session, no connection
	plusHashShare  = "$share/glue-mqtt-bridge+plushash/#"
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
	if topic == "" || !h.interest.hasPlusHash() {
		return subs // no local filter ends in "+/#": mochi missed nobody
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
			if !missedByMochi(filter, topic) || mqtt.IsSharedFilter(filter) {
				continue // mochi's own scan handles every other filter; shared ones are below
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
	for filter, members := range below.Shared {
		if filter == plusHashShare || !missedByMochi(shareFilter(filter), topic) {
			continue
		}
		if _, ok := subs.Shared[filter]; ok {
			continue // mochi found this group itself
		}
		if subs.Shared == nil {
			subs.Shared = map[string]map[string]packets.Subscription{}
		}
		subs.Shared[filter] = members // the whole group: mochi selects one member
	}
	return subs
}

// missedByMochi reports whether filter matches topic by the rule mochi misses: a '#' after a '+'
// matching the parent level.
func missedByMochi(filter, topic string) bool {
	return strings.HasSuffix(filter, "+/#") && topicfilter.Match(filter, topic)
}

// shareFilter strips "$share/<group>/" from a shared subscription's filter ("" if malformed).
// mochi recognises the prefix case-insensitively, so this does too.
func shareFilter(filter string) string {
	if !mqtt.IsSharedFilter(filter) {
		return filter
	}
	_, rest, _ := strings.Cut(filter, "/") // past "$share"
	_, rest, ok := strings.Cut(rest, "/")  // past the group
	if !ok {
		return ""
	}
	return rest
}
