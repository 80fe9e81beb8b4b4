package bridge

import (
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Server is the embedded MQTT broker of one host, bridged to the mesh.
type Server struct {
	cfg  Config
	mqtt *mqtt.Server
	hook *hook
	tcp  *listeners.TCP

	mu      sync.Mutex
	started bool

	closeOnce sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
}

// New builds the broker: mochi with a TCP listener on cfg.ListenAddress (bound now, so a busy port
// is reported here), every client allowed (users and ACLs are a later issue), and the bridge
// hook on m. The mesh may be started before or after; Start serves clients.
func New(m Mesh, cfg Config) (*Server, error) {
	if m == nil {
		return nil, errors.New("bridge: nil mesh")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	caps := mqtt.NewDefaultServerCapabilities()
	// mochi's own limit is only the hard ceiling; the hook refuses packets over the configured
	// limit with a DISCONNECT 0x95 (OnPacketRead), which mochi's check at the header cannot send.
	caps.MaximumPacketSize = packetCeiling(cfg.MaxPacketSize)
	// mochi's default (24 h) would give every message without an expiry an interval of 86400 s on
	// the wire and delete retained messages after a day; 0 leaves messages as they were published.
	caps.MaximumMessageExpiryInterval = 0
	// Acks must not echo the publish's properties (see OnPacketEncode for the reason code).
	caps.Compatibilities.NoInheritedPropertiesOnAck = true

	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       cfg.Logger.With("component", "mochi"),
	})
	s := &Server{cfg: cfg, mqtt: srv, stop: make(chan struct{})}
	// AllowHook: the broker listens on localhost by default; authentication and ACLs (mochi's
	// auth ledger) are a later issue.
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("bridge: add auth hook: %w", err)
	}
	s.hook = newHook(srv, m, cfg)
	installPlusHashFix(srv)
	if err := srv.AddHook(s.hook, nil); err != nil {
		return nil, fmt.Errorf("bridge: add bridge hook: %w", err)
	}
	s.tcp = listeners.NewTCP(listeners.Config{Type: "tcp", ID: "tcp", Address: cfg.ListenAddress})
	if err := srv.AddListener(s.tcp); err != nil {
		return nil, fmt.Errorf("bridge: listen on %s: %w", cfg.ListenAddress, err)
	}
	return s, nil
}

// Stats returns the bridge's counters.
func (s *Server) Stats() Stats { return s.hook.stats.snapshot() }

// Addr is the MQTT listener's address (with the real port when Config asked for port 0).
func (s *Server) Addr() string { return s.tcp.Address() }

// Start serves MQTT clients, brings the mesh interest up to date with any restored sessions, and
// keeps it reconciled every Config.ReconcileInterval.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stop:
		return errors.New("bridge: server closed")
	default:
	}
	if s.started {
		return errors.New("bridge: server already started")
	}
	if err := s.mqtt.Serve(); err != nil {
		return fmt.Errorf("bridge: serve: %w", err)
	}
	s.started = true
	s.hook.reconcile()
	s.wg.Add(1)
	go s.reconcileLoop()
	s.cfg.Logger.Info("bridge: MQTT broker serving", "address", s.Addr())
	return nil
}

// reconcileLoop rebuilds the interest set periodically: mochi fires no hook for sessions taken
// over or restored from storage.
func (s *Server) reconcileLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.hook.reconcile()
		case <-s.stop:
			return
		}
	}
}

// Close stops accepting clients, disconnects them and drops the mesh subscriptions. It does not
// stop the mesh. It is safe to call more than once (mochi's own Close is not).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.stop)
		s.mu.Unlock()
		s.wg.Wait()
		s.hook.close()
		// Close the listeners and their clients with our own closer first: mochi's
		// (closeListenerClients) calls Clients.GetByListener, which takes the clients' read lock
		// twice (it calls Len under it) and so deadlocks for ever when a client is being removed
		// at that moment (a writer waiting between the two read locks). A listener runs its
		// closer once, so mochi's Close below no longer calls its own.
		s.mqtt.Listeners.CloseAll(s.disconnectListenerClients)
		_ = s.mqtt.Close()
	})
	return nil
}

// disconnectListenerClients disconnects the clients of one listener as mochi's
// closeListenerClients does, reading the client table under a single read lock.
func (s *Server) disconnectListenerClients(listener string) {
	for _, cl := range s.mqtt.Clients.GetAll() {
		if cl.Net.Listener == listener && !cl.Closed() {
			_ = s.mqtt.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}
