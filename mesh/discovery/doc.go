// Package discovery keeps the mesh's peer table: who is on the network, at which data address, with
// which interest digest, and until when we believe they are alive.
//
// It is a pure state machine in the style of quic-go's ackhandler: no sockets, no goroutines, no
// clock of its own. The endpoint's loop feeds it the beacons it receives (Observe) and the current
// time (Expire), and acts on the events it returns:
//
//	Joined     a new endpoint ID was heard: send it our beacon at once (so it learns about us
//	           without waiting a beacon period) and our interest set.
//	Restarted  a known endpoint ID came back with a new session (a new boot): everything held for
//	           the old session (transport state, partial messages, interest) is void.
//	Changed    the peer's data address or digests changed.
//	Left       the peer said goodbye (LEAVING beacon) or was not heard for interval x multiplier.
//
// Sessions are ordered: an endpoint's session starts with its boot time in milliseconds, so a
// delayed beacon of the previous boot (lower session) is recognised as stale rather than as a
// second restart. A host without a real-time clock may boot with its clock in the past, though,
// and so with a lower session: a lower session the table never saw is taken as a restart once the
// known session has been silent for 1.5 beacon intervals (a live boot beacons every interval), and
// the sessions a restart replaced (the last four) stay stale for good, whatever their order.
//
// The table is bounded (Config.MaxPeers): a beacon from a new endpoint when the table is full is
// refused and counted, so a flood of forged endpoint IDs cannot grow memory.
package discovery
