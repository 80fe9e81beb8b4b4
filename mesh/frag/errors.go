package frag

import "errors"

// Errors returned by Reassembler.Add, wrapped with details.
var (
	// ErrInvalid: a fragment that cannot belong to any message (Count 0, Index out of range,
	// an empty fragment that is not the last).
	ErrInvalid = errors.New("frag: invalid fragment")
	// ErrInconsistent: a fragment that contradicts earlier fragments of its message (Count or
	// fragment size).
	ErrInconsistent = errors.New("frag: inconsistent fragment")
	// ErrTooLarge: the message would exceed Config.MaxMessage.
	ErrTooLarge = errors.New("frag: message too large")
	// ErrBudget: holding the fragment would exceed Config.Budget; it is dropped (treat as loss).
	ErrBudget = errors.New("frag: reassembly budget exhausted")
	// ErrTooManyPartials: starting another partial message would exceed Config.MaxPartials.
	ErrTooManyPartials = errors.New("frag: too many partial messages")
)
