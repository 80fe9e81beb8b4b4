package mesh

import "sync/atomic"

// Stats are the endpoint's counters since Start. Drops are counted by reason, so an operator can
// tell a foreign network from an attack from a bug.
type Stats struct {
	DatagramsIn, DatagramsOut uint64
	BytesIn, BytesOut         uint64
	MessagesOut, MessagesIn   uint64 // PUBLISH messages sent (per peer) and delivered to handlers
	Retransmits               uint64

	DropOwn        uint64 // our own multicast beacons coming back
	DropMalformed  uint64 // undecodable datagrams, frames or messages
	DropVersion    uint64 // another protocol version
	DropNetwork    uint64 // another network ID
	DropAuth       uint64 // failed authentication (wrong key, forged, unsealed on a keyed network)
	DropReplay     uint64 // replayed datagrams
	DropStale      uint64 // data for a previous session of ours, or from an unknown peer
	DropDuplicate  uint64 // best-effort messages seen twice
	DropExpired    uint64 // messages whose expiry passed before delivery
	DropQueueFull  uint64 // best-effort messages dropped because the handlers were behind
	DropReassembly uint64 // fragments refused by the reassembler (budget, inconsistent)
	DropNoRoute    uint64 // messages to a failing peer, or lost with a peer that left

	PeersJoined, PeersLeft, PeerRestarts uint64
	PeerFailures                         uint64 // peers that stopped acknowledging
	WriteErrors                          uint64
	ReadErrors                           uint64
}

type counters struct {
	datagramsIn, datagramsOut, bytesIn, bytesOut   atomic.Uint64
	messagesOut, messagesIn, retransmits           atomic.Uint64
	dropOwn, dropMalformed, dropVersion            atomic.Uint64
	dropNetwork, dropAuth, dropReplay, dropStale   atomic.Uint64
	dropDuplicate, dropExpired, dropQueueFull      atomic.Uint64
	dropReassembly, dropNoRoute                    atomic.Uint64
	peersJoined, peersLeft, peerRestarts, failures atomic.Uint64
	writeErrors, readErrors                        atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		DatagramsIn: c.datagramsIn.Load(), DatagramsOut: c.datagramsOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		MessagesOut: c.messagesOut.Load(), MessagesIn: c.messagesIn.Load(), Retransmits: c.retransmits.Load(),
		DropOwn: c.dropOwn.Load(), DropMalformed: c.dropMalformed.Load(), DropVersion: c.dropVersion.Load(),
		DropNetwork: c.dropNetwork.Load(), DropAuth: c.dropAuth.Load(), DropReplay: c.dropReplay.Load(),
		DropStale: c.dropStale.Load(), DropDuplicate: c.dropDuplicate.Load(), DropExpired: c.dropExpired.Load(),
		DropQueueFull: c.dropQueueFull.Load(), DropReassembly: c.dropReassembly.Load(), DropNoRoute: c.dropNoRoute.Load(),
		PeersJoined: c.peersJoined.Load(), PeersLeft: c.peersLeft.Load(), PeerRestarts: c.peerRestarts.Load(),
		PeerFailures: c.failures.Load(), WriteErrors: c.writeErrors.Load(), ReadErrors: c.readErrors.Load(),
	}
}
