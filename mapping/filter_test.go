package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

func TestFilterToMesh(t *testing.T) {
	tests := []struct {
		mqtt string
		want Filter
	}{
		{"a/+", Filter{Mesh: "a/+"}},
		{"#", Filter{Mesh: "#"}},
		{"sport/tennis/player1/#", Filter{Mesh: "sport/tennis/player1/#"}},
		{"a//b", Filter{Mesh: "a//b"}},
		{"/", Filter{Mesh: "/"}},
		{"$other/#", Filter{Mesh: "$other/#"}},
		{"$SYSTEM/+", Filter{Mesh: "$SYSTEM/+"}},
		{"$share/g/a/+", Filter{Mesh: "a/+", ShareGroup: "g"}},
		{"$share/group one/#", Filter{Mesh: "#", ShareGroup: "group one"}},
		{"$share/g//", Filter{Mesh: "/", ShareGroup: "g"}},
		{"$share/g/$share/h/x", Filter{Mesh: "$share/h/x", ShareGroup: "g"}}, // only one prefix is stripped
		{"$shared/g/x", Filter{Mesh: "$shared/g/x"}},                         // not the share prefix
		{"$SHARE/g/x", Filter{Mesh: "$SHARE/g/x"}},                           // case-sensitive
	}
	for _, tt := range tests {
		got, err := FilterToMesh(tt.mqtt)
		if err != nil || got != tt.want {
			t.Errorf("FilterToMesh(%q) = %+v, %v; want %+v", tt.mqtt, got, err, tt.want)
			continue
		}
		if got.MQTT() != tt.mqtt {
			t.Errorf("Filter%+v.MQTT() = %q, want %q", got, got.MQTT(), tt.mqtt)
		}
	}
}

func TestFilterToMeshRefused(t *testing.T) {
	tests := []struct {
		mqtt    string
		want    error
		explain string // must appear in the message so users see what is wrong
	}{
		{"$SYS/#", ErrLocalOnly, "$SYS"},
		{"$SYS", ErrLocalOnly, "$SYS"},
		{"$SYS/broker/+", ErrLocalOnly, "$SYS"},
		{"$share/g/$SYS/#", ErrLocalOnly, "$SYS"},
		{"$share", ErrBadShare, "no share group"},
		{"$share/", ErrBadShare, "empty share group"},
		{"$share//a", ErrBadShare, "empty share group"},
		{"$share/g", ErrBadShare, "no topic filter"},
		{"$share/g/", ErrBadShare, "no topic filter"},
		{"$share/+/a", ErrBadShare, "'+' or '#'"},
		{"$share/#", ErrBadShare, "'+' or '#'"},
		{"", topicfilter.ErrEmpty, "empty"},
		{"a/#/b", topicfilter.ErrBadWildcard, "'#' must be the last level"},
		{"a+", topicfilter.ErrBadWildcard, "whole level"},
		{"$share/g/a#", topicfilter.ErrBadWildcard, "whole level"},
		{"a\x00", topicfilter.ErrNUL, "U+0000"},
		{"\xc3", topicfilter.ErrInvalidUTF8, "UTF-8"},
	}
	for _, tt := range tests {
		got, err := FilterToMesh(tt.mqtt)
		if !errors.Is(err, tt.want) || got != (Filter{}) {
			t.Errorf("FilterToMesh(%q) = %+v, %v; want error %v", tt.mqtt, got, err, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "mapping: ") || !strings.Contains(err.Error(), tt.explain) {
			t.Errorf("FilterToMesh(%q) error %q should start with \"mapping: \" and mention %q", tt.mqtt, err, tt.explain)
		}
	}
}

func TestFilterFromMesh(t *testing.T) {
	for _, f := range []string{"a/+", "#", "a//b", "$other/#"} {
		if got, err := FilterFromMesh(f); err != nil || got != f {
			t.Errorf("FilterFromMesh(%q) = %q, %v", f, got, err)
		}
	}
	for f, want := range map[string]error{
		"$SYS/#": ErrLocalOnly, "$share/g/a": ErrBadShare, "$share": ErrBadShare,
		"a/#/b": topicfilter.ErrBadWildcard, "": topicfilter.ErrEmpty,
	} {
		if _, err := FilterFromMesh(f); !errors.Is(err, want) {
			t.Errorf("FilterFromMesh(%q) error = %v, want %v", f, err, want)
		}
	}
}
