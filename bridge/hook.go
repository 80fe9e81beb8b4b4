package bridge

import (
	"bytes"
	"log/slog"
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

	// injectMu orders injection against Close: the handler injects under the read lock, Close
	// sets closed under the write lock, so no injection reaches a closing server.
	injectMu sync.RWMutex
	closed   bool
}

func newHook(srv *mqtt.Server, m Mesh, cfg Config) *hook {
	h := &hook{srv: srv, mesh: m, cfg: cfg, log: cfg.Logger, dedupe: newDedupe(cfg.DedupeSize)}
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
		mqtt.OnSessionEstablished,
		mqtt.OnPublish,
		mqtt.OnSubscribed,
		mqtt.OnUnsubscribed,
		mqtt.OnClientExpired,
		mqtt.OnPacketEncode,
		mqtt.OnSelectSubscribers,
	}, []byte{b})
}

// OnConnect refuses the inline client's ID: a network client connecting with it would take over
// the inline client's session entry.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if cl.ID != InlineClientID {
		return nil
	}
	h.log.Warn("bridge: refused a client using the bridge's reserved client ID", "client", cl.ID, "remote", cl.Net.Remote)
	// mochi sends no CONNACK when OnConnect fails, so send the refusal here (a v3 client gets
	// 0x02 Identifier rejected).
	_ = h.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
	return packets.ErrClientIdentifierNotValid
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

// close stops injection and drops the mesh subscriptions.
func (h *hook) close() {
	h.injectMu.Lock()
	h.closed = true
	h.injectMu.Unlock()
	h.interest.close()
}
