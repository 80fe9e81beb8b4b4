package bridge

import (
	"context"
	"errors"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/glue-mqtt/glue-mqtt/mapping"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// OnPublish hands a local client's publish to the mesh before mochi acknowledges it and delivers
// it locally. Messages our inline client injected came from the mesh and are never sent back.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl == h.inline {
		return pk, nil
	}
	topic, err := mapping.TopicToMesh(pk.TopicName)
	if err != nil {
		if !errors.Is(err, mapping.ErrLocalOnly) {
			h.log.Debug("bridge: topic stays local", "topic", pk.TopicName, "error", err)
		}
		return pk, nil
	}
	env := envelopeFromPacket(pk, cl.Properties.ProtocolVersion)
	meta, err := mapping.MarshalEnvelope(nil, env)
	if err != nil {
		h.log.Warn("bridge: publish kept local: its properties exceed the mesh envelope's limits",
			"client", cl.ID, "topic", pk.TopicName, "error", err)
		return pk, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.PublishTimeout)
	defer cancel()
	err = h.mesh.Send(ctx, mesh.Outgoing{
		Topic:      topic,
		Type:       MeshMessageType,
		Payload:    pk.Payload,
		Meta:       meta,
		Expiry:     mapping.ExpiryToMesh(env),
		BestEffort: !mapping.Reliable(env.QoS),
	})
	if err == nil {
		return pk, nil
	}
	h.log.Warn("bridge: mesh did not take a publish", "client", cl.ID, "topic", pk.TopicName, "qos", env.QoS, "error", err)
	// Only an MQTT 5 QoS 1 publish can be refused honestly: mochi answers the returned code with a
	// PUBACK carrying it, and the client may retry. mochi would answer a QoS 2 publish with a PUBACK
	// instead of a PUBREC, and MQTT 3 has no reason codes, so those are delivered locally only.
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos == 1 {
		if errors.Is(err, context.DeadlineExceeded) {
			return pk, packets.ErrQuotaExceeded
		}
		return pk, packets.ErrUnspecifiedError
	}
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
