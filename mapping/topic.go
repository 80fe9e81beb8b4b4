package mapping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

// ErrLocalOnly reports a $SYS topic or filter, which never crosses the mesh.
var ErrLocalOnly = errors.New("mapping: $SYS topics stay local")

// IsLocalOnly reports whether a topic name or filter belongs to $SYS ("$SYS" or "$SYS/...").
// The comparison is case-sensitive, as MQTT topics are.
func IsLocalOnly(topic string) bool {
	return topic == "$SYS" || strings.HasPrefix(topic, "$SYS/")
}

// TopicToMesh returns the mesh topic for an MQTT topic name: the same string. It fails for invalid
// names and, with ErrLocalOnly, for $SYS topics.
func TopicToMesh(mqttTopic string) (meshTopic string, err error) {
	if err := checkTopic(mqttTopic); err != nil {
		return "", err
	}
	return mqttTopic, nil
}

// TopicFromMesh returns the MQTT topic name for a topic received from the mesh. It applies the same
// checks as TopicToMesh, because the mesh is a network input: a peer must not inject invalid or
// $SYS topics into the local broker. Every topic TopicToMesh accepts round-trips unchanged.
func TopicFromMesh(meshTopic string) (string, error) {
	if err := checkTopic(meshTopic); err != nil {
		return "", err
	}
	return meshTopic, nil
}

func checkTopic(topic string) error {
	if err := topicfilter.ValidateTopic(topic); err != nil {
		return fmt.Errorf("mapping: invalid topic name: %w", err)
	}
	if IsLocalOnly(topic) {
		return fmt.Errorf("mapping: topic %q: %w", topic, ErrLocalOnly)
	}
	return nil
}
