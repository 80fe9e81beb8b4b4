// Package netx opens the UDP sockets the mesh runs on: the per-process data socket, the discovery
// socket that several processes on one host share, and batch (recvmmsg/sendmmsg) I/O on them.
//
// It is Linux-specific where it has to be (socket options, /proc/net/route) and IPv4 only for now:
// the mesh is IPv4 first. Interface selection lives here too, because the interface decides both
// the address an endpoint advertises and where its multicast beacons leave the host.
package netx
