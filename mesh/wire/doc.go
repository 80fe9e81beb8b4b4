// Package wire is the byte-level contract between glue-mqtt hosts: the datagram header, the
// frames carried in a datagram body (BEACON, PEERS, DATA, ACK), the messages reassembled from
// DATA fragments (PUBLISH, INTEREST), and the sealing of datagrams with the network key
// (AES-256-GCM, per-sender keys, replay window).
//
// docs/PROTOCOL.md specifies the same format for implementers in other languages; the golden
// vectors in testdata/ are shared by both.
//
// Decoding is the hot path. Decoders never panic on untrusted input, bound every count and
// length by a protocol limit and by the bytes actually present, and do not allocate for DATA
// and ACK frames: byte slices in decoded values alias the input buffer, so a caller that keeps
// them beyond the buffer's lifetime must copy them.
//
// Errors are classified by the sentinels ErrMalformed, ErrVersion, ErrNetwork, ErrAuth and
// ErrReplay (test with errors.Is) so that receivers can count dropped datagrams by reason.
package wire
