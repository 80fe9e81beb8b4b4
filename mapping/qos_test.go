package mapping

import "testing"

func TestReliable(t *testing.T) {
	for qos, want := range map[byte]bool{0: false, 1: true, 2: true, 3: true, 255: true} {
		if got := Reliable(qos); got != want {
			t.Errorf("Reliable(%d) = %v, want %v", qos, got, want)
		}
	}
}

func TestDeliveredQoS(t *testing.T) {
	for _, tt := range []struct{ published, granted, want byte }{
		{0, 0, 0}, {0, 2, 0}, {1, 0, 0}, {1, 1, 1}, {1, 2, 1}, {2, 1, 1}, {2, 2, 2}, {2, 0, 0},
	} {
		if got := DeliveredQoS(tt.published, tt.granted); got != tt.want {
			t.Errorf("DeliveredQoS(%d, %d) = %d, want %d", tt.published, tt.granted, got, tt.want)
		}
	}
}
