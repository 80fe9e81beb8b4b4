// Package netlab is a test bed of real hosts on one Ethernet segment, built from Linux network
// namespaces, for glue-mqtt's integration tests.
//
// A Lab has a switch namespace holding a bridge (br0) and N host namespaces h1..hN, each joined to
// the bridge by a veth pair (v<i> in the host, b<i> on the switch), with lo up, 169.254.77.<i>/24
// on v<i> and a 224.0.0.0/4 route on v<i> so that multicast discovery works. Every name carries a
// prefix unique to the test run ("gmnl<pid>-<n>"); New sweeps the namespaces left by earlier runs
// that died, and t.Cleanup removes everything a Lab made, also when the test fails or panics.
//
// Hosts run real glue-mqtt processes (ip netns exec), started with a clean GLUE_* environment
// (the caller's GLUE_* variables are never inherited), their logs kept in the test's temp dir and
// parsed for the mesh's "peer joined" / "peer gone" lines. The test process reaches each host's
// MQTT listener on the host's own 127.0.0.1:1883 by creating the TCP socket inside the host's
// namespace (setns on a locked OS thread that is then discarded), so no address or route is ever
// added to the root namespace and no mesh traffic can reach a real interface.
//
// Faults are applied per directed link between host ports in the switch namespace: loss (an nft
// bridge forward chain, numgen random), duplication (nft netdev ingress "dup to" the destination
// port), partitions (bridge forward drops between port sets, multicast included) and a multicast
// block for the rendezvous tests. Every rule lives in nft tables owned by the Lab and can be
// removed again. Delay and reordering are not possible with the kernel here (no sch_netem) and are
// injected inside glue-mqtt: on every datagram through its test-only GLUE_TEST_IMPAIR variable,
// or per directed link at run time with Lab.Impair / ClearImpair, which rewrite the sender's
// rules file (GLUE_TEST_IMPAIR_FILE, with Options.Impairable) and wait until glue-mqtt has logged
// it in force. Every glue-mqtt serves Prometheus /metrics on MetricsAddress inside its host
// (Host.ScrapeMetrics), where it also counts what the impairment did.
package netlab
