package bridge

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/glue-mqtt/glue-mqtt/mapping"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// clientFilters maps a client ID to its MQTT filters, each with its mesh filter ("" for a filter
// that stays local, such as $SYS/#).
type clientFilters map[string]map[string]string

// interest tracks the mesh filters the local subscriptions need and keeps the mesh subscribed to
// exactly those. Every entry mirrors a subscription mochi holds, so it is bounded by mochi's own
// state. One mutex serialises the updates and the calls to the mesh, so Subscribe and
// Unsubscribe reach the mesh in the order the changes happened.
type interest struct {
	mu         sync.Mutex
	mesh       Mesh
	handler    mesh.Handler
	log        *slog.Logger
	byClient   clientFilters
	refs       map[string]int      // mesh filter -> number of (client, MQTT filter) pairs needing it
	subscribed map[string]struct{} // mesh filters the mesh has accepted a subscription for
	plusHash   atomic.Int64        // (client, MQTT filter) pairs whose filter ends in "+/#"
	closed     bool
}

func newInterest(m Mesh, h mesh.Handler, log *slog.Logger) *interest {
	return &interest{
		mesh:       m,
		handler:    h,
		log:        log,
		byClient:   make(clientFilters),
		refs:       make(map[string]int),
		subscribed: make(map[string]struct{}),
	}
}

// meshFilter returns the mesh filter of an MQTT filter; ok is false for filters that stay local
// ($SYS) or that the mesh cannot carry.
func meshFilter(mqttFilter string) (string, bool) {
	f, err := mapping.FilterToMesh(mqttFilter)
	if err != nil {
		return "", false
	}
	return f.Mesh, true
}

// add records that client subscribed to mqttFilter and reports whether the filter concerns the
// mesh.
func (in *interest) add(clientID, mqttFilter string) bool {
	mf, ok := meshFilter(mqttFilter)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false
	}
	in.addLocked(clientID, mqttFilter, mf)
	if ok {
		in.applyLocked(mf)
	}
	return ok
}

// hasPlusHash reports whether any local subscription's filter ends in "+/#": only then can
// mochi miss a subscriber (plushash.go). It is read on every publish, so it takes no lock.
func (in *interest) hasPlusHash() bool { return in.plusHash.Load() > 0 }

func isPlusHash(mqttFilter string) bool { return strings.HasSuffix(mqttFilter, "+/#") }

func (in *interest) addLocked(clientID, mqttFilter, mf string) {
	filters := in.byClient[clientID]
	if filters == nil {
		filters = make(map[string]string)
		in.byClient[clientID] = filters
	}
	if _, dup := filters[mqttFilter]; dup {
		return // a repeated SUBSCRIBE replaces the subscription; it needs no second reference
	}
	filters[mqttFilter] = mf
	if mf != "" {
		in.refs[mf]++
	}
	if isPlusHash(mqttFilter) {
		in.plusHash.Add(1)
	}
}

// remove records that client no longer subscribes to mqttFilter.
func (in *interest) remove(clientID, mqttFilter string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	if mf, ok := in.removeLocked(clientID, mqttFilter); ok {
		in.applyLocked(mf)
	}
}

// removeLocked forgets one (client, MQTT filter) pair; ok reports whether it had a mesh filter,
// which the caller must then apply.
func (in *interest) removeLocked(clientID, mqttFilter string) (mf string, ok bool) {
	filters := in.byClient[clientID]
	mf, ok = filters[mqttFilter]
	if !ok {
		return "", false
	}
	delete(filters, mqttFilter)
	if len(filters) == 0 {
		delete(in.byClient, clientID)
	}
	if isPlusHash(mqttFilter) {
		in.plusHash.Add(-1)
	}
	if mf == "" {
		return "", false
	}
	if in.refs[mf]--; in.refs[mf] <= 0 {
		delete(in.refs, mf)
	}
	return mf, true
}

// setClient replaces everything recorded for one client by its current MQTT filters.
func (in *interest) setClient(clientID string, mqttFilters []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	touched := make(map[string]struct{})
	// Add before removing, and keep what stays, so that the counts read without the lock
	// (hasPlusHash) never drop below what the client holds.
	for _, f := range mqttFilters {
		mf, ok := meshFilter(f)
		in.addLocked(clientID, f, mf)
		if ok {
			touched[mf] = struct{}{}
		}
	}
	for old := range in.byClient[clientID] {
		if slices.Contains(mqttFilters, old) {
			continue
		}
		if mf, ok := in.removeLocked(clientID, old); ok {
			touched[mf] = struct{}{}
		}
	}
	for mf := range touched {
		in.applyLocked(mf)
	}
}

// removeClient forgets a client (its session expired).
func (in *interest) removeClient(clientID string) { in.setClient(clientID, nil) }

// reconcile replaces the whole record by a snapshot of mochi's clients. snapshot runs under the
// lock: mochi changes a client's subscriptions before it calls the hooks, and the hooks wait for
// this lock, so no update a hook already applied can be missing from the snapshot.
func (in *interest) reconcile(snapshot func() map[string][]string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	in.byClient = make(clientFilters)
	in.refs = make(map[string]int)
	// The rebuild counts the "+/#" filters again on top of the old count, which is taken off at
	// the end: a publish meanwhile sees too many (a needless scan), never too few.
	before := in.plusHash.Load()
	for id, filters := range snapshot() {
		for _, f := range filters {
			mf, _ := meshFilter(f)
			in.addLocked(id, f, mf)
		}
	}
	in.plusHash.Add(-before)
	// Apply every filter that is wanted or subscribed: this also retries subscriptions the mesh
	// refused earlier.
	for mf := range in.subscribed {
		in.applyLocked(mf)
	}
	for mf := range in.refs {
		in.applyLocked(mf)
	}
}

// applyLocked makes the mesh subscription of mf match whether a local subscription needs it.
func (in *interest) applyLocked(mf string) {
	_, has := in.subscribed[mf]
	switch want := in.refs[mf] > 0; {
	case want && !has:
		if err := in.mesh.Subscribe(mf, "", in.handler); err != nil {
			in.log.Warn("bridge: mesh subscribe failed; retried at the next reconcile", "filter", mf, "error", err)
			return
		}
		in.subscribed[mf] = struct{}{}
	case !want && has:
		if err := in.mesh.Unsubscribe(mf, ""); err != nil {
			in.log.Warn("bridge: mesh unsubscribe failed", "filter", mf, "error", err)
		}
		delete(in.subscribed, mf)
	}
}

// filters returns the mesh filters currently subscribed (tests and status).
func (in *interest) filters() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int, len(in.refs))
	for mf, n := range in.refs {
		out[mf] = n
	}
	return out
}

// close unsubscribes the mesh from everything; later updates are ignored.
func (in *interest) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	for mf := range in.subscribed {
		if err := in.mesh.Unsubscribe(mf, ""); err != nil {
			in.log.Debug("bridge: mesh unsubscribe at close failed", "filter", mf, "error", err)
		}
		delete(in.subscribed, mf)
	}
	in.byClient, in.refs = make(clientFilters), make(map[string]int)
	// plusHash is left as it is: mochi still delivers to its clients while the server closes.
}
