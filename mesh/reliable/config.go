package reliable

import "time"

// Config tunes a Sender and a Receiver. Both ends of a channel must agree on MaxInFlight.
// Zero or invalid fields are replaced by their defaults (see DefaultConfig).
type Config struct {
	// MaxInFlight is the largest span of sequence numbers the sender may have outstanding
	// (sent and not cumulatively acked); it is also the receiver's reorder window.
	MaxInFlight int
	// MaxQueuedBytes bounds the bytes a sender holds (queued + unacked); Enqueue refuses beyond it.
	MaxQueuedBytes int
	// InitialRTT is the round-trip time assumed before the first sample.
	InitialRTT time.Duration
	// MaxAckDelay is how long a receiver may delay an ACK; the sender adds it to its timeout.
	MaxAckDelay time.Duration
	// MinRTO and MaxRTO bound the probe timeout, including its exponential backoff.
	MinRTO, MaxRTO time.Duration
	// InitialWindow, MinWindow and MaxWindow bound the congestion window, in bytes.
	InitialWindow, MinWindow, MaxWindow int
	// SegmentSize is the typical item size (datagram payload); congestion avoidance grows the
	// window by this much per round trip.
	SegmentSize int
	// GiveUpAfter is how long an item may stay unacked before Sender.Failed reports the peer
	// unresponsive.
	GiveUpAfter time.Duration
}

// DefaultConfig returns settings for a LAN (wired or Wi-Fi) with 1400-byte datagram payloads.
func DefaultConfig() Config {
	return Config{
		// 4096 items of 1400 bytes = 5.6 MB: well above the bandwidth-delay product of a LAN
		// (1 Gbit/s x 10 ms = 1.25 MB), so the item window never limits a healthy path.
		MaxInFlight: 4096,
		// 4 MiB of back-pressure per peer: a few hundred ms of a fast link, bounded memory.
		MaxQueuedBytes: 4 << 20,
		// RFC 9002 uses 333 ms for the Internet; LAN round trips are well under 1 ms wired and
		// typically 2-20 ms on Wi-Fi. 20 ms gives a first probe timeout of 3x20+5 = 65 ms:
		// early enough to recover a lost first datagram quickly, late enough not to fire
		// spuriously on a power-saving Wi-Fi client.
		InitialRTT: 20 * time.Millisecond,
		// The endpoint flushes ACKs at the end of each loop turn, so 5 ms is generous.
		MaxAckDelay: 5 * time.Millisecond,
		// TCP's 200 ms floor is far too high for a LAN; 10 ms sits above the ACK delay and Go
		// scheduling jitter, so a healthy loopback peer is not probed spuriously.
		MinRTO: 10 * time.Millisecond,
		// Backoff stops at 1 s so a peer back from a Wi-Fi outage is noticed within a second,
		// and the channel still probes about 5 times before GiveUpAfter.
		MaxRTO: time.Second,
		// RFC 9002 suggests 10 datagrams for the Internet; on a LAN 32 lets a burst of
		// small publishes go out in the first round trip.
		InitialWindow: 32 * 1400,
		// RFC 9002 minimum: two datagrams.
		MinWindow: 2 * 1400,
		// 1 MiB is the bandwidth-delay product of 1 Gbit/s at 8 ms RTT; a larger window only
		// fills switch buffers.
		MaxWindow: 1 << 20,
		// The mesh's default datagram payload.
		SegmentSize: 1400,
		// Ten seconds without an ACK for the oldest item: the peer is gone.
		GiveUpAfter: 10 * time.Second,
	}
}

// normalized replaces zero or inconsistent fields by usable values, so that a bad Config cannot
// make the state machines misbehave.
func (c Config) normalized() Config {
	d := DefaultConfig()
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = d.MaxInFlight
	}
	c.MaxInFlight = min(c.MaxInFlight, 1<<24) // keeps ring sizes sane
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = d.MaxQueuedBytes
	}
	if c.InitialRTT <= 0 {
		c.InitialRTT = d.InitialRTT
	}
	if c.MaxAckDelay < 0 {
		c.MaxAckDelay = d.MaxAckDelay
	}
	if c.MinRTO <= 0 {
		c.MinRTO = d.MinRTO
	}
	if c.MaxRTO <= 0 {
		c.MaxRTO = d.MaxRTO
	}
	c.MaxRTO = max(c.MaxRTO, c.MinRTO)
	if c.SegmentSize <= 0 {
		c.SegmentSize = d.SegmentSize
	}
	if c.MinWindow <= 0 {
		c.MinWindow = 2 * c.SegmentSize
	}
	if c.MaxWindow <= 0 {
		c.MaxWindow = d.MaxWindow
	}
	c.MaxWindow = max(c.MaxWindow, c.MinWindow)
	if c.InitialWindow <= 0 {
		c.InitialWindow = d.InitialWindow
	}
	c.InitialWindow = min(max(c.InitialWindow, c.MinWindow), c.MaxWindow)
	if c.GiveUpAfter <= 0 {
		c.GiveUpAfter = d.GiveUpAfter
	}
	return c
}
