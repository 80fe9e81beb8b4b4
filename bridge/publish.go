package bridge

import (
	"context"
	"errors"
	"fmt"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/glue-mqtt/glue-mqtt/mapping"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// OnPublish hands a local client's publish to the mesh before mochi acknowledges it and delivers
// it locally. Messages our inline client injected came from the mesh and are never sent back.
//
// When the mesh cannot carry a publish (Send fails or times out, or its properties exceed the
// envelope's limits), the answer depends on what the client can be told:
//   - MQTT 5, QoS 1 or 2: a PUBACK or PUBREC with a failure reason code (0x97 Quota exceeded when
//     the mesh was too busy to take it in time, 0x83 Implementation specific error when the
//     envelope cannot carry its properties, 0x80 Unspecified error otherwise) and a reason
//     string; the message is delivered nowhere, so the client may retry it as a whole.
//   - MQTT 3.1.1 (no failure acknowledgement exists) and QoS 0 (no acknowledgement at all): the
//     publish is acknowledged and delivered to this host's subscribers only, with a warning.
//
// Both outcomes are counted by reason (Stats). While the server closes, a publish the mesh has
// not taken is not acknowledged at all: the client's session resends it.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl == h.inline {
		return pk, nil
	}
	reason, err := h.toMesh(cl, pk)
	switch {
	case reason == "":
		return pk, nil
	case reason == reasonClosing:
		h.log.Debug("bridge: publish not acknowledged: the server is closing", "client", cl.ID, "topic", pk.TopicName)
		return pk, packets.ErrRejectPacket
	}
	return h.notCarried(cl, pk, reason, err)
}

// reasonClosing: the server closes, and the publish's Send was cancelled.
const reasonClosing = "closing"

// toMesh sends a local publish into the mesh. It returns "" when the mesh took it or the topic
// stays local ($SYS), else the reason (ReasonTopic, ReasonEnvelope, ReasonMeshSend,
// reasonClosing) and the error.
func (h *hook) toMesh(cl *mqtt.Client, pk packets.Packet) (string, error) {
	topic, err := mapping.TopicToMesh(pk.TopicName)
	if err != nil {
		if errors.Is(err, mapping.ErrLocalOnly) {
			return "", nil // $SYS: local by design
		}
		return ReasonTopic, err
	}
	env := envelopeFromPacket(pk, cl.Properties.ProtocolVersion)
	meta, err := mapping.MarshalEnvelope(nil, env)
	if err != nil {
		return ReasonEnvelope, err
	}
	ctx, cancel := context.WithTimeout(h.sendCtx, h.cfg.PublishTimeout)
	defer cancel()
	err = h.mesh.Send(ctx, mesh.Outgoing{
		Topic:      topic,
		Type:       MeshMessageType,
		Payload:    pk.Payload,
		Meta:       meta,
		Expiry:     mapping.ExpiryToMesh(env),
		BestEffort: !mapping.Reliable(env.QoS),
	})
	switch {
	case err == nil:
		return "", nil
	case h.sendCtx.Err() != nil:
		return reasonClosing, err
	}
	return ReasonMeshSend, err
}

// OnWillSent carries a will into the mesh. mochi publishes a will straight to the local
// subscribers, without OnPublish, so this is the only place the bridge sees it; it has already
// been delivered here, so a will the mesh does not take stays local (counted, warned).
func (h *hook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	if isInline(cl) {
		return
	}
	reason, err := h.toMesh(cl, pk)
	if reason == "" || reason == reasonClosing {
		return
	}
	h.stats.localOnly.add(reason)
	h.log.Warn("bridge: will delivered on this host only: the mesh could not carry it", "client", cl.ID,
		"topic", pk.TopicName, "reason", reason, "error", err)
}

// notCarried answers a publish the mesh did not take (see OnPublish).
func (h *hook) notCarried(cl *mqtt.Client, pk packets.Packet, reason string, cause error) (packets.Packet, error) {
	qos := pk.FixedHeader.Qos
	if cl.Properties.ProtocolVersion == 5 && qos > 0 {
		code := packets.ErrUnspecifiedError
		switch {
		case reason == ReasonMeshSend && errors.Is(cause, context.DeadlineExceeded):
			code = packets.ErrQuotaExceeded
		case reason == ReasonEnvelope:
			code = packets.ErrImplementationSpecificError
		case reason == ReasonTopic:
			code = packets.ErrTopicNameInvalid
		}
		h.stats.refused.add(reason)
		h.log.Warn("bridge: refused a publish the mesh could not carry", "client", cl.ID, "topic", pk.TopicName,
			"qos", qos, "reason", reason, "reason_code", fmt.Sprintf("%#02x", code.Code), "error", cause)
		// mochi would answer a refused QoS 2 publish with a PUBACK; the spec wants a PUBREC, which
		// ends the exchange when its reason code is an error (MQTT 5 section 4.3.3).
		ack := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Puback},
			PacketID:    pk.PacketID,
			ReasonCode:  code.Code,
			Properties:  packets.Properties{ReasonString: "glue-mqtt: the mesh could not carry this publish: " + reason},
		}
		if qos == 2 {
			ack.FixedHeader.Type = packets.Pubrec
		}
		if err := cl.WritePacket(ack); err != nil {
			h.log.Debug("bridge: writing a refusal failed", "client", cl.ID, "error", err)
		}
		return pk, packets.ErrRejectPacket // no further ack, no local delivery
	}
	h.stats.localOnly.add(reason)
	h.log.Warn("bridge: publish delivered on this host only: the mesh could not carry it", "client", cl.ID,
		"topic", pk.TopicName, "qos", qos, "protocol", cl.Properties.ProtocolVersion, "reason", reason, "error", cause)
	return pk, nil
}

// envelopeFromPacket captures what of an MQTT publish the mesh must carry besides topic and
// payload.
func envelopeFromPacket(pk packets.Packet, protocolVersion byte) mapping.Envelope {
	p := pk.Properties
	env := mapping.Envelope{
		QoS:             pk.FixedHeader.Qos,
		Retain:          pk.FixedHeader.Retain,
		ContentType:     p.ContentType,
		ResponseTopic:   p.ResponseTopic,
		CorrelationData: p.CorrelationData,
		ProtocolVersion: protocolVersion,
	}
	if p.PayloadFormatFlag {
		format := p.PayloadFormat
		env.PayloadFormat = &format
	}
	if p.MessageExpiryInterval > 0 {
		secs := p.MessageExpiryInterval
		env.MessageExpiry = &secs
	}
	if len(p.User) > 0 {
		env.User = make([]mapping.UserProperty, len(p.User))
		for i, u := range p.User {
			env.User[i] = mapping.UserProperty{Key: u.Key, Val: u.Val}
		}
	}
	return env
}
