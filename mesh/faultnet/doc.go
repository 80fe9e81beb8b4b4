// Package faultnet impairs a real datagram socket from inside the process: loss, duplication,
// delay, jitter and reordering on the datagrams it sends, the same for every destination or per
// destination prefix through a rules file that is re-read when it changes. It exists for tests
// (the kernel of the test machines has no tc netem), and glue-mqtt enables it only through the
// documented test-only variables GLUE_TEST_IMPAIR and GLUE_TEST_IMPAIR_FILE; it is off by
// default. A Conn counts what it did (Stats), and glue-mqtt exports the counts on /metrics.
//
// Delayed datagrams wait in a bounded heap served by one goroutine (never one goroutine per
// datagram), which also checks the rules file at most every PollInterval; when the heap is full,
// further delayed datagrams are dropped, as a full link would.
package faultnet
