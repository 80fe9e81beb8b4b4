// Package bridge joins the embedded MQTT broker (mochi-mqtt) to the mesh. It is the only package
// that imports mochi; the MQTT <-> mesh rules themselves (topics, filters, QoS, properties) live in
// package mapping as pure functions.
//
// # Shape
//
// Server owns one mochi server with a TCP listener, mochi's allow-all auth hook (users and ACLs
// are a later issue) and the bridge hook. The hook sees every local PUBLISH, SUBSCRIBE and
// UNSUBSCRIBE, and it owns an inline client of its own (ID InlineClientID, MQTT 5) through which
// mesh messages are injected with s.InjectPacket, because mochi's s.Publish cannot carry MQTT 5
// properties.
//
// # Local publish -> mesh
//
// OnPublish runs on the publishing client's goroutine before mochi acknowledges the packet. A
// publish on a valid mesh topic is handed to Mesh.Send there, synchronously, bounded by
// Config.PublishTimeout: Send blocks while the mesh's send buffers are full, so a fast publisher is
// slowed down through TCP instead of memory growing, and the client's PUBACK (or PUBREC) comes only
// after the mesh took the message. $SYS topics and names the mesh refuses stay local. Messages
// that our own inline client injected are recognised by the client pointer and never sent back
// into the mesh, which is what prevents loops and echo.
//
// # Mesh -> local subscribers
//
// The hook subscribes the mesh (type "" = every type) with one handler for every filter in the
// local interest set. The mesh calls the handler once per matching subscription, so with
// overlapping filters (a/# and a/+) the same message arrives several times; a bounded cache of
// (Origin, Session, ID) keys drops the repeats, so each mesh message is injected once. MQTT
// messages (type "mqtt") carry their QoS, retain flag and MQTT 5 properties in an Envelope in the
// message's Meta; the message expiry is taken from the mesh's remaining lifetime, so it counts
// down across hosts. Messages from native Go endpoints (any other type) are injected with their raw
// payload at QoS 1 when they came over the reliable channel, else QoS 0.
//
// # Interest
//
// The interest set is the set of mesh filters of all local subscriptions: wildcards kept,
// "$share/<group>/" stripped, $SYS left out, subscriptions of offline persistent sessions
// included. It is tracked per client from OnSubscribed, OnUnsubscribed and OnClientExpired and
// reference counted per mesh filter, so the mesh is subscribed when the first local subscription
// needs a filter and unsubscribed when the last one goes. mochi fires no hook for session
// takeover or for sessions restored from storage, so the set is also rebuilt from a snapshot of
// s.Clients after Serve and every Config.ReconcileInterval; the snapshot is taken under the same
// lock as the hooks' updates, and mochi changes a client's subscriptions before calling the hooks,
// so a snapshot never loses an update that a hook already applied.
//
// Subscribe, then publish: OnSubscribed runs after the subscription is in mochi's index and before
// the SUBACK is written. It waits, bounded by Config.SubscribeSyncTimeout, for Mesh.SyncInterest,
// which returns once every live peer has applied our interest set. So once a client holds its
// SUBACK, a publish on any other live host reaches it. On timeout the SUBACK is sent anyway and a
// warning logged: a slow peer must not stall local clients forever.
//
// # Acknowledgements
//
// mochi v2.7.9 answers an MQTT 5 QoS 1 PUBLISH with reason code 0x01 (the SUBACK "granted QoS 1"
// code, invalid in a PUBACK) and copies the publish's properties into its acks. The server sets
// Compatibilities.NoInheritedPropertiesOnAck and the hook rewrites every non-error PUBACK/PUBREC
// reason code to 0x00 Success in OnPacketEncode. (0x10 No matching subscribers would need to know
// whether any host has a subscriber; we cannot tell cheaply, and 0x00 is always correct.)
//
// # What the mesh does not carry
//
// When Mesh.Send fails or times out, or a publish's properties do not fit the envelope (more than
// mapping.MaxUserProperties user properties, a response topic with a wildcard...), an MQTT 5 QoS
// 1 or 2 publisher gets a PUBACK or PUBREC with a failure reason code (0x97, 0x83 or 0x80) and a
// reason string, and the message is delivered nowhere: the client knows and may retry. MQTT
// 3.1.1 has no failure acknowledgement and QoS 0 no acknowledgement at all, so those publishes
// are acknowledged and delivered to this host's subscribers only, with a warning. Both outcomes
// are counted by reason in Stats (Refused, LocalOnly). A mesh message whose topic or envelope is
// invalid (bad UTF-8, NUL, wildcards, a payload format other than 0 or 1) is dropped whole,
// counted in Stats.Dropped and logged at warning level once per reason.
//
// # Size limit
//
// mochi enforces only a hard ceiling (about twice Config.MaxPacketSize), at the packet header,
// closing without a word. The hook refuses packets over the configured limit in OnPacketRead,
// after mochi has read them: an MQTT 5 client gets a DISCONNECT 0x95 Packet too large, an MQTT
// 3.1.1 client the close, and the log a warning with the client ID and the size.
//
// # Not yet
//
// Retained messages are passed through as they are: stored on the host where they are published
// and on every host that receives them over the mesh; mesh-wide retained state (replication, last
// writer wins, tombstones, reconciliation) is a later issue. Shared subscriptions give one
// delivery per group per host (mochi selects the member), not yet per mesh. Wills cross the mesh
// (mochi publishes them without OnPublish; the hook sends them on from OnWillSent), but the wills
// of the clients of a host that died are a later issue.
package bridge
