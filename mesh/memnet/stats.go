package memnet

// Stats counts what the network did with datagrams. Each (datagram, receiver) pair is one
// transmission: a datagram sent to a group of three counts three times. At any moment
//
//	Sent + Duplicated = Delivered + Lost + Partitioned + Unreachable + Overflowed + InFlight
type Stats struct {
	Sent        uint64 // transmissions attempted
	Delivered   uint64 // copies put in a receive queue
	Lost        uint64 // dropped by an Impairment's Loss
	Duplicated  uint64 // extra copies created by Duplicate
	Reordered   uint64 // copies held back by Reorder
	Partitioned uint64 // dropped by a Partition
	Unreachable uint64 // no Conn at the destination (never was, or closed before arrival)
	Overflowed  uint64 // dropped because a receive queue or the in-flight budget was full
	InFlight    uint64 // copies delayed and not yet arrived
}
