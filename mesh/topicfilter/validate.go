package topicfilter

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest topic name or filter MQTT can encode (a two-byte length prefix).
const MaxLen = 65535

// Sentinel errors, wrapped with context by ValidateTopic and ValidateFilter; test with errors.Is.
var (
	ErrEmpty          = errors.New("topicfilter: empty")
	ErrTooLong        = errors.New("topicfilter: longer than 65535 bytes")
	ErrInvalidUTF8    = errors.New("topicfilter: not valid UTF-8")
	ErrNUL            = errors.New("topicfilter: contains U+0000")
	ErrWildcardInName = errors.New("topicfilter: wildcard '+' or '#' in a topic name")
	ErrBadWildcard    = errors.New("topicfilter: misplaced wildcard")
)

// ValidateTopic reports whether topic is a valid MQTT topic name (for PUBLISH): 1 to 65535 bytes,
// valid UTF-8, no U+0000, no '+' or '#'. Everything else (empty levels, '$', spaces) is allowed.
func ValidateTopic(topic string) error {
	if err := validateCommon("topic", topic); err != nil {
		return err
	}
	if i := strings.IndexAny(topic, "+#"); i >= 0 {
		return fmt.Errorf("topicfilter: topic %s: byte %d: %w", quote(topic), i, ErrWildcardInName)
	}
	return nil
}

// ValidateFilter reports whether filter is a valid MQTT topic filter (for SUBSCRIBE): the length,
// UTF-8 and NUL rules of topic names, '+' only as a whole level, '#' only as the whole last level.
func ValidateFilter(filter string) error {
	if err := validateCommon("filter", filter); err != nil {
		return err
	}
	start := 0
	for start <= len(filter) {
		end := strings.IndexByte(filter[start:], '/')
		last := end < 0
		if last {
			end = len(filter)
		} else {
			end += start
		}
		level := filter[start:end]
		if strings.ContainsAny(level, "+#") {
			switch {
			case level == "+":
			case level == "#" && last:
			case level == "#":
				return fmt.Errorf("topicfilter: filter %s: byte %d: '#' must be the last level: %w",
					quote(filter), start, ErrBadWildcard)
			default:
				return fmt.Errorf("topicfilter: filter %s: level at byte %d: '+' and '#' must fill a whole level: %w",
					quote(filter), start, ErrBadWildcard)
			}
		}
		start = end + 1
	}
	return nil
}

func validateCommon(kind, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("topicfilter: %s: %w", kind, ErrEmpty)
	case len(s) > MaxLen:
		return fmt.Errorf("topicfilter: %s of %d bytes: %w", kind, len(s), ErrTooLong)
	case !utf8.ValidString(s):
		return fmt.Errorf("topicfilter: %s %s: %w", kind, quote(s), ErrInvalidUTF8)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("topicfilter: %s %s: %w", kind, quote(s), ErrNUL)
	}
	return nil
}

// quote keeps error messages readable when a topic is long or hostile.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
