package mesh

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/glue-mqtt/glue-mqtt/mesh/faultnet"
	"github.com/glue-mqtt/glue-mqtt/mesh/netx"
	"github.com/glue-mqtt/glue-mqtt/mesh/topicfilter"
)

// Endpoint is one member of the mesh: the original glue's endpoint manager. Create it with New,
// then Start; Stop releases everything (it is safe to call twice).
//
// Concurrency: the API methods may be called from any goroutine. All protocol state (peers,
// transport, reassembly) belongs to one loop goroutine (see core); two reader goroutines feed it
// datagrams and one delivery goroutine runs the handlers, so a slow handler never stalls the
// protocol.
type Endpoint struct {
	cfg     Config
	log     *slog.Logger
	id      EndpointID
	session uint64
	name    string

	mu              sync.Mutex // guards the fields below
	started         bool
	stopped         bool
	subs            *topicfilter.Index[*subscription]
	subByKey        map[subKey]*subscription
	interest        *topicfilter.Set // union of the local filters: what we announce
	interestVersion uint64
	startedAt       time.Time

	pubs           chan *outMsg                  // publishes waiting for the loop; its bound is the back-pressure
	ctl            chan func(*core)              // requests run on the loop goroutine
	inbox          chan *inPacket                // received datagrams
	interestDirty  chan struct{}                 // cap 1: the local interest changed
	delivery       chan delivery                 // messages waiting for the handlers
	deliveryBytes  atomic.Int64                  // their size (delivery.size), bounded by Config.DeliveryBytes
	wake           chan struct{}                 // cap 1: the handlers caught up
	handlersBehind atomic.Bool                   // the loop stopped reading a peer because delivery was full
	gate           atomic.Pointer[chan struct{}] // non-nil while the loop takes no publish; closed when it does again
	pubBytes       atomic.Int64                  // bytes of the messages in pubs (pubqueue.go)
	pubRoom        atomic.Pointer[chan struct{}] // non-nil while a Send waits for pubBytes to fall; closed when it does
	stopReq        chan struct{}                 // closed by Stop
	loopDone       chan struct{}                 // closed when the loop has said goodbye and returned
	done           chan struct{}                 // closed once the sockets are closed
	stopOnce       sync.Once
	wg             sync.WaitGroup

	data, disc PacketConn
	stats      counters
	impair     *faultnet.Conn // the test impairment of the data socket, if any (guarded by mu)
}

type subKey struct{ filter, typ string }

type subscription struct {
	filter, typ string
	h           Handler
}

// New checks the configuration and prepares an endpoint; Start joins the mesh. Zero fields of cfg
// take their defaults.
func New(cfg Config) (*Endpoint, error) {
	cfg = withDefaults(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Network == nil && cfg.ListenInterface != "" {
		// Fail now rather than at Start. (The default route's interface is looked up at Start.)
		if _, err := netx.ResolveInterface(cfg.ListenInterface); err != nil {
			return nil, fmt.Errorf("mesh: %w", err)
		}
	}
	id := uuid.New()
	if cfg.EndpointID != "" {
		id = uuid.MustParse(cfg.EndpointID) // Validate checked it
	}
	name := cfg.EndpointName
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Endpoint{
		cfg:           cfg,
		id:            EndpointID(id),
		session:       newSession(time.Now()),
		name:          name,
		subs:          topicfilter.NewIndex[*subscription](),
		subByKey:      make(map[subKey]*subscription),
		interest:      topicfilter.NewSet(),
		pubs:          make(chan *outMsg, 256),
		ctl:           make(chan func(*core), 64),
		inbox:         make(chan *inPacket, 1024),
		interestDirty: make(chan struct{}, 1),
		delivery:      make(chan delivery, cfg.DeliveryQueue),
		wake:          make(chan struct{}, 1),
		stopReq:       make(chan struct{}),
		loopDone:      make(chan struct{}),
		done:          make(chan struct{}),
	}
	e.log = log.With("endpoint", e.id.String()[:8])
	return e, nil
}

// newSession orders the boots of an endpoint: boot time in milliseconds, then 16 random bits so
// two boots in the same millisecond still differ.
func newSession(now time.Time) uint64 {
	var r [2]byte
	_, _ = rand.Read(r[:])
	return uint64(now.UnixMilli())<<16 | uint64(binary.BigEndian.Uint16(r[:])) | 1
}

func withDefaults(c Config) Config {
	d := DefaultConfig()
	if c.NetworkID == "" {
		c.NetworkID = d.NetworkID
	}
	if c.DiscoveryTarget == "" {
		c.DiscoveryTarget = d.DiscoveryTarget
	}
	if c.DiscoveryRate == 0 {
		c.DiscoveryRate = d.DiscoveryRate
	}
	if c.DiscoveryTimeoutMultiplier == 0 {
		c.DiscoveryTimeoutMultiplier = d.DiscoveryTimeoutMultiplier
	}
	if c.MTU == 0 {
		c.MTU = d.MTU
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = d.MaxMessageSize
	}
	if c.ReassemblyBudget == 0 {
		c.ReassemblyBudget = d.ReassemblyBudget
	}
	if c.ReassemblyTimeout == 0 {
		c.ReassemblyTimeout = d.ReassemblyTimeout
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = d.SendBuffer
	}
	if c.DeliveryQueue == 0 {
		c.DeliveryQueue = d.DeliveryQueue
	}
	if c.DeliveryBytes == 0 {
		c.DeliveryBytes = d.DeliveryBytes
	}
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = d.GiveUpAfter
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = d.StopTimeout
	}
	return c
}

