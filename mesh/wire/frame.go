package wire

// Frame types: the first byte of every frame in a datagram body.
const (
	FrameBeacon = 0x01
	FramePeers  = 0x02
	FrameData   = 0x03
	FrameAck    = 0x04
)
