package bridge

import (
	"context"
	"errors"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/glue-mqtt/glue-mqtt/mapping"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// injectedPacketID is the packet ID of injected QoS 1 and 2 publishes. mochi requires a non-zero
// ID for them, but never tracks inline clients' publishes in flight, so one value serves all.
const injectedPacketID = 1

// onMeshMessage is the handler of every mesh subscription: it injects a mesh message into the
// local broker once, through the inline client.
func (h *hook) onMeshMessage(m mesh.Message) {
	if !h.dedupe.firstTime(messageKey{m.Origin, m.Session, m.ID}) {
		return
	}
	pk, ok := h.packetFromMesh(m)
	if !ok {
		return
	}
	h.injectMu.RLock()
	defer h.injectMu.RUnlock()
	if h.closed {
		return
	}
	if err := h.srv.InjectPacket(h.inline, pk); err != nil {
		h.drop(m, DropInject, err)
	}
}

// drop counts a mesh message that is not injected and logs it: at warning level the first time
// for each reason, at debug level after that, so a misbehaving peer cannot flood the log.
func (h *hook) drop(m mesh.Message, reason string, err error) {
	h.stats.dropped.add(reason)
	if reason == DropExpired {
		return // not a fault: the mesh counts and the message simply ran out of time
	}
	level := slog.LevelDebug
	if h.dropLog.first(reason) {
		level = slog.LevelWarn
	}
	h.log.Log(context.Background(), level, "bridge: dropped a mesh message (logged once per reason at warning level; see the bridge's drop counters)",
		"reason", reason, "topic", m.Topic, "origin", m.Origin, "error", err)
}

// packetFromMesh builds the PUBLISH for a mesh message; ok is false if it must be dropped (then
// it is counted and logged). Everything in it comes from the network: the topic must be a valid
// MQTT topic name other than $SYS, and the envelope must decode to properties MQTT allows
// (mapping.DecodeEnvelope checks both the format and the values). A message that fails is
// dropped whole rather than delivered without the offending property: a response topic or a
// user property quietly missing would change what the message means to its receiver, and no
// conforming peer sends such values (the sending bridge refuses them, as mochi does).
func (h *hook) packetFromMesh(m mesh.Message) (pk packets.Packet, ok bool) {
	topic, err := mapping.TopicFromMesh(m.Topic)
	if err != nil {
		h.drop(m, DropTopic, err)
		return pk, false
	}
	pk = packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   topic,
		Payload:     m.Payload,
	}
	if m.Type == MeshMessageType && len(m.Meta) > 0 {
		env, err := mapping.DecodeEnvelope(m.Meta)
		if err != nil {
			reason := DropEnvelope
			if errors.Is(err, mapping.ErrInvalidProperty) {
				reason = DropProperty
			}
			h.drop(m, reason, err)
			return pk, false
		}
		if mapping.ApplyExpiry(&env, m.Expiry) {
			h.drop(m, DropExpired, nil)
			return pk, false
		}
		pk.FixedHeader.Qos = env.QoS
		// Retained messages are stored on every host that receives them, as a plain broker
		// would; mesh-wide retained state (last writer wins, tombstones, late joiners) is a
		// later issue.
		pk.FixedHeader.Retain = env.Retain
		pk.Properties = propertiesFromEnvelope(env)
	} else {
		// A native Go endpoint's message: raw payload, reliable ones as QoS 1.
		secs, expired := mapping.ExpiryFromMesh(m.Expiry)
		if expired {
			h.drop(m, DropExpired, nil)
			return pk, false
		}
		pk.Properties.MessageExpiryInterval = secs
		if m.Reliable {
			pk.FixedHeader.Qos = 1
		}
	}
	if pk.FixedHeader.Qos > 0 {
		pk.PacketID = injectedPacketID
	}
	return pk, true
}

func propertiesFromEnvelope(env mapping.Envelope) packets.Properties {
	p := packets.Properties{
		ContentType:     env.ContentType,
		ResponseTopic:   env.ResponseTopic,
		CorrelationData: env.CorrelationData,
	}
	if env.PayloadFormat != nil {
		p.PayloadFormat, p.PayloadFormatFlag = *env.PayloadFormat, true
	}
	if env.MessageExpiry != nil {
		p.MessageExpiryInterval = *env.MessageExpiry
	}
	if len(env.User) > 0 {
		p.User = make([]packets.UserProperty, len(env.User))
		for i, u := range env.User {
			p.User[i] = packets.UserProperty{Key: u.Key, Val: u.Val}
		}
	}
	return p
}

// isInline reports whether cl is an inline client (ours or another embedder's): they have no
// network session and no subscriptions the mesh must know of.
func isInline(cl *mqtt.Client) bool { return cl.Net.Inline }
