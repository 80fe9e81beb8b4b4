package wire

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Beacon flags.
const (
	// BeaconWantPeers asks the receiver of a unicast beacon to reply with a PEERS frame.
	BeaconWantPeers = 0x01
	// BeaconLeaving announces a graceful shutdown: remove the sender now, do not wait for expiry.
	BeaconLeaving = 0x02
)

// Limits of the BEACON frame.
const (
	MaxNetworkIDLen = 255
	MaxNameLen      = 255
)

// Beacon announces an endpoint (frame type 0x01). The sender's ID and session are in the header.
type Beacon struct {
	ProtoVersion   uint64         // protocol version the sender speaks (1)
	NetworkID      string         // at most MaxNetworkIDLen bytes
	Name           string         // endpoint name, per boot; at most MaxNameLen bytes
	DataAddr       netip.AddrPort // where to send unicast data to this endpoint
	InterestDigest uint64         // changes when the sender's interest set changes
	StateDigest    uint64         // changes when the sender's retained state changes
	Interval       time.Duration  // beacon interval; sent in whole milliseconds
	Flags          uint8          // BeaconWantPeers | BeaconLeaving; other bits reserved (sent 0, ignored)
}

// EncodedLen is the size AppendTo adds, type byte included.
func (f *Beacon) EncodedLen() int {
	return 1 + uvarintLen(f.ProtoVersion) + stringLen(len(f.NetworkID)) + stringLen(len(f.Name)) +
		addrLen(f.DataAddr) + 8 + 8 + uvarintLen(durationUnits(f.Interval, time.Millisecond)) + 1
}

// AppendTo appends the frame. It does not enforce limits; see Validate.
func (f *Beacon) AppendTo(b []byte) []byte {
	b = append(b, FrameBeacon)
	b = binary.AppendUvarint(b, f.ProtoVersion)
	b = appendString(b, f.NetworkID)
	b = appendString(b, f.Name)
	b = appendAddr(b, f.DataAddr)
	b = binary.BigEndian.AppendUint64(b, f.InterestDigest)
	b = binary.BigEndian.AppendUint64(b, f.StateDigest)
	b = binary.AppendUvarint(b, durationUnits(f.Interval, time.Millisecond))
	return append(b, f.Flags)
}

// Validate reports whether the frame would be accepted by a receiver.
func (f *Beacon) Validate() error {
	if len(f.NetworkID) > MaxNetworkIDLen || len(f.Name) > MaxNameLen {
		return errTooLong
	}
	return nil
}

// decode reads the fields after the type byte. Strings are only materialised when keep is set
// (a visitor wants the frame), and reuse the previous strings when equal, so a stream of
// beacons from known peers does not allocate.
func (f *Beacon) decode(r *reader, keep bool) error {
	var err error
	if f.ProtoVersion, err = r.uvarint(); err != nil {
		return err
	}
	netID, err := r.lenPrefixed(MaxNetworkIDLen)
	if err != nil {
		return err
	}
	name, err := r.lenPrefixed(MaxNameLen)
	if err != nil {
		return err
	}
	if f.DataAddr, err = r.addr(); err != nil {
		return err
	}
	if f.InterestDigest, err = r.u64(); err != nil {
		return err
	}
	if f.StateDigest, err = r.u64(); err != nil {
		return err
	}
	if f.Interval, err = r.millis(); err != nil {
		return err
	}
	if f.Flags, err = r.u8(); err != nil {
		return err
	}
	if keep {
		if f.NetworkID != string(netID) {
			f.NetworkID = string(netID)
		}
		if f.Name != string(name) {
			f.Name = string(name)
		}
	}
	return nil
}
