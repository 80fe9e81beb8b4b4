package mapping

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
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

// ErrInvalidProperty reports an MQTT 5 property value that MQTT forbids: a string that is not
// well-formed UTF-8 or contains U+0000 (MQTT 5 section 1.5.4), a response topic that is not a
// valid topic name (it must not contain wildcards, 3.3.2.3.5), a payload format indicator other
// than 0 or 1 (3.3.2.3.2). It always comes as a *PropertyError, which also wraps
// ErrInvalidEnvelope.
var ErrInvalidProperty = errors.New("mapping: invalid MQTT property")

// Names of the properties a PropertyError can report.
const (
	PropPayloadFormat = "payload format"
	PropContentType   = "content type"
	PropResponseTopic = "response topic"
	PropUserProperty  = "user property"
)

// PropertyError is an Envelope property whose value MQTT forbids. errors.Is matches both
// ErrInvalidProperty and ErrInvalidEnvelope.
type PropertyError struct {
	Property string // one of the Prop* names
	Reason   string
}

func (e *PropertyError) Error() string {
	return fmt.Sprintf("mapping: invalid %s: %s", e.Property, e.Reason)
}

// Unwrap lets errors.Is see ErrInvalidProperty and ErrInvalidEnvelope.
func (e *PropertyError) Unwrap() []error { return []error{ErrInvalidProperty, ErrInvalidEnvelope} }

// UserProperty is one MQTT 5 user property. Keys may repeat.
type UserProperty struct{ Key, Val string }

// Envelope is the MQTT part of a message that crosses the mesh: its QoS, retain flag and MQTT 5
// properties. It travels encoded in the mesh message's Meta bytes. An Envelope is valid (Validate)
// when it fits the limits that keep decoding bounded and every property is one MQTT allows, so
// that what a peer sends can be handed to MQTT 5 subscribers as it is: DecodeEnvelope refuses
// anything else, and the bridge does not send what it would refuse to receive.
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

// Validate reports whether e fits the limits of the encoding (QoS at most 2, strings and
// correlation data at most MaxStringLen bytes, at most MaxUserProperties user properties; errors
// wrap ErrInvalidEnvelope) and whether its properties are valid MQTT (a *PropertyError, see
// ErrInvalidProperty).
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
	return e.validateProperties()
}

// validateProperties checks the MQTT rules of the properties' values.
func (e Envelope) validateProperties() error {
	if e.PayloadFormat != nil && *e.PayloadFormat > 1 {
		return &PropertyError{PropPayloadFormat, fmt.Sprintf("%d, want 0 or 1", *e.PayloadFormat)}
	}
	if e.ContentType != "" && !validString(e.ContentType) {
		return &PropertyError{PropContentType, "not a UTF-8 string without U+0000"}
	}
	if e.ResponseTopic != "" {
		if err := topicfilter.ValidateTopic(e.ResponseTopic); err != nil {
			return &PropertyError{PropResponseTopic, fmt.Sprintf("not a topic name: %v", err)}
		}
	}
	for i, p := range e.User {
		if !validString(p.Key) || !validString(p.Val) {
			return &PropertyError{PropUserProperty, fmt.Sprintf("%d: not a UTF-8 string pair without U+0000", i)}
		}
	}
	return nil
}

// validString reports whether s is an MQTT UTF-8 Encoded String's content: well-formed UTF-8 (so
// no surrogates) without U+0000.
func validString(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
