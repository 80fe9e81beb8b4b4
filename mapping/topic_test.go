package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

func TestTopicRoundTrip(t *testing.T) {
	topics := []string{
		"sport/tennis/player1",
		"a//b", "/", "//", "/leading", "trailing/", "/both/",
		"a.b.c", "with space", " ", "a/ /b",
		"température/東京/🙂",
		"$other", "$", "$SYSTEM", "$sys/lowercase", "a/$SYS", // '$' topics other than $SYS cross
		strings.Repeat("x", topicfilter.MaxLen),
	}
	for _, topic := range topics {
		mesh, err := TopicToMesh(topic)
		if err != nil || mesh != topic {
			t.Errorf("TopicToMesh(%q) = %q, %v; want it verbatim", topic, mesh, err)
			continue
		}
		back, err := TopicFromMesh(mesh)
		if err != nil || back != topic {
			t.Errorf("TopicFromMesh(%q) = %q, %v; want %q", mesh, back, err, topic)
		}
		if IsLocalOnly(topic) {
			t.Errorf("IsLocalOnly(%q) = true", topic)
		}
	}
}

func TestTopicRefused(t *testing.T) {
	tests := []struct {
		topic string
		want  error
	}{
		{"$SYS", ErrLocalOnly},
		{"$SYS/", ErrLocalOnly},
		{"$SYS/broker/clients/connected", ErrLocalOnly},
		{"", topicfilter.ErrEmpty},
		{"a/+", topicfilter.ErrWildcardInName},
		{"a/#", topicfilter.ErrWildcardInName},
		{"a\x00", topicfilter.ErrNUL},
		{"\xff", topicfilter.ErrInvalidUTF8},
		{strings.Repeat("x", topicfilter.MaxLen+1), topicfilter.ErrTooLong},
	}
	for _, tt := range tests {
		for name, conv := range map[string]func(string) (string, error){"TopicToMesh": TopicToMesh, "TopicFromMesh": TopicFromMesh} {
			got, err := conv(tt.topic)
			if !errors.Is(err, tt.want) || got != "" {
				t.Errorf("%s(%.40q) = %q, %v; want error %v", name, tt.topic, got, err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "mapping: ") {
				t.Errorf("%s error %q lacks the package prefix", name, err)
			}
		}
	}
}

func TestIsLocalOnly(t *testing.T) {
	for topic, want := range map[string]bool{
		"$SYS": true, "$SYS/": true, "$SYS/a/b": true, "$SYS/#": true,
		"$SYSX": false, "$sys": false, "/$SYS": false, "a/$SYS/b": false, "$share/g/$SYS": false, "": false,
	} {
		if got := IsLocalOnly(topic); got != want {
			t.Errorf("IsLocalOnly(%q) = %v, want %v", topic, got, want)
		}
	}
}
