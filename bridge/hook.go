package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook is the mochi hook that bridges the broker to the mesh. Its methods run on the goroutine
// of the client that sent the packet; the mesh handler runs on the mesh's delivery goroutine.
type hook struct {
	mqtt.HookBase
	srv      *mqtt.Server
	mesh     Mesh
	cfg      Config
	log      *slog.Logger
	inline   *mqtt.Client // our own client: what it publishes came from the mesh
	dedupe   *dedupe
	interest *interest
	stats    *stats
	dropLog  onceLog // reasons of dropped mesh messages already logged at warning level

	// sendCtx bounds every Mesh.Send; close cancels it, so a publish waiting for back-pressure
	// cannot hold up the shutdown.
	sendCtx    context.Context
	sendCancel context.CancelFunc

	// injectMu orders injection against Close: the handler injects under the read lock, Close
	// sets closed under the write lock, so no injection reaches a closing server.
	injectMu sync.RWMutex
	closed   bool
}

func newHook(srv *mqtt.Server, m Mesh, cfg Config) *hook {
	h := &hook{srv: srv, mesh: m, cfg: cfg, log: cfg.Logger, dedupe: newDedupe(cfg.DedupeSize), stats: newStats()}
	h.sendCtx, h.sendCancel = context.WithCancel(context.Background())
	h.inline = srv.NewClient(nil, mqtt.LocalListener, InlineClientID, true)
	// Version 5 so that the MQTT 5 properties of injected messages reach v5 subscribers.
	h.inline.Properties.ProtocolVersion = 5
	h.interest = newInterest(m, h.onMeshMessage, cfg.Logger)
	return h
}

// ID names the hook for mochi.
func (h *hook) ID() string { return "glue-mqtt-bridge" }

// Provides lists the hook methods mochi should call.
func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect,
		mqtt.OnDisconnect,
		mqtt.OnPacketRead,
		mqtt.OnSessionEstablished,
		mqtt.OnPublish,
		mqtt.OnWillSent,
		mqtt.OnSubscribed,
		mqtt.OnUnsubscribed,
		mqtt.OnClientExpired,
		mqtt.OnPacketEncode,
		mqtt.OnSelectSubscribers,
	}, []byte{b})
}

// reservedClientIDs are the client IDs of the bridge's own clients: the inline client that
// injects mesh messages, and the subscriber-less client of the p/+/# workaround (plushash.go).
var reservedClientIDs = []string{InlineClientID, plusHashClient}

// OnConnect refuses the reserved client IDs: a network client connecting with the inline client's
// ID would take over its session entry, and one with the workaround's ID would be mixed up with
// its internal subscription.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if !slices.Contains(reservedClientIDs, cl.ID) {
		return nil
	}
	h.log.Warn("bridge: refused a client using the bridge's reserved client ID", "client", cl.ID, "remote", cl.Net.Remote)
	// mochi sends no CONNACK when OnConnect fails, so send the refusal here (a v3 client gets
	// 0x02 Identifier rejected).
	_ = h.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
	return packets.ErrClientIdentifierNotValid
}

// OnPacketRead enforces Config.MaxPacketSize. mochi's own limit (the server's hard ceiling, see
// packetCeiling) makes it close the connection while reading the fixed header, without a word;
// below that ceiling the whole packet has been read, so the connection can be ended cleanly: an
// MQTT 5 client gets a DISCONNECT with reason code 0x95 Packet too large, an MQTT 3.1.1 client
// (which has no such packet) just the close. Either way a warning names the client and the size.
// Other clients are not affected. An oversized CONNECT is refused by closing the connection:
// there is no session yet to send a DISCONNECT on.
func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	size := packetSize(pk.FixedHeader.Remaining)
	if size <= uint64(h.cfg.MaxPacketSize) {
		return pk, nil
	}
	h.stats.packetsTooLarge.Add(1)
	id, version := cl.ID, cl.Properties.ProtocolVersion
	if pk.FixedHeader.Type == packets.Connect {
		id, version = pk.Connect.ClientIdentifier, pk.ProtocolVersion
	}
	h.log.Warn("bridge: disconnected a client for a packet over the maximum packet size", "client", id,
		"remote", cl.Net.Remote, "packet", packets.PacketNames[pk.FixedHeader.Type], "size", size,
		"limit", h.cfg.MaxPacketSize, "protocol", version)
	if pk.FixedHeader.Type != packets.Connect && version == 5 {
		_ = h.srv.DisconnectClient(cl, packets.ErrPacketTooLarge) // writes the DISCONNECT, then closes
	}
	// mochi ends the connection when a hook rejects a packet it read (and publishes the will, as
	// for any disconnection that is not the client's own).
	return pk, fmt.Errorf("bridge: packet of %d bytes over the limit of %d: %w", size, h.cfg.MaxPacketSize, packets.ErrRejectPacket)
}

// packetSize is the size of a whole MQTT packet (fixed header included) with this remaining
// length: the quantity Maximum Packet Size bounds (MQTT 5 section 3.1.2.11.4).
func packetSize(remaining int) uint64 {
	n := uint64(1) // the type and flags byte
	for r := remaining; ; r >>= 7 {
		n++
		if r < 128 {
			break
		}
	}
	return n + uint64(remaining)
}

// OnDisconnect reports a client mochi closed itself for a packet over the hard ceiling: mochi
// stops reading at the header and closes without a DISCONNECT.
func (h *hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	if isInline(cl) || !errors.Is(err, packets.ErrPacketTooLarge) {
		return
	}
	h.stats.packetsTooLarge.Add(1)
	h.log.Warn("bridge: a client sent a packet over the server's hard size ceiling; mochi closed the connection",
		"client", cl.ID, "remote", cl.Net.Remote, "limit", h.cfg.MaxPacketSize, "ceiling", packetCeiling(h.cfg.MaxPacketSize))
}

// OnPacketEncode corrects mochi's MQTT 5 publish acknowledgements: it answers QoS 1 with reason
// code 0x01 (a SUBACK code, invalid in a PUBACK; MQTT.js drops the connection over it) and copies
// the publish's properties into the ack. Error codes (>= 0x80) and their reason string are kept.
//
// It also announces the size limit in an MQTT 5 CONNACK (Maximum Packet Size), which mochi
// leaves out although it enforces the limit: without it a client must assume there is none.
func (h *hook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack {
		if cl.Properties.ProtocolVersion == 5 && pk.ReasonCode < packets.ErrUnspecifiedError.Code {
			pk.Properties.MaximumPacketSize = h.cfg.MaxPacketSize
		}
		return pk
	}
	if pk.FixedHeader.Type != packets.Puback && pk.FixedHeader.Type != packets.Pubrec {
		return pk
	}
	if pk.ReasonCode >= packets.ErrUnspecifiedError.Code {
		pk.Properties = packets.Properties{ReasonString: pk.Properties.ReasonString}
		return pk
	}
	if pk.ReasonCode != packets.CodeNoMatchingSubscribers.Code {
		pk.ReasonCode = packets.CodeSuccess.Code
	}
	pk.Properties = packets.Properties{}
	return pk
}

// close stops injection, ends the publishes waiting for the mesh, and drops the mesh
// subscriptions.
func (h *hook) close() {
	h.sendCancel()
	h.injectMu.Lock()
	h.closed = true
	h.injectMu.Unlock()
	h.interest.close()
}
