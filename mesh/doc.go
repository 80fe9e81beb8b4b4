// Package mesh is glue's brokerless publish/subscribe mesh for one LAN segment, and the Go API of
// an endpoint on it (New, Start, Publish/Send, Subscribe, Unsubscribe, Stop).
//
// Endpoints find each other by UDP discovery (multicast beacons, or unicast through a
// rendezvous), tell each other which topics they want, and carry each message straight to the
// endpoints that want it, over an acknowledged, fragmenting UDP transport. No broker, no
// addresses to configure.
//
// # Layers
//
//	Publish/Subscribe (this package: Endpoint, interest routing, delivery goroutine)
//	       |  topics: MQTT-style filters (mesh/topicfilter), interest sets with versions,
//	       |          message expiry honoured at the receiver
//	+------+----------------------------------------------------------------------+
//	| loop goroutine (core): owns every state machine below, takes time as "now"  |
//	|   reliable  (mesh/reliable)  per-peer channel: seq, cumulative+selective     |
//	|             ACKs, RFC 9002 RTT/loss detection, NewReno window, back-pressure |
//	|   frag      (mesh/frag)      split to MTU, bounded reassembly (budget+timeout)|
//	|   discovery (mesh/discovery) peer table: join, restart, expiry, rendezvous   |
//	|   wire      (mesh/wire)      frames, batching, AEAD sealing, replay window   |
//	+------+----------------------------------------------------------------------+
//	       |  network (mesh/netx): data socket per process, shared discovery socket
//	       |  (SO_REUSEPORT, multicast group), recvmmsg/sendmmsg; mesh/memnet in tests
//	      UDP
//
// Imports point downward only: this package imports the layers below it; the protocol packages
// (wire, frag, reliable, discovery, topicfilter) import nothing of the module and no third
// party, only the standard library, so each is a state machine tested on its own; netx (sockets,
// golang.org/x/net) and memnet (the in-memory network of the tests) sit beside them.
// topicfilter is shared with mapping/. TestImportRules (arch_test.go) enforces it.
//
// # Wire format
//
// Every datagram is a 47-byte header and a body of frames (docs/PROTOCOL.md has every byte):
//
//	+-------+---------+-------+--------------+-----------+----------------+----------------+-------------+
//	| 'G'   | version | flags | network tag  | sender ID | sender session | dest. session  | packet no.  |
//	| 1     | 1       | 1     | 4            | 16        | 8              | 8              | 8           |
//	+-------+---------+-------+--------------+-----------+----------------+----------------+-------------+
//	| frames: BEACON | PEERS | DATA(reliable seq, msgID, fragment i/n, bytes) | ACK(cum, ranges) ...  |
//	| (AES-256-GCM sealed, header as additional data, when the network has a key)                        |
//	+----------------------------------------------------------------------------------------------------+
//
// A message (PUBLISH: topic, type, expiry, metadata, payload; INTEREST: version and filters;
// INTEREST_ACK: version applied) is split into DATA fragments. Several frames to one peer share a
// datagram: the loop builds one datagram per peer during a turn and flushes them all at the end
// of the turn, so batching costs no timer (the linger is one turn of the loop).
//
// # Guarantees
//
// Reliable messages from one endpoint to another arrive exactly once and in publish order, as
// long as both stay in each other's tables. Best-effort messages (MQTT QoS 0) are delivered at
// most once. Memory is bounded everywhere: per-peer send buffers and backlogs (publishers wait),
// one reassembly budget for everything received in partial form, reliable or not (beyond it the
// sender waits), the delivery queue, the peer table.
// An endpoint does not deliver its own publishes to its own subscriptions.
package mesh
