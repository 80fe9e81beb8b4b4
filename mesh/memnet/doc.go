// Package memnet is an in-memory, lossy datagram network: the unit-test twin of the UDP mesh
// network. Conns behave like *net.UDPConn (unicast, multicast groups with loopback, bounded
// receive queues, deadlines), and links can lose, duplicate, delay and reorder datagrams or be
// partitioned, all driven by one seeded random source so failures are reproducible.
//
// Everything blocks only on channels and timers, so a Network created inside a testing/synctest
// bubble runs on the bubble's fake clock: a 100 ms link delay takes 100 ms of fake time and no
// real time. Create the Network and its Conns inside the bubble that uses them.
package memnet
