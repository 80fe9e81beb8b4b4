// Package integration holds glue-mqtt's multi-process and multi-host tests. The package itself has
// no code: its tests drive real glue-mqtt binaries through real MQTT clients.
//
// The Netlab tests (netlab_*_test.go) run five or more hosts, each a Linux network namespace with
// its own glue-mqtt process, on one bridged segment, and inject real faults between them: loss,
// duplication and partitions with nftables in the switch namespace, delay and reordering with the
// mesh's test-only GLUE_TEST_IMPAIR (every datagram) and GLUE_TEST_IMPAIR_FILE (per link, at run
// time), and SIGKILL of whole hosts. They need root (network
// namespaces) and skip with a clear message otherwise. The harness lives in package
// integration/netlab; README.md gives the command lines to run the set by hand.
package integration
