package mapping

import (
	"errors"
	"fmt"
)

// Limits of an Envelope, from the MQTT 5 wire format: strings and binary data have a two-byte
// length. MaxUserProperties is ours: MQTT only bounds them by the packet size, the mesh bounds
// them so a decoder never allocates a huge slice from a small count.
const (
	MaxStringLen      = 65535
	MaxUserProperties = 1024
)

// ErrInvalidEnvelope reports an Envelope that cannot be encoded, or bytes that are not a valid
// encoded Envelope.
var ErrInvalidEnvelope = errors.New("mapping: invalid envelope")

// UserProperty is one MQTT 5 user property. Keys may repeat.
type UserProperty struct{ Key, Val string }

// Envelope is the MQTT part of a message that crosses the mesh: its QoS, retain flag and MQTT 5
// properties. It travels encoded in the mesh message's Meta bytes. Strings are carried as the
// local broker accepted them; the envelope checks only the limits that keep decoding bounded.
type Envelope struct {
	QoS             byte
	Retain          bool
	PayloadFormat   *byte   // MQTT 5 property 0x01; nil = absent
	MessageExpiry   *uint32 // MQTT 5 property 0x02, seconds; nil = absent (see ExpiryToMesh)
	ContentType     string  // "" = absent
	ResponseTopic   string  // "" = absent
	CorrelationData []byte  // nil or empty = absent; decoded as nil when absent
	User            []UserProperty
	ProtocolVersion byte // of the publishing client: 3 (3.1), 4 (3.1.1), 5; 0 = not an MQTT client
}

// Validate reports whether e fits the limits of the encoding: QoS at most 2, strings and
// correlation data at most MaxStringLen bytes, at most MaxUserProperties user properties.
func (e Envelope) Validate() error {
	if e.QoS > 2 {
		return fmt.Errorf("mapping: QoS %d: %w", e.QoS, ErrInvalidEnvelope)
	}
	if len(e.ContentType) > MaxStringLen || len(e.ResponseTopic) > MaxStringLen || len(e.CorrelationData) > MaxStringLen {
		return fmt.Errorf("mapping: property longer than %d bytes: %w", MaxStringLen, ErrInvalidEnvelope)
	}
	if len(e.User) > MaxUserProperties {
		return fmt.Errorf("mapping: %d user properties, limit %d: %w", len(e.User), MaxUserProperties, ErrInvalidEnvelope)
	}
	for i, p := range e.User {
		if len(p.Key) > MaxStringLen || len(p.Val) > MaxStringLen {
			return fmt.Errorf("mapping: user property %d longer than %d bytes: %w", i, MaxStringLen, ErrInvalidEnvelope)
		}
	}
	return nil
}