// ID is the endpoint's stable role ID.
func (e *Endpoint) ID() EndpointID { return e.id }

// Session identifies this boot of the endpoint.
func (e *Endpoint) Session() uint64 { return e.session }

// Name is the endpoint's name for this boot.
func (e *Endpoint) Name() string { return e.name }

// Stats returns the counters.
func (e *Endpoint) Stats() Stats { return e.stats.snapshot() }

// TestImpairmentStats returns what the test impairment (Config.TestImpairment,
// TestImpairmentFile) did to the datagrams sent so far, and false when there is none.
func (e *Endpoint) TestImpairmentStats() (faultnet.Stats, bool) {
	e.mu.Lock()
	fc := e.impair
	e.mu.Unlock()
	if fc == nil {
		return faultnet.Stats{}, false
	}
	return fc.Stats(), true
}

// Start opens the sockets and joins the mesh.
func (e *Endpoint) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return ErrStopped
	}
	if e.started {
		return fmt.Errorf("mesh: endpoint already started")
	}
	network := e.cfg.Network
	if network == nil {
		n, err := NewUDPNetwork(e.cfg.ListenInterface)
		if err != nil {
			return err
		}
		network = n
	}
	targets, multicast, _ := e.cfg.discoveryTargets() // Validate checked it
	data, advertised, err := network.ListenData(e.cfg.ListenAddress)
	if err != nil {
		return err
	}
	if im, _ := faultnet.Parse(e.cfg.TestImpairment); !im.Zero() || e.cfg.TestImpairmentFile != "" {
		e.log.Warn("mesh: test impairment active: outgoing datagrams are damaged on purpose",
			"impairment", e.cfg.TestImpairment, "rules_file", e.cfg.TestImpairmentFile)
		fc, err := faultnet.New(data, im, faultnet.Options{Seed: e.session, RulesFile: e.cfg.TestImpairmentFile, Logger: e.log})
		if err != nil {
			data.Close()
			return fmt.Errorf("mesh: test impairment: %w", err)
		}
		data, e.impair = fc, fc
	}
	var disc PacketConn
	switch {
	case multicast:
		listen := e.cfg.DiscoveryListen
		if listen == "" {
			listen = netip.AddrPortFrom(netip.IPv4Unspecified(), targets[0].Port()).String()
		}
		disc, err = network.ListenDiscovery(listen, targets[0])
	case e.cfg.DiscoveryListen != "":
		// Unicast mode with a discovery listen address: this node is a rendezvous.
		disc, err = network.ListenDiscovery(e.cfg.DiscoveryListen, netip.MustParseAddrPort(e.cfg.DiscoveryListen))
	}
	if err != nil {
		data.Close()
		return err
	}
	c, err := newCore(e, data, advertised, targets, multicast)
	if err != nil {
		data.Close()
		if disc != nil {
			disc.Close()
		}
		return err
	}
	if e.cfg.NetworkKey == "" {
		e.log.Warn("mesh: no network key: datagrams are neither authenticated nor encrypted; set GLUE_NETWORK_KEY on every host to secure the mesh")
	}
	e.data, e.disc = data, disc
	e.started = true
	e.startedAt = time.Now()
	e.wg.Add(3)
	go e.readLoop(data, false)
	go c.run()
	go e.deliverLoop()
	if disc != nil {
		e.wg.Add(1)
		go e.readLoop(disc, true)
	}
	e.log.Info("mesh: started", "name", e.name, "network", e.cfg.NetworkID, "data", advertised.String(),
		"discovery", e.cfg.DiscoveryTarget, "discovery_listen", e.cfg.DiscoveryListen, "multicast", multicast)
	return nil
}

// Stop flushes queued reliable data, including every message whose Send returned before Stop
// was called (bounded by Config.StopTimeout), tells the peers we leave, closes the sockets and
// waits for every goroutine. A Send concurrent with Stop may fail with ErrStopped. It is safe to
// call more than once, but not from a Handler.
func (e *Endpoint) Stop() error {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		started := e.started
		e.stopped = true
		e.mu.Unlock()
		close(e.stopReq)
		if !started {
			return
		}
		<-e.loopDone
		e.data.Close()
		if e.disc != nil {
			e.disc.Close()
		}
		close(e.done)
		e.wg.Wait()
		e.log.Info("mesh: stopped")
	})
	return nil
}

// dataAddr is the advertised data address (tests).
func (e *Endpoint) dataAddr() netip.AddrPort {
	ch := make(chan netip.AddrPort, 1)
	if e.do(context.Background(), func(c *core) { ch <- c.advertised }) != nil {
		return netip.AddrPort{}
	}
	return <-ch
}
