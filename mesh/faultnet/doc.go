// Package faultnet impairs a real datagram socket from inside the process: loss, duplication,
// delay, jitter and reordering on the datagrams it sends. It exists for tests (the kernel of
// the test machines has no tc netem), and glue-mqtt enables it only through the documented
// test-only variable GLUE_TEST_IMPAIR; it is off by default.
//
// Delayed datagrams wait in a bounded heap served by one goroutine (never one goroutine per
// datagram); when the heap is full, further delayed datagrams are dropped, as a full link would.
package faultnet
