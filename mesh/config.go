package mesh

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/glue-mqtt/glue-mqtt/mesh/faultnet"
)

// Default discovery group of the original glue.
const DefaultDiscoveryTarget = "239.192.137.1:27320"

// Config configures an Endpoint. Build it with DefaultConfig and change what you need, or with
// ConfigFromEnv for the original glue's GLUE_* variables.
type Config struct {
	// NetworkID names the mesh; endpoints of other networks are ignored. GLUE_NETWORK_ID. Default "default".
	NetworkID string
	// EndpointID is the stable role ID (a UUID). GLUE_ENDPOINT_ID. Default: a random UUID per process.
	EndpointID string
	// EndpointName names this boot of the endpoint, for people. GLUE_ENDPOINT_NAME. Default: host-pid.
	EndpointName string
	// ListenAddress is the data socket's address. GLUE_LISTEN_ADDRESS. Default "": the listen
	// interface's IPv4 address with an ephemeral port, so several processes share a host.
	ListenAddress string
	// ListenInterface is the interface for discovery and data. GLUE_LISTEN_INTERFACE. Default "": the
	// interface of the default route. Use "lo" to keep a test on one host.
	ListenInterface string
	// DiscoveryTarget is where beacons go: a multicast group (multicast mode) or a comma-separated list
	// of unicast rendezvous addresses (unicast mode). GLUE_DISCOVERY_TARGET_ADDRESS.
	// Default 239.192.137.1:27320.
	DiscoveryTarget string
	// DiscoveryListen is the discovery socket's address. GLUE_DISCOVERY_LISTEN_ADDRESS. Default "":
	// 0.0.0.0:<group port> in multicast mode; no discovery socket in unicast mode (set it on the
	// rendezvous node, which then answers beacons with the peers it knows).
	DiscoveryListen string
	// DiscoveryRate is the beacon interval. GLUE_DISCOVERY_RATE_MILLISECONDS. Default 1s.
	DiscoveryRate time.Duration
	// DiscoveryTimeoutMultiplier: a peer not heard for rate x multiplier is gone.
	// GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER. Default 3.
	DiscoveryTimeoutMultiplier int
	// NetworkKey, when set (at least 16 bytes), authenticates and encrypts every datagram.
	// GLUE_NETWORK_KEY. Default "": plaintext, with a warning at start.
	NetworkKey string
	// MTU is the largest UDP payload sent. Default 1400, which fits Ethernet with room for
	// IPv6 and tunnels; on lo it keeps benchmark figures honest for a real LAN.
	MTU int
	// MaxMessageSize bounds one message (topic, metadata and payload). Default 16 MiB.
	MaxMessageSize int
	// ReassemblyBudget bounds, over all peers, the bytes held in partially received messages:
	// best-effort fragments, reliable fragments in the receive windows, and the reliable
	// messages being reassembled. Reliable data beyond it is refused unacknowledged (the sender
	// retransmits later), never dropped once acknowledged; so that partial messages cannot wait
	// for each other, one peer may exceed it by the message it is completing. Default 64 MiB.
	ReassemblyBudget int64
	// ReassemblyTimeout drops a partial message that got no fragment for this long. Default 10s.
	ReassemblyTimeout time.Duration
	// SendBuffer bounds the bytes queued or in flight to one peer on the reliable channel;
	// publishers wait (back-pressure) when it is full. Default 4 MiB.
	SendBuffer int
	// DeliveryQueue bounds the messages received and waiting for the handlers. When it is full
	// reliable data is left unacknowledged (the sender slows down) and best-effort data is dropped.
	// Default 4096.
	DeliveryQueue int
	// DeliveryBytes bounds the bytes (topic, metadata and payload) of the messages waiting for
	// the handlers, so that 4096 large messages cannot pile up: over it, the queue counts as full
	// for reliable data and best-effort data is dropped. An empty queue always takes one message,
	// so it may be exceeded by one message. Default 64 MiB.
	DeliveryBytes int64
	// GiveUpAfter: a peer that acknowledges nothing for this long is reported as failing, and
	// messages to it are dropped (counted) instead of blocking publishers. Default 10s.
	GiveUpAfter time.Duration
	// StopTimeout bounds how long Stop waits for queued reliable data to be acknowledged. Default 2s.
	StopTimeout time.Duration
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
	// TestImpairment damages the datagrams this endpoint sends ("loss=0.1,dup=0.05,delay=2ms,
	// jitter=3ms,reorder=0.1", see mesh/faultnet). Test-only: for fault scenarios on machines
	// without tc netem. GLUE_TEST_IMPAIR. Default "": off.
	TestImpairment string
	// TestImpairmentFile names a file of per-destination impairment rules ("169.254.77.2
	// delay=80ms", one per line, see faultnet.ParseRules) that override TestImpairment for the
	// destinations they match, re-read within about 200ms whenever it changes, so a test can
	// impair and heal single links at run time. Test-only, like TestImpairment; the counts of
	// what was done are on /metrics (glue_mesh_test_impairment_total). GLUE_TEST_IMPAIR_FILE.
	// Default "": off.
	TestImpairmentFile string
	// Network opens the sockets. Default nil: the host's UDP stack. Tests pass an in-memory network
	// or wrap the real one to inject faults.
	Network Network
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{
		NetworkID:                  "default",
		DiscoveryTarget:            DefaultDiscoveryTarget,
		DiscoveryRate:              time.Second,
		DiscoveryTimeoutMultiplier: 3,
		MTU:                        1400,
		MaxMessageSize:             16 << 20,
		ReassemblyBudget:           64 << 20,
		ReassemblyTimeout:          10 * time.Second,
		SendBuffer:                 4 << 20,
		DeliveryQueue:              4096,
		DeliveryBytes:              64 << 20,
		GiveUpAfter:                10 * time.Second,
		StopTimeout:                2 * time.Second,
	}
}

