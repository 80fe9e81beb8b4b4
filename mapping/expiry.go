package mapping

import (
	"math"
	"time"
)

// The mesh carries a message's remaining lifetime as a time.Duration in which 0 means "never
// expires"; each hop counts it down. MQTT 5 carries it as whole seconds in the Message Expiry
// Interval property, and a broker forwarding a message must lower the interval by the time the
// message waited (MQTT 5 section 3.3.2.3.3).

// ExpiryToMesh converts the Message Expiry Interval of a published message into the mesh lifetime.
// An absent interval and an interval of 0 both mean "never expires" (0), as they do for the local
// broker; the mesh cannot express "already expired" and there is nothing to send in that case.
func ExpiryToMesh(e Envelope) time.Duration {
	if e.MessageExpiry == nil {
		return 0
	}
	return time.Duration(*e.MessageExpiry) * time.Second
}

// ExpiryFromMesh converts the remaining mesh lifetime of a received message into the Message
// Expiry Interval to publish locally:
//
//   - remaining == 0: the message never expires; secs is 0 and expired is false, meaning "leave the
//     property absent".
//   - remaining > 0: secs is the remaining time rounded up to whole seconds, at least 1 and at most
//     math.MaxUint32; expired is false. Rounding up never expires a message early; a message
//     with 300ms left is delivered with an interval of 1 second.
//   - remaining < 0: the lifetime ran out in transit; secs is 0 and expired is true, and the
//     message must be dropped, not delivered.
func ExpiryFromMesh(remaining time.Duration) (secs uint32, expired bool) {
	switch {
	case remaining < 0:
		return 0, true
	case remaining == 0:
		return 0, false
	}
	whole := remaining / time.Second
	if remaining%time.Second != 0 {
		whole++
	}
	if whole > math.MaxUint32 {
		return math.MaxUint32, false
	}
	return uint32(whole), false
}

// ApplyExpiry sets e.MessageExpiry from the remaining mesh lifetime, as ExpiryFromMesh defines it,
// and reports whether the message has expired and must be dropped.
func ApplyExpiry(e *Envelope, remaining time.Duration) (expired bool) {
	secs, expired := ExpiryFromMesh(remaining)
	if secs == 0 {
		e.MessageExpiry = nil
	} else {
		e.MessageExpiry = &secs
	}
	return expired
}
