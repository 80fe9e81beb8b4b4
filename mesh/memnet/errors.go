package memnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
)

// errMessageTooLong mirrors EMSGSIZE for datagrams no UDP socket could send.
var errMessageTooLong = errors.New("message too long")

// maxDatagram is the largest UDP payload over IPv4.
const maxDatagram = 65507

// timeoutError is returned when a deadline passes. Like the errors of *net.UDPConn it is a
// net.Error with Timeout() true and matches os.ErrDeadlineExceeded.
type timeoutError struct {
	op   string
	addr netip.AddrPort
}

func (e *timeoutError) Error() string   { return fmt.Sprintf("memnet: %s %v: i/o timeout", e.op, e.addr) }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Unwrap() error   { return os.ErrDeadlineExceeded }

var _ net.Error = (*timeoutError)(nil)

func closedError(op string, addr netip.AddrPort) error {
	return fmt.Errorf("memnet: %s %v: %w", op, addr, net.ErrClosed)
}
