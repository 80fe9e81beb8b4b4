package mapping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

// sharePrefix starts a shared subscription filter (MQTT 5 section 4.8.2).
const sharePrefix = "$share/"

// ErrBadShare reports a malformed shared subscription filter.
var ErrBadShare = errors.New("mapping: invalid shared subscription")

// Filter is an MQTT subscription filter as the mesh sees it.
type Filter struct {
	Mesh       string // filter used for mesh interest and matching, without any "$share/<group>/"
	ShareGroup string // shared subscription group; empty for an ordinary subscription
}

// MQTT returns the MQTT filter the Filter came from: "$share/<group>/<filter>" or the filter.
func (f Filter) MQTT() string {
	if f.ShareGroup == "" {
		return f.Mesh
	}
	return sharePrefix + f.ShareGroup + "/" + f.Mesh
}

// FilterToMesh validates an MQTT subscription filter and returns its mesh form. A shared
// subscription "$share/<group>/<filter>" is split into the group and the filter; the group must be
// non-empty and free of '/', '+' and '#', and the filter after it is required. Filters on $SYS,
// shared or not, fail with ErrLocalOnly.
func FilterToMesh(mqttFilter string) (Filter, error) {
	if err := topicfilter.ValidateFilter(mqttFilter); err != nil {
		return Filter{}, fmt.Errorf("mapping: invalid filter: %w", err)
	}
	f := Filter{Mesh: mqttFilter}
	if rest, ok := strings.CutPrefix(mqttFilter, sharePrefix); ok {
		group, filter, hasFilter := strings.Cut(rest, "/")
		switch {
		case group == "":
			return Filter{}, fmt.Errorf("mapping: filter %q: empty share group: %w", mqttFilter, ErrBadShare)
		case strings.ContainsAny(group, "+#"):
			return Filter{}, fmt.Errorf("mapping: filter %q: share group must not contain '+' or '#': %w", mqttFilter, ErrBadShare)
		case !hasFilter || filter == "":
			return Filter{}, fmt.Errorf("mapping: filter %q: no topic filter after the share group: %w", mqttFilter, ErrBadShare)
		}
		f = Filter{Mesh: filter, ShareGroup: group}
	} else if mqttFilter == "$share" {
		return Filter{}, fmt.Errorf("mapping: filter %q: no share group: %w", mqttFilter, ErrBadShare)
	}
	if IsLocalOnly(f.Mesh) {
		return Filter{}, fmt.Errorf("mapping: filter %q: %w", mqttFilter, ErrLocalOnly)
	}
	return f, nil
}

// FilterFromMesh validates a plain filter received from the mesh (for example a peer's announced
// interest) and returns it unchanged. Shared-subscription syntax and $SYS filters are refused.
func FilterFromMesh(meshFilter string) (string, error) {
	if err := topicfilter.ValidateFilter(meshFilter); err != nil {
		return "", fmt.Errorf("mapping: invalid mesh filter: %w", err)
	}
	if meshFilter == "$share" || strings.HasPrefix(meshFilter, sharePrefix) {
		return "", fmt.Errorf("mapping: mesh filter %q: shared subscriptions are not mesh filters: %w", meshFilter, ErrBadShare)
	}
	if IsLocalOnly(meshFilter) {
		return "", fmt.Errorf("mapping: mesh filter %q: %w", meshFilter, ErrLocalOnly)
	}
	return meshFilter, nil
}
