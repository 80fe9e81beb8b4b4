package topicfilter

import "strings"

// Match reports whether the topic name matches the filter under MQTT 3.1.1/5 section 4.7 rules
// (see the package documentation). It returns false if either argument is invalid.
func Match(filter, topic string) bool {
	if ValidateFilter(filter) != nil || ValidateTopic(topic) != nil {
		return false
	}
	return matchValid(filter, topic)
}

// matchValid is Match for arguments already known to be valid.
func matchValid(filter, topic string) bool {
	if topic[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		flevel, frest, fmore := strings.Cut(filter, "/")
		if flevel == "#" {
			return true
		}
		tlevel, trest, tmore := strings.Cut(topic, "/")
		if flevel != "+" && flevel != tlevel {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// The topic ended; only a trailing "#" may match the parent level ("a/#" matches "a").
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
