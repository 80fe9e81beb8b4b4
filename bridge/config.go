package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults of Config.
const (
	DefaultListenAddress = "127.0.0.1:1883"
	// DefaultMaxPacketSize keeps an MQTT packet, once it is a mesh message (topic, envelope,
	// payload and the mesh's own headers), under the mesh's default 16 MiB message limit.
	DefaultMaxPacketSize        = 16<<20 - MeshHeadroom
	DefaultSubscribeSyncTimeout = 2 * time.Second
	DefaultPublishTimeout       = 5 * time.Second
	DefaultReconcileInterval    = 10 * time.Second
	DefaultDedupeSize           = 1 << 16
)

// MeshHeadroom is the room left between the largest MQTT packet and the largest mesh message: the
// envelope is at most a few bytes longer than the MQTT properties it replaces, and the mesh adds
// its own message header.
const MeshHeadroom = 64 << 10

// maxMQTTPacket is the largest packet MQTT can express: a remaining length of 268,435,455 bytes
// in four bytes, plus the type byte.
const maxMQTTPacket = 1 + 4 + 268_435_455

// packetCeiling is the size limit mochi enforces itself for a configured MaxPacketSize: packets up
// to it are read whole, so the hook can refuse the ones over the limit cleanly (OnPacketRead);
// larger ones mochi drops at the header, without a DISCONNECT. It bounds what one client can
// make the broker buffer to about twice the limit.
func packetCeiling(limit uint32) uint32 {
	c := max(2*uint64(limit), uint64(limit)+1<<20)
	return uint32(min(c, maxMQTTPacket))
}

// MeshMessageType is the mesh message type of messages published by MQTT clients.
const MeshMessageType = "mqtt"

// InlineClientID is the client ID of the bridge's own inline client. Network clients may not use
// it: taking it over would let them see or disturb the injection of mesh messages.
const InlineClientID = "glue-mqtt-bridge"

// Config configures a Server. The zero value of a field means its default.
type Config struct {
	// ListenAddress is the MQTT TCP listener's address. Default 127.0.0.1:1883; port 0 picks a
	// free port (see Server.Addr).
	ListenAddress string
	// MaxPacketSize bounds an MQTT packet from a client, in bytes, fixed header included. MQTT 5
	// clients learn it from the CONNACK (Maximum Packet Size). A client that sends a larger packet
	// anyway is disconnected with a warning: an MQTT 5 client after a DISCONNECT with reason code
	// 0x95 Packet too large, an MQTT 3.1.1 client by closing the connection (3.1.1 has no
	// DISCONNECT from the server). Beyond a hard ceiling (packetCeiling: twice the limit, at least
	// the limit plus 1 MiB) mochi refuses a packet before reading it and closes without a
	// DISCONNECT, so that no client makes the broker buffer an arbitrary amount.
	MaxPacketSize uint32
	// SubscribeSyncTimeout bounds how long a SUBACK waits for the peers to apply our interest.
	SubscribeSyncTimeout time.Duration
	// PublishTimeout bounds how long a local publish waits for the mesh to take it.
	PublishTimeout time.Duration
	// ReconcileInterval is how often the interest set is rebuilt from mochi's clients.
	ReconcileInterval time.Duration
	// DedupeSize is the number of recent mesh message keys remembered to drop repeats.
	DedupeSize int
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.ListenAddress == "" {
		c.ListenAddress = DefaultListenAddress
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = DefaultMaxPacketSize
	}
	if c.SubscribeSyncTimeout == 0 {
		c.SubscribeSyncTimeout = DefaultSubscribeSyncTimeout
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = DefaultReconcileInterval
	}
	if c.DedupeSize == 0 {
		c.DedupeSize = DefaultDedupeSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field of c (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	if _, err := netip.ParseAddrPort(c.ListenAddress); err != nil {
		return fmt.Errorf("bridge: listen address %q: want IP:port: %w", c.ListenAddress, err)
	}
	if c.MaxPacketSize < 1024 {
		return fmt.Errorf("bridge: max packet size %d: want at least 1024 bytes", c.MaxPacketSize)
	}
	if c.SubscribeSyncTimeout < 0 || c.PublishTimeout < 0 || c.ReconcileInterval < 0 {
		return errors.New("bridge: timeouts and intervals must not be negative")
	}
	if c.DedupeSize < 0 {
		return fmt.Errorf("bridge: dedupe size %d: must not be negative", c.DedupeSize)
	}
	return nil
}
