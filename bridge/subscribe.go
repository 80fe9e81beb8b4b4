package bridge

import (
	"context"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// OnSubscribed records the granted filters in the interest set and, before mochi writes the
// SUBACK, waits (bounded) until every live peer has applied the interest: once the client holds
// its SUBACK, a publish on any other live host reaches it.
func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	if isInline(cl) {
		return
	}
	meshRelevant := false
	for i, sub := range pk.Filters {
		if i >= len(reasonCodes) || reasonCodes[i] >= packets.ErrUnspecifiedError.Code {
			continue // refused filters are not in mochi's index either
		}
		if h.interest.add(cl.ID, sub.Filter) {
			meshRelevant = true
		}
	}
	if !meshRelevant {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.SubscribeSyncTimeout)
	defer cancel()
	if err := h.mesh.SyncInterest(ctx); err != nil {
		h.log.Warn("bridge: peers did not confirm the new interest in time; sending the SUBACK anyway",
			"client", cl.ID, "timeout", h.cfg.SubscribeSyncTimeout, "error", err)
	}
}

// OnUnsubscribed drops the filters the client no longer holds. It fires on UNSUBSCRIBE and when
// mochi clears a session (clean disconnect, clean takeover).
func (h *hook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	if isInline(cl) {
		return
	}
	// The table of the client now registered under this ID says what is really gone: an
	// UNSUBSCRIBE mochi refused (packet ID in use) still fires this hook, and a session that was
	// taken over can fire it late, after the new connection subscribed again under the same ID.
	holder := cl
	if current, ok := h.srv.Clients.Get(cl.ID); ok {
		holder = current
	}
	for _, sub := range pk.Filters {
		if _, still := holder.State.Subscriptions.Get(sub.Filter); still {
			continue
		}
		h.interest.remove(cl.ID, sub.Filter)
	}
}

// OnSessionEstablished re-reads the client's subscriptions: a session taken over or resumed
// brings subscriptions that no SUBSCRIBE announced.
func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if isInline(cl) {
		return
	}
	h.interest.setClient(cl.ID, subscriptionFilters(cl))
}

// OnClientExpired forgets an expired persistent session: mochi fires no OnUnsubscribed for it.
func (h *hook) OnClientExpired(cl *mqtt.Client) {
	if isInline(cl) {
		return
	}
	if current, ok := h.srv.Clients.Get(cl.ID); ok && current != cl {
		return // the ID belongs to a newer session now
	}
	h.interest.removeClient(cl.ID)
}

// reconcile rebuilds the interest set from mochi's clients, including offline sessions.
func (h *hook) reconcile() {
	h.interest.reconcile(func() map[string][]string {
		out := make(map[string][]string)
		for id, cl := range h.srv.Clients.GetAll() {
			if isInline(cl) {
				continue
			}
			if filters := subscriptionFilters(cl); len(filters) > 0 {
				out[id] = filters
			}
		}
		return out
	})
}

func subscriptionFilters(cl *mqtt.Client) []string {
	subs := cl.State.Subscriptions.GetAll()
	filters := make([]string, 0, len(subs))
	for f := range subs {
		filters = append(filters, f)
	}
	return filters
}
