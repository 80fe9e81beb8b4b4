// Package mapping translates between MQTT and the mesh: topic names, topic filters (including
// shared subscriptions), QoS, message expiry and the MQTT 5 properties a message carries. It holds
// pure functions only, so the bridge stays thin and every rule is table-tested here.
//
// Topics cross verbatim. The mesh uses MQTT topic names and MQTT filter semantics itself (package
// mesh/topicfilter), so a topic published on one host is the very same string on every other host.
// Any translation (escaping, prefixing) would have to be undone exactly, and topic names are opaque
// byte strings in MQTT: empty levels, leading or trailing '/', '.', spaces and UTF-8 all have to
// survive. Verbatim is the only mapping that is trivially lossless and lets mesh-native endpoints
// see the same topics MQTT clients use.
//
// $SYS stays local. "$SYS" and "$SYS/..." topics describe one broker (its clients, uptime, load);
// carrying them across the mesh would mix the statistics of different hosts under one name and
// flood the mesh with housekeeping traffic. TopicToMesh, TopicFromMesh and FilterToMesh therefore
// refuse them with ErrLocalOnly. Other topics starting with '$' are ordinary topics and cross the
// mesh; only the wildcard rule of MQTT 4.7.2 applies to them ("#" does not match "$x").
//
// Shared subscriptions ("$share/<group>/<filter>", MQTT 5 section 4.8.2) are split by FilterToMesh
// into the plain mesh filter and the group name, so the mesh routes interest by filter and the
// bridge can deliver one copy per group.
//
// QoS 0 travels on the mesh's best-effort channel, QoS 1 and 2 on the reliable one. The MQTT
// properties of a message are encoded into an Envelope carried in the mesh message's Meta bytes;
// message expiry additionally travels as the mesh's remaining lifetime so every hop counts it down.
package mapping