// The environment variables ConfigFromEnv reads.
const (
	EnvNetworkID          = "GLUE_NETWORK_ID"
	EnvEndpointID         = "GLUE_ENDPOINT_ID"
	EnvEndpointName       = "GLUE_ENDPOINT_NAME"
	EnvListenAddress      = "GLUE_LISTEN_ADDRESS"
	EnvListenInterface    = "GLUE_LISTEN_INTERFACE"
	EnvDiscoveryTarget    = "GLUE_DISCOVERY_TARGET_ADDRESS"
	EnvDiscoveryListen    = "GLUE_DISCOVERY_LISTEN_ADDRESS"
	EnvDiscoveryRate      = "GLUE_DISCOVERY_RATE_MILLISECONDS"
	EnvDiscoveryMultplier = "GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER"
	EnvNetworkKey         = "GLUE_NETWORK_KEY"
	EnvTestImpair         = "GLUE_TEST_IMPAIR"
	EnvTestImpairFile     = "GLUE_TEST_IMPAIR_FILE"
)

// ConfigFromEnv overlays the GLUE_* variables found by getenv (os.Getenv) on base. A variable that
// is set but does not parse is an error, never a silent default.
func ConfigFromEnv(base Config, getenv func(string) string) (Config, error) {
	c := base
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	str(EnvNetworkID, &c.NetworkID)
	str(EnvEndpointID, &c.EndpointID)
	str(EnvEndpointName, &c.EndpointName)
	str(EnvListenAddress, &c.ListenAddress)
	str(EnvListenInterface, &c.ListenInterface)
	str(EnvDiscoveryTarget, &c.DiscoveryTarget)
	str(EnvDiscoveryListen, &c.DiscoveryListen)
	str(EnvTestImpair, &c.TestImpairment)
	str(EnvTestImpairFile, &c.TestImpairmentFile)
	if v := getenv(EnvNetworkKey); v != "" {
		c.NetworkKey = v
	}
	if v := strings.TrimSpace(getenv(EnvDiscoveryRate)); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return base, fmt.Errorf("mesh: %s=%q: want a positive number of milliseconds", EnvDiscoveryRate, v)
		}
		c.DiscoveryRate = time.Duration(ms) * time.Millisecond
	}
	if v := strings.TrimSpace(getenv(EnvDiscoveryMultplier)); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m <= 0 {
			return base, fmt.Errorf("mesh: %s=%q: want a positive integer", EnvDiscoveryMultplier, v)
		}
		c.DiscoveryTimeoutMultiplier = m
	}
	if err := c.Validate(); err != nil {
		return base, err
	}
	return c, nil
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	if c.NetworkID == "" || len(c.NetworkID) > 255 {
		return errors.New("mesh: network ID must be 1 to 255 bytes")
	}
	if c.EndpointID != "" {
		if _, err := uuid.Parse(c.EndpointID); err != nil {
			return fmt.Errorf("mesh: endpoint ID %q is not a UUID: %w", c.EndpointID, err)
		}
	}
	if len(c.EndpointName) > 255 {
		return errors.New("mesh: endpoint name longer than 255 bytes")
	}
	if err := validInterfaceName(c.ListenInterface); err != nil {
		return err
	}
	if c.ListenAddress != "" {
		if _, err := netip.ParseAddrPort(c.ListenAddress); err != nil {
			return fmt.Errorf("mesh: listen address %q: %w", c.ListenAddress, err)
		}
	}
	if _, _, err := c.discoveryTargets(); err != nil {
		return err
	}
	if c.DiscoveryListen != "" {
		if _, err := netip.ParseAddrPort(c.DiscoveryListen); err != nil {
			return fmt.Errorf("mesh: discovery listen address %q: %w", c.DiscoveryListen, err)
		}
	}
	if c.DiscoveryRate <= 0 {
		return errors.New("mesh: discovery rate must be positive")
	}
	if c.DiscoveryTimeoutMultiplier <= 0 {
		return errors.New("mesh: discovery timeout multiplier must be positive")
	}
	if c.NetworkKey != "" && len(c.NetworkKey) < 16 {
		return errors.New("mesh: network key must be at least 16 bytes")
	}
	if _, err := faultnet.Parse(c.TestImpairment); err != nil {
		return fmt.Errorf("mesh: test impairment: %w", err)
	}
	if c.MTU < 576 || c.MTU > 65000 {
		return fmt.Errorf("mesh: MTU %d out of range 576..65000", c.MTU)
	}
	if c.MaxMessageSize <= 0 || c.MaxMessageSize > 1<<30 {
		return fmt.Errorf("mesh: max message size %d out of range", c.MaxMessageSize)
	}
	if c.SendBuffer <= 0 || c.DeliveryQueue <= 0 || c.DeliveryBytes <= 0 || c.ReassemblyBudget <= 0 || c.ReassemblyTimeout <= 0 || c.GiveUpAfter <= 0 || c.StopTimeout < 0 {
		return errors.New("mesh: buffer sizes and timeouts must be positive")
	}
	return nil
}

// validInterfaceName rejects what cannot be a Linux interface name (IFNAMSIZ 16 with the NUL,
// no '/', no white space); New checks that the interface exists.
func validInterfaceName(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 15 || name == "." || name == ".." || strings.ContainsAny(name, "/ \t\n") {
		return fmt.Errorf("mesh: listen interface %q: not an interface name", name)
	}
	return nil
}

// discoveryTargets parses DiscoveryTarget: one multicast group, or unicast addresses.
func (c *Config) discoveryTargets() (targets []netip.AddrPort, multicast bool, err error) {
	for _, s := range strings.Split(c.DiscoveryTarget, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return nil, false, fmt.Errorf("mesh: discovery target %q: %w", s, err)
		}
		targets = append(targets, ap)
	}
	if len(targets) == 0 {
		return nil, false, errors.New("mesh: no discovery target")
	}
	for _, t := range targets {
		if t.Addr().IsMulticast() {
			if len(targets) > 1 {
				return nil, false, errors.New("mesh: a multicast discovery target cannot be mixed with others")
			}
			return targets, true, nil
		}
	}
	return targets, false, nil
}
