package mesh

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// EndpointID is the stable role identifier of an endpoint (a UUID's 16 bytes).
type EndpointID [16]byte

// String formats the ID as a UUID.
func (id EndpointID) String() string { return uuid.UUID(id).String() }

// Message is what a subscription handler receives.
type Message struct {
	Topic    string
	Type     string
	Payload  []byte
	Meta     []byte        // opaque application metadata (the bridge carries MQTT QoS and properties here)
	Origin   EndpointID    // publishing endpoint
	Session  uint64        // publishing endpoint's boot session
	ID       uint64        // unique per (Origin, Session); (Origin, Session, ID) identifies a message mesh-wide
	Reliable bool          // sent over the reliable channel
	Expiry   time.Duration // remaining lifetime at delivery; 0 = never expires
}

// Outgoing is a message to publish.
type Outgoing struct {
	Topic      string
	Type       string
	Payload    []byte
	Meta       []byte
	Expiry     time.Duration // 0 = never expires
	BestEffort bool          // true: best-effort channel (MQTT QoS 0); false: reliable
}

// Handler receives messages. It runs on the endpoint's delivery goroutine, one message at a time,
// and may call Publish, Send, Subscribe or Unsubscribe (not Stop). A publish from a handler waits
// for room like any other (back-pressure), and meanwhile no further message is delivered. When
// handlers on several endpoints publish to each other (request and reply), bound the requests
// outstanding, or publish with Send and a deadline: a producer that never waits for replies can
// fill every buffer on the cycle, and then each handler waits for the other until GiveUpAfter
// declares the peer failing and its messages are dropped.
type Handler func(Message)

// PeerInfo describes a peer in the table.
type PeerInfo struct {
	ID          EndpointID
	Name        string
	Session     uint64
	Addr        string
	LastSeen    time.Time
	Filters     int  // filters in the peer's interest set
	Interest    bool // the peer's interest set has arrived
	Failing     bool // the peer acknowledges nothing: messages to it are dropped
	SRTT        time.Duration
	Unacked     int // bytes in the peer's send buffer: queued or in flight, not acknowledged
	Backlog     int // bytes of publishes waiting for room in the send buffer (up to SendBuffer and one message)
	Retransmits uint64
}

// Errors returned by the API.
var (
	ErrStopped    = errors.New("mesh: endpoint stopped")
	ErrNotStarted = errors.New("mesh: endpoint not started")
	ErrTooLarge   = errors.New("mesh: message too large")
)
