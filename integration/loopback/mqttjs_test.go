package loopback

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestMQTTjsGetsValidMQTT5Acks: an MQTT.js 5 client on A publishes QoS 1 and QoS 2 with user
// properties. mochi v2.7.9 on its own answers such a QoS 1 publish with PUBACK reason 0x01, which
// MQTT.js refuses ("Invalid puback reason code") by dropping the connection; glue-mqtt must answer
// validly: both publish callbacks complete without error, and an MQTT.js subscriber and a
// paho.golang subscriber on B receive both messages with the user properties in order.
func TestMQTTjsGetsValidMQTT5Acks(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		needTool(t, "node not found (Debian packages nodejs and npm; .ci/run installs them): %v", err)
	}
	dir, err := filepath.Abs("testdata/mqttjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mqtt", "package.json")); err != nil {
		needTool(t, "MQTT.js not installed: run `npm install` in %s (.ci/run does): %v", dir, err)
	}
	inst := startMesh(t, 2)
	a, b := inst[0], inst[1]
	topic := uniqueTopic("mqttjs")

	goSub := connectV5(t, b, "mqttjs-go-sub")
	goSub.subscribe(t, topic, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, node, "publish.js", strconv.Itoa(a.port), strconv.Itoa(b.port), topic)
	cmd.Dir = dir
	out, runErr := cmd.CombinedOutput()
	took := time.Since(start)
	var result struct {
		Published []struct {
			QoS   int     `json:"qos"`
			Error *string `json:"error"`
		} `json:"published"`
		Received []struct {
			Topic          string         `json:"topic"`
			Payload        string         `json:"payload"`
			QoS            int            `json:"qos"`
			UserProperties map[string]any `json:"userProperties"`
		} `json:"received"`
		Errors []string `json:"errors"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &result); err != nil {
		t.Fatalf("node publish.js: %v; output:\n%s", runErr, out)
	}
	if runErr != nil || len(result.Errors) > 0 {
		t.Fatalf("MQTT.js: %v, client errors %q; output:\n%s", runErr, result.Errors, out)
	}
	t.Logf("MQTT.js: connect, subscribe, 2 publishes acknowledged and received in %v (node process included)", took.Round(time.Millisecond))
	if len(result.Published) != 2 {
		t.Errorf("MQTT.js publish callbacks: %+v, want 2 without error", result.Published)
	}
	for _, p := range result.Published {
		if p.Error != nil {
			t.Errorf("MQTT.js QoS %d publish callback: %s", p.QoS, *p.Error)
		}
	}
	wantJS := map[string]any{"first": "one", "multi": []any{"a", "b"}, "last": "z"}
	for _, r := range result.Received {
		if !reflect.DeepEqual(r.UserProperties, wantJS) {
			t.Errorf("MQTT.js subscriber on B: %q QoS %d user properties %v, want %v", r.Payload, r.QoS, r.UserProperties, wantJS)
		}
	}

	wantGo := paho.UserProperties{{Key: "first", Value: "one"}, {Key: "multi", Value: "a"}, {Key: "multi", Value: "b"}, {Key: "last", Value: "z"}}
	for _, qos := range []byte{1, 2} {
		m := goSub.in.waitPayload(t, topic, "mqttjs qos "+strconv.Itoa(int(qos)))
		if m.QoS != qos {
			t.Errorf("paho.golang subscriber on B: QoS %d, want %d", m.QoS, qos)
		}
		if m.Props == nil || !slices.Equal(m.Props.User, wantGo) {
			t.Errorf("paho.golang subscriber on B: QoS %d user properties %v, want %q in order", qos, m.Props, wantGo)
		}
	}
}
