package frag

import "time"

// Config bounds a Reassembler. Zero or negative fields are replaced by their defaults.
type Config struct {
	// MaxMessage is the largest message accepted, in bytes.
	MaxMessage int
	// Budget is the global number of bytes partial messages may hold (data plus bookkeeping).
	Budget int64
	// Timeout drops a partial message that received no new fragment for this long.
	Timeout time.Duration
	// MaxPartials bounds the number of partial messages.
	MaxPartials int
}

// DefaultConfig returns the product defaults.
func DefaultConfig() Config {
	return Config{
		MaxMessage:  16 << 20,         // the mesh's documented maximum message size
		Budget:      64 << 20,         // four maximum-size messages in reassembly at once
		Timeout:     10 * time.Second, // as the reliable channel's give-up time: a sender retransmits well within it
		MaxPartials: 4096,             // many peers with a few messages each; bounds bookkeeping
	}
}

func (c Config) normalized() Config {
	d := DefaultConfig()
	if c.MaxMessage <= 0 {
		c.MaxMessage = d.MaxMessage
	}
	if c.Budget <= 0 {
		c.Budget = d.Budget
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxPartials <= 0 {
		c.MaxPartials = d.MaxPartials
	}
	return c
}
