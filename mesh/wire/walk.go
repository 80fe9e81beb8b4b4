package wire

// Visitor receives the frames of a datagram body from WalkFrames. A nil callback skips that
// frame type (the frame is still fully validated).
//
// The pointer passed to a callback, and every slice in it (Peers.Entries, Ack.Ranges,
// Data.Payload), is only valid during the callback: the Visitor reuses its scratch frames for
// the next frame and the next walk, and payloads alias the walked body. Copy what you keep.
//
// Reuse one Visitor per receive loop: its scratch space then makes walking allocation-free
// (BEACON strings excepted, which are copied unless unchanged from the previous beacon).
// A Visitor must not be used by two walks at the same time.
type Visitor struct {
	Beacon func(*Beacon) error
	Peers  func(*Peers) error
	Data   func(*Data) error
	Ack    func(*Ack) error

	beacon Beacon
	peers  Peers
	data   Data
	ack    Ack
}

// WalkFrames decodes the frames of a (plaintext) datagram body in order and hands each to v.
//
// Frames are applied as they are walked: if frame k is malformed, the walk stops with an error
// wrapping ErrMalformed, but frames before k were already delivered. This avoids a second pass
// (or buffering) on the hot path; it is safe because every frame is self-contained and an
// authenticated sender that emits a bad frame is buggy rather than hostile. A callback error
// stops the walk and is returned unchanged. An empty body is valid and carries no frames.
func WalkFrames(body []byte, v *Visitor) error {
	r := reader{b: body}
	for r.off < len(r.b) {
		typ := r.b[r.off]
		r.off++
		switch typ {
		case FrameData:
			f := &v.data
			if err := f.decode(&r); err != nil {
				return err
			}
			if v.Data != nil {
				if err := v.Data(f); err != nil {
					return err
				}
			}
		case FrameAck:
			f := &v.ack
			if err := f.decode(&r); err != nil {
				return err
			}
			if v.Ack != nil {
				if err := v.Ack(f); err != nil {
					return err
				}
			}
		case FrameBeacon:
			f := &v.beacon
			if err := f.decode(&r, v.Beacon != nil); err != nil {
				return err
			}
			if v.Beacon != nil {
				if err := v.Beacon(f); err != nil {
					return err
				}
			}
		case FramePeers:
			f := &v.peers
			if err := f.decode(&r); err != nil {
				return err
			}
			if v.Peers != nil {
				if err := v.Peers(f); err != nil {
					return err
				}
			}
		default:
			return errFrameType
		}
	}
	return nil
}
