package topicfilter

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTopic(t *testing.T) {
	tests := []struct {
		topic string
		want  error
	}{
		// Valid names, including the opaque cases MQTT allows (section 4.7.3).
		{"sport/tennis/player1", nil},
		{"Accounts payable", nil}, // spaces are ordinary characters
		{"/finance", nil},
		{"finance/", nil},
		{"/", nil},
		{"//", nil},
		{"a//b", nil},
		{"a.b/c.d", nil},
		{"$SYS/broker/uptime", nil},
		{"$other", nil},
		{"température/über/東京", nil},
		{strings.Repeat("a", MaxLen), nil},
		// Invalid names.
		{"", ErrEmpty},
		{strings.Repeat("a", MaxLen+1), ErrTooLong},
		{"a\xffb", ErrInvalidUTF8},
		{"a\xed\xa0\x80", ErrInvalidUTF8}, // UTF-16 surrogate U+D800, forbidden by MQTT 1.5.4
		{"a\x00b", ErrNUL},
		{"sport/+", ErrWildcardInName},
		{"sport/#", ErrWildcardInName},
		{"sport+", ErrWildcardInName},
		{"#", ErrWildcardInName},
	}
	for _, tt := range tests {
		err := ValidateTopic(tt.topic)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ValidateTopic(%s) = %v, want %v", quote(tt.topic), err, tt.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "topicfilter: ") {
			t.Errorf("ValidateTopic(%s) error %q lacks package prefix", quote(tt.topic), err)
		}
	}
}

func TestValidateFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   error
	}{
		// Valid filters from MQTT 3.1.1 / 5.0 section 4.7.1.
		{"sport/tennis/player1/#", nil},
		{"sport/#", nil},
		{"#", nil},
		{"sport/tennis/#", nil},
		{"+", nil},
		{"+/tennis/#", nil},
		{"sport/+/player1", nil},
		{"+/+", nil},
		{"/+", nil},
		{"$SYS/#", nil},
		{"$SYS/monitor/+", nil},
		{"$share/group/a/b", nil}, // syntactically an ordinary filter
		{"/", nil},
		{"//", nil},
		{"a//b", nil},
		{"+//+/#", nil},
		{"a/ b/.c/é", nil},
		{strings.Repeat("+/", MaxLen/2) + "#", nil},
		// Invalid filters.
		{"sport/tennis#", ErrBadWildcard},
		{"sport/tennis/#/ranking", ErrBadWildcard},
		{"sport+", ErrBadWildcard},
		{"#/", ErrBadWildcard},
		{"##", ErrBadWildcard},
		{"++", ErrBadWildcard},
		{"a/+b", ErrBadWildcard},
		{"a/#b", ErrBadWildcard},
		{"", ErrEmpty},
		{strings.Repeat("/", MaxLen+1), ErrTooLong},
		{"a/\xc3", ErrInvalidUTF8},
		{"a/\x00", ErrNUL},
	}
	for _, tt := range tests {
		err := ValidateFilter(tt.filter)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ValidateFilter(%s) = %v, want %v", quote(tt.filter), err, tt.want)
		}
	}
}

func TestValidateFilterErrorNamesTheProblem(t *testing.T) {
	err := ValidateFilter("sport/tennis/#/ranking")
	if err == nil || !strings.Contains(err.Error(), "'#' must be the last level") ||
		!strings.Contains(err.Error(), `"sport/tennis/#/ranking"`) {
		t.Fatalf("error %v does not explain the misplaced '#'", err)
	}
	long := strings.Repeat("x", 1000) + "+"
	if err := ValidateFilter(long); err == nil || len(err.Error()) > 300 {
		t.Fatalf("error for a long filter should be short, got %d bytes", len(err.Error()))
	}
}
