package wire

// Message kinds: the first byte of a message reassembled from DATA fragments.
const (
	KindPublish     = 1
	KindInterest    = 2
	KindInterestAck = 3
)

// MessageKind returns the kind byte of a reassembled message. An empty message or an unknown
// kind is ErrMalformed (the kind is still returned for the latter, for counting).
func MessageKind(b []byte) (byte, error) {
	if len(b) == 0 {
		return 0, errTruncated
	}
	switch b[0] {
	case KindPublish, KindInterest, KindInterestAck:
		return b[0], nil
	default:
		return b[0], errMessageKind
	}
}
