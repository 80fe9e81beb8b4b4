// Package loopback holds glue-mqtt's process-level acceptance tests on one host: several real
// glue-mqtt processes, each with its own MQTT port on 127.0.0.1, joined into one mesh over the
// loopback interface, driven by real MQTT clients. The package has no code of its own; its tests
// are the acceptance tests of the issue "the embedded MQTT broker on every host, bridged onto the
// mesh".
//
// What they show, each across processes, never through mocks:
//
//   - across_test.go: paho (MQTT 3.1.1) and paho.golang (MQTT 5) clients on one instance receive
//     what clients on another publish: exact topics, + and # filters, QoS 0/1/2 downgraded to the
//     subscription's QoS, order, MQTT 5 properties, no duplicates, overlapping subscriptions as
//     mochi gives them locally, no echo, and subscribe-then-publish with no miss.
//   - mosquitto_test.go: mosquitto_pub and mosquitto_sub, MQTT 3.1.1 and 5 (skipped with a
//     message when the binaries are missing, a failure when CI=true).
//   - mqttjs_test.go: an MQTT.js 5 client (testdata/mqttjs, installed by .ci/run with npm) gets
//     valid MQTT 5 acknowledgements (skipped with a message when node or its modules are missing,
//     a failure when CI=true).
//   - shutdown_test.go: SIGTERM and SIGINT with QoS 1 publishes in flight: exit status 0 within
//     glue-mqtt's bound, the clients see the disconnect, the peer has every acknowledged message.
//   - expiry_test.go: the message expiry keeps counting down on the receiving host, and a
//     message that expired there is not delivered.
//   - misbehaving_test.go: malformed packets, oversized payloads (DISCONNECT 0x95 for MQTT 5) and
//     the bridge's reserved client IDs are refused without disturbing the other clients of that
//     instance.
//   - wildcard_parent_test.go and connack_limit_test.go: two defects found by these tests, each
//     in a test of its own that failed until it was fixed ("p/+/#" must match "p/a"; an MQTT 5
//     CONNACK must announce -max-packet-size).
//
// Every process is pinned to the loopback interface (GLUE_LISTEN_INTERFACE=lo), gets a network ID
// of its own test, a free MQTT port and a random multicast discovery port, so tests and other
// runs on the same host never mix. TestMain builds the glue-mqtt binary once per test binary.
// Every process must exit with status 0 when the harness stops it with SIGTERM.
//
// Absence (no duplicate, no echo, no message on a non-matching topic) cannot be observed as an
// event; those checks publish a sentinel after the messages under test and then keep listening
// for a short, bounded quiet window (quietWindow) before they count.
//
// Run them with `go test -race ./integration/loopback/`; -v prints the measured figures.
package loopback
