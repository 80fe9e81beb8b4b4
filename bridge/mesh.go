package bridge

import (
	"context"

	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// Mesh is what the bridge needs from the mesh; *mesh.Endpoint satisfies it. Tests use an
// in-memory fake.
type Mesh interface {
	// ID identifies this endpoint.
	ID() mesh.EndpointID
	// Send publishes a message; it blocks for back-pressure, bounded by ctx.
	Send(ctx context.Context, m mesh.Outgoing) error
	// Subscribe calls h for messages matching filter of type typ ("" = every type).
	Subscribe(filter, typ string, h mesh.Handler) error
	// Unsubscribe removes the subscription made with the same filter and type.
	Unsubscribe(filter, typ string) error
	// SyncInterest returns when every known live peer has acknowledged our current interest set.
	SyncInterest(ctx context.Context) error
}

var _ Mesh = (*mesh.Endpoint)(nil)
