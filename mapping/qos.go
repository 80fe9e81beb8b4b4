package mapping

// Reliable reports whether a message of the given QoS goes over the mesh's reliable channel:
// QoS 1 and 2 do, QoS 0 goes best effort. Values above 2 are not valid QoS levels; they are
// treated as reliable so that a bug upstream can cost bandwidth but never lose messages.
func Reliable(qos byte) bool { return qos > 0 }

// DeliveredQoS returns the QoS a subscriber receives: the lower of the published QoS and the QoS
// granted to its subscription (MQTT 3.1.1 section 3.8.4, MQTT 5 section 3.8.4).
func DeliveredQoS(published, granted byte) byte { return min(published, granted) }
