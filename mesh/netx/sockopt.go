package netx

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketBufferSize is large so that bursts of fragments (a 16 MiB message is ~12,000 datagrams)
// survive a scheduling hiccup of the reader instead of being dropped by the kernel.
const socketBufferSize = 4 << 20

// setBuffers raises the socket buffers. The *FORCE variants pass net.core.{r,w}mem_max but need
// CAP_NET_ADMIN; without it the plain options are capped by the sysctl, which is still better
// than the default. Failure is not fatal: the socket works, only with less slack.
func setBuffers(fd int) {
	for _, opt := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt[0], socketBufferSize) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt[1], socketBufferSize)
		}
	}
}

// dataControl prepares the data socket before bind.
func dataControl(_, _ string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) { setBuffers(int(fd)) })
}

// discoveryControl prepares the shared discovery socket before bind: address and port reuse so
// every glue-mqtt process on the host can bind the discovery port, and IP_MULTICAST_ALL off so a
// socket bound to 0.0.0.0 receives only the groups it joined itself, not every group joined by
// any socket on the host.
func discoveryControl(_, _ string, rc syscall.RawConn) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		s := int(fd)
		err = errors.Join(
			unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1),
			unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1),
			unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0),
		)
		setBuffers(s)
	})
	if cerr != nil {
		return cerr
	}
	return err
}
