// Package reliable implements the per-peer reliable, ordered channel of the mesh as pure state
// machines: a Sender that numbers items, retransmits lost ones and paces itself with a congestion
// window, and a Receiver that reorders, suppresses duplicates and builds cumulative + selective
// acknowledgements.
//
// The design follows RFC 9002 (QUIC loss detection and congestion control) and quic-go's ackhandler,
// with SCTP-style sequence numbers: an item keeps its sequence number across retransmissions, so
// acknowledgements name items directly. Internally every transmission also gets a private,
// increasing transmission number so that packet- and time-threshold loss detection work on the
// order of transmissions, as in QUIC.
//
// There is no I/O, no goroutine and no timer here: every method that depends on time takes `now`,
// and the caller asks Sender.Deadline and Receiver.AckDeadline when to call back. Neither type is
// safe for concurrent use; they are meant to be driven by a single goroutine (the endpoint's loop),
// which is why they need no locks.
//
// Memory is bounded: a Sender holds at most Config.MaxQueuedBytes of items (queued or unacked;
// Enqueue refuses beyond that, which is the back-pressure signal), and a Receiver buffers at most
// Config.MaxInFlight items out of order.
package reliable
