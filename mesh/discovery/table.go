package discovery

import (
	"net/netip"
	"sort"
	"time"
)

// ID is an endpoint's stable role identifier (UUID bytes).
type ID [16]byte

// Announcement is what a beacon (or a peer-list entry) says about an endpoint.
type Announcement struct {
	ID             ID
	Session        uint64
	Name           string
	Addr           netip.AddrPort // data address
	InterestDigest uint64
	StateDigest    uint64
	Interval       time.Duration // the sender's beacon interval
	Leaving        bool
}

// Peer is one entry of the table.
type Peer struct {
	Announcement
	FirstSeen time.Time
	LastSeen  time.Time
	Expires   time.Time

	ended [maxEnded]uint64 // sessions of this ID that a restart replaced (0: none), newest at ended[0]
}

// maxEnded is how many replaced sessions of a peer the table remembers, to ignore their
// stragglers whatever their order.
const maxEnded = 4

// rebootSilence: a beacon from an unknown but lower session is a restart (a host whose clock
// went back) once the current session has been silent for this many beacon intervals; sooner,
// it is taken for a straggler. More than one interval, so beacon jitter cannot trigger it.
const rebootSilence = 1.5

func (p *Peer) hasEnded(session uint64) bool {
	for _, s := range p.ended {
		if s == session && s != 0 {
			return true
		}
	}
	return false
}

// EventKind says what happened to a peer.
type EventKind int

// The events Observe and Expire report.
const (
	Joined EventKind = iota + 1
	Restarted
	Changed
	Left
)

func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Restarted:
		return "restarted"
	case Changed:
		return "changed"
	case Left:
		return "left"
	}
	return "unknown"
}

// Event is a change in the table.
type Event struct {
	Kind        EventKind
	Peer        Peer
	PrevSession uint64 // for Restarted: the session that ended
	Expired     bool   // for Left: true when not heard in time, false for a goodbye
}

// Config bounds and times the table.
type Config struct {
	// Multiplier: a peer not heard for Multiplier x its beacon interval is removed. Default 3.
	Multiplier int
	// MaxPeers bounds the table. Default 1024.
	MaxPeers int
	// DefaultInterval is assumed for announcements that carry no interval (peer lists). Default 1s.
	DefaultInterval time.Duration
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{Multiplier: 3, MaxPeers: 1024, DefaultInterval: time.Second}
}

// Stats counts what the table refused.
type Stats struct {
	Stale    uint64 // announcements of an older session of a known peer
	Refused  uint64 // new peers refused because the table was full
	Restarts uint64
}

// Table is the peer table. It is not safe for concurrent use: one goroutine (the endpoint's loop)
// owns it.
type Table struct {
	self  ID
	cfg   Config
	peers map[ID]*Peer
	stats Stats
}

// NewTable returns an empty table for the endpoint self.
func NewTable(self ID, cfg Config) *Table {
	def := DefaultConfig()
	if cfg.Multiplier <= 0 {
		cfg.Multiplier = def.Multiplier
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = def.MaxPeers
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = def.DefaultInterval
	}
	return &Table{self: self, cfg: cfg, peers: make(map[ID]*Peer)}
}

// Observe records an announcement heard at now. It reports at most one event; ok is false when
// nothing changed that the caller must act on (a refreshed peer, a stale or refused announcement,
// our own).
func (t *Table) Observe(a Announcement, now time.Time) (ev Event, ok bool) {
	if a.ID == t.self {
		return Event{}, false
	}
	if a.Interval <= 0 {
		a.Interval = t.cfg.DefaultInterval
	}
	p, known := t.peers[a.ID]
	if !known {
		if a.Leaving {
			return Event{}, false
		}
		if len(t.peers) >= t.cfg.MaxPeers {
			t.stats.Refused++
			return Event{}, false
		}
		p = &Peer{Announcement: a, FirstSeen: now}
		t.touch(p, now)
		t.peers[a.ID] = p
		return Event{Kind: Joined, Peer: *p}, true
	}
	if a.Session != p.Session {
		// Sessions start with the boot time, so a new boot normally has a higher session. A
		// host without a real-time clock may boot "into the past", though: a lower session we
		// never saw is a restart too once the current one has gone silent. A session a restart
		// already replaced is always a straggler.
		silent := now.Sub(p.LastSeen) >= time.Duration(rebootSilence*float64(p.Interval))
		if p.hasEnded(a.Session) || (a.Session < p.Session && !silent) {
			t.stats.Stale++
			return Event{}, false
		}
		prev := p.Session
		if a.Leaving {
			// The new boot says goodbye before we heard it arrive: the old one is gone too.
			delete(t.peers, a.ID)
			return Event{Kind: Left, Peer: *p}, true
		}
		t.stats.Restarts++
		ended := p.ended
		copy(ended[1:], ended[:])
		ended[0] = prev
		*p = Peer{Announcement: a, FirstSeen: now, ended: ended}
		t.touch(p, now)
		return Event{Kind: Restarted, Peer: *p, PrevSession: prev}, true
	}
	if a.Leaving {
		delete(t.peers, a.ID)
		p.Leaving = true
		return Event{Kind: Left, Peer: *p}, true
	}
	changed := p.Addr != a.Addr || p.InterestDigest != a.InterestDigest || p.StateDigest != a.StateDigest || p.Name != a.Name
	first := p.FirstSeen
	p.Announcement = a
	p.FirstSeen = first
	t.touch(p, now)
	if changed {
		return Event{Kind: Changed, Peer: *p}, true
	}
	return Event{}, false
}

// Refresh marks a known peer (id, session) as alive at now without a beacon, for example because
// data arrived from it. It reports whether the peer is known with that session.
func (t *Table) Refresh(id ID, session uint64, now time.Time) bool {
	p, ok := t.peers[id]
	if !ok || p.Session != session {
		return false
	}
	t.touch(p, now)
	return true
}

func (t *Table) touch(p *Peer, now time.Time) {
	p.LastSeen = now
	p.Expires = now.Add(time.Duration(t.cfg.Multiplier) * p.Interval)
}

// Expire removes the peers whose time ran out by now and reports them.
func (t *Table) Expire(now time.Time) []Event {
	var evs []Event
	for id, p := range t.peers {
		if !now.Before(p.Expires) {
			delete(t.peers, id)
			evs = append(evs, Event{Kind: Left, Peer: *p, Expired: true})
		}
	}
	sort.Slice(evs, func(i, j int) bool { return lessID(evs[i].Peer.ID, evs[j].Peer.ID) })
	return evs
}

// Remove drops a peer (for example after its transport failed) and reports whether it was there.
func (t *Table) Remove(id ID) bool {
	_, ok := t.peers[id]
	delete(t.peers, id)
	return ok
}

// NextExpiry is the earliest time a peer may expire (zero if the table is empty).
func (t *Table) NextExpiry() time.Time {
	var next time.Time
	for _, p := range t.peers {
		if next.IsZero() || p.Expires.Before(next) {
			next = p.Expires
		}
	}
	return next
}

// Get returns the peer with the given ID.
func (t *Table) Get(id ID) (Peer, bool) {
	p, ok := t.peers[id]
	if !ok {
		return Peer{}, false
	}
	return *p, true
}

// Len is the number of peers.
func (t *Table) Len() int { return len(t.peers) }

// All returns the peers ordered by ID.
func (t *Table) All() []Peer {
	out := make([]Peer, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return lessID(out[i].ID, out[j].ID) })
	return out
}

// Stats returns the counters.
func (t *Table) Stats() Stats { return t.stats }

func lessID(a, b ID) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
