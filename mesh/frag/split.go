package frag

// Fragment is one piece of a message: fragment Index of Count.
type Fragment struct {
	MsgID        uint64
	Index, Count uint32
	Data         []byte
}

// Count returns how many fragments of at most maxChunk bytes a message of msgLen bytes needs:
// ceil(msgLen/maxChunk), and 1 for an empty message. A maxChunk below 1 counts as 1.
func Count(msgLen, maxChunk int) int {
	maxChunk = max(maxChunk, 1)
	if msgLen <= 0 {
		return 1
	}
	return (msgLen-1)/maxChunk + 1
}

// Split cuts msg into fragments of maxChunk bytes (the last may be shorter). The fragments'
// Data alias msg, so msg must not change until they have been sent. An empty message gives one
// empty fragment. A maxChunk below 1 counts as 1.
func Split(msgID uint64, msg []byte, maxChunk int) []Fragment {
	maxChunk = max(maxChunk, 1)
	n := Count(len(msg), maxChunk)
	frags := make([]Fragment, n)
	for i := range frags {
		lo := i * maxChunk
		hi := min(lo+maxChunk, len(msg))
		frags[i] = Fragment{MsgID: msgID, Index: uint32(i), Count: uint32(n), Data: msg[lo:hi:hi]}
	}
	return frags
}
