package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex from the encoders (then review the diff!)")

// Fixed inputs shared by the golden vectors (and quoted in docs/PROTOCOL.md).
var (
	goldenNetwork = "demo"
	goldenKey     = []byte("0123456789abcdef0123456789abcdef") // 32 ASCII bytes
	goldenSender  = [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	goldenHeader  = Header{
		NetworkTag:    NetworkTag("demo"),
		Sender:        goldenSender,
		SenderSession: 0x0102030405060708,
		DestSession:   0x1112131415161718,
		PacketNumber:  42,
	}
	goldenBeacon = Beacon{
		ProtoVersion:   1,
		NetworkID:      "demo",
		Name:           "host-a",
		DataAddr:       netip.MustParseAddrPort("192.168.1.10:27321"),
		InterestDigest: 0xdeadbeefcafebabe,
		StateDigest:    0x0123456789abcdef,
		Interval:       time.Second,
		Flags:          BeaconWantPeers,
	}
	goldenPeers = Peers{Entries: []PeerEntry{
		{ID: [16]byte{15: 0x01}, Session: 0x1000, Addr: netip.MustParseAddrPort("10.0.0.2:4000")},
		{ID: [16]byte{0: 0xff, 15: 0x02}, Session: 0x2000, Addr: netip.MustParseAddrPort("[fd00::1]:4001")},
	}}
	goldenData     = Data{Reliable: true, Seq: 300, MsgID: 7, FragIndex: 1, FragCount: 3, Payload: []byte("hello")}
	goldenDataBE   = Data{MsgID: 8, FragIndex: 0, FragCount: 1, Payload: []byte("hi")}
	goldenAck      = Ack{Cumulative: 100, Delay: 250 * time.Microsecond, Ranges: []AckRange{{103, 105}, {110, 110}}}
	goldenPublish  = Publish{Topic: "sensors/kitchen/temp", Type: "json", Expiry: time.Minute, Meta: []byte{0x01, 0x02}, Payload: []byte(`{"c":21.5}`)}
	goldenInterest = Interest{Version: 3, Filters: []string{"sensors/#", "cmd/+/set"}}
)

// goldenPlainFrames is the body of the plaintext and sealed datagram vectors: a batch of a DATA
// frame and an ACK frame.
func goldenPlainFrames() []byte {
	b := goldenDataBE.AppendTo(nil)
	return goldenAck.AppendTo(b)
}

type goldenCase struct {
	file    string
	comment string
	encode  func(t *testing.T) []byte
	decode  func(t *testing.T, b []byte) // asserts decode(b) equals the struct
}

func goldenCases() []goldenCase {
	sealedHeader := goldenHeader
	sealedHeader.DestSession = 0
	sealedHeader.PacketNumber = 1
	return []goldenCase{
		{"header.hex", "datagram header: flags 0, tag of network \"demo\", sender 00112233-4455-6677-8899-aabbccddeeff, session 0x0102030405060708, dest 0x1112131415161718, pn 42",
			func(*testing.T) []byte { return AppendHeader(nil, goldenHeader) },
			func(t *testing.T, b []byte) {
				h, body, err := ParseHeader(b)
				if err != nil || h != goldenHeader || len(body) != 0 {
					t.Fatalf("ParseHeader = %+v, %d body bytes, %v", h, len(body), err)
				}
			}},
		{"beacon.hex", "BEACON frame: proto 1, network \"demo\", name \"host-a\", data 192.168.1.10:27321, interest digest 0xdeadbeefcafebabe, state digest 0x0123456789abcdef, interval 1000 ms, flags WANT_PEERS",
			func(*testing.T) []byte { return goldenBeacon.AppendTo(nil) },
			func(t *testing.T, b []byte) { checkFrames(t, b, []any{goldenBeacon}) }},
		{"peers.hex", "PEERS frame: 2 entries: 00..01 session 0x1000 at 10.0.0.2:4000; ff00..02 session 0x2000 at [fd00::1]:4001",
			func(*testing.T) []byte { return goldenPeers.AppendTo(nil) },
			func(t *testing.T, b []byte) { checkFrames(t, b, []any{goldenPeers}) }},
		{"data.hex", "DATA frame: RELIABLE, seq 300, msgID 7, fragment 1 of 3, payload \"hello\"",
			func(*testing.T) []byte { return goldenData.AppendTo(nil) },
			func(t *testing.T, b []byte) { checkFrames(t, b, []any{goldenData}) }},
		{"data_besteffort.hex", "DATA frame: best effort (no seq), msgID 8, fragment 0 of 1, payload \"hi\"",
			func(*testing.T) []byte { return goldenDataBE.AppendTo(nil) },
			func(t *testing.T, b []byte) { checkFrames(t, b, []any{goldenDataBE}) }},
		{"ack.hex", "ACK frame: cumulative 100, delay 250 us, ranges 103-105 and 110-110 (gaps 2 and 4)",
			func(*testing.T) []byte { return goldenAck.AppendTo(nil) },
			func(t *testing.T, b []byte) { checkFrames(t, b, []any{goldenAck}) }},
		{"datagram_plain.hex", "plaintext datagram (no network key): header as header.hex but dest 0 and pn 1, body = data_besteffort.hex frame + ack.hex frame",
			func(t *testing.T) []byte {
				c := mustCrypto(t, goldenNetwork, nil)
				return c.Seal(nil, sealedHeader, goldenPlainFrames())
			},
			func(t *testing.T, b []byte) {
				c := mustCrypto(t, goldenNetwork, nil)
				h, frames, err := c.Open(b)
				if err != nil || h != sealedHeader || !bytes.Equal(frames, goldenPlainFrames()) {
					t.Fatalf("Open = %+v, %x, %v", h, frames, err)
				}
				checkFrames(t, frames, []any{goldenDataBE, goldenAck})
			}},
		{"datagram_sealed.hex", "sealed datagram: network \"demo\", key = ASCII \"0123456789abcdef0123456789abcdef\", header as datagram_plain.hex with flags SEALED, body = AES-256-GCM(data_besteffort + ack frames) || tag",
			func(t *testing.T) []byte {
				c := mustCrypto(t, goldenNetwork, goldenKey)
				return c.Seal(nil, sealedHeader, goldenPlainFrames())
			},
			func(t *testing.T, b []byte) {
				c := mustCrypto(t, goldenNetwork, goldenKey)
				want := sealedHeader
				want.Flags = FlagSealed
				h, frames, err := c.Open(bytes.Clone(b))
				if err != nil || h != want || !bytes.Equal(frames, goldenPlainFrames()) {
					t.Fatalf("Open = %+v, %x, %v", h, frames, err)
				}
				// Independent check of the key schedule, written from the specification.
				salt := sha256.Sum256([]byte("glue-mqtt network\x00demo"))
				info := append([]byte("glue-mqtt v1 datagram"), goldenSender[:]...)
				info = binary.BigEndian.AppendUint64(info, sealedHeader.SenderSession)
				key, err := hkdf.Key(sha256.New, goldenKey, salt[:], string(info), 32)
				if err != nil {
					t.Fatal(err)
				}
				block, _ := aes.NewCipher(key)
				gcm, _ := cipher.NewGCM(block)
				nonce := make([]byte, 12)
				binary.BigEndian.PutUint64(nonce[4:], 1)
				plain, err := gcm.Open(nil, nonce, b[HeaderLen:], b[:HeaderLen])
				if err != nil || !bytes.Equal(plain, goldenPlainFrames()) {
					t.Fatalf("spec-derived decryption = %x, %v", plain, err)
				}
			}},
		{"publish.hex", "PUBLISH message: topic \"sensors/kitchen/temp\", type \"json\", expiry 60000 ms, meta 01 02, payload {\"c\":21.5}",
			func(*testing.T) []byte { return AppendPublish(nil, &goldenPublish) },
			func(t *testing.T, b []byte) {
				p, err := ParsePublish(b)
				if err != nil || !reflect.DeepEqual(p, goldenPublish) {
					t.Fatalf("ParsePublish = %+v, %v", p, err)
				}
			}},
		{"interest.hex", "INTEREST message: version 3, filters \"sensors/#\" and \"cmd/+/set\"",
			func(*testing.T) []byte { return AppendInterest(nil, &goldenInterest) },
			func(t *testing.T, b []byte) {
				in, err := ParseInterest(b)
				if err != nil || !reflect.DeepEqual(in, goldenInterest) {
					t.Fatalf("ParseInterest = %+v, %v", in, err)
				}
			}},
		{"interest_ack.hex", "INTEREST_ACK message: version 300 applied",
			func(*testing.T) []byte { return AppendInterestAck(nil, 300) },
			func(t *testing.T, b []byte) {
				v, err := ParseInterestAck(b)
				if err != nil || v != 300 {
					t.Fatalf("ParseInterestAck = %d, %v", v, err)
				}
			}},
	}
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.file, func(t *testing.T) {
			path := filepath.Join("testdata", gc.file)
			got := gc.encode(t)
			if *update {
				writeHex(t, path, gc.comment, got)
			}
			want := readHex(t, path)
			if !bytes.Equal(got, want) {
				t.Errorf("encode:\n got %x\nwant %x", got, want)
			}
			gc.decode(t, want)
		})
	}
}

// readHex reads a golden file: '#' lines are comments, the rest is hex with any whitespace.
func readHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	hasComment := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			hasComment = true
			continue
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	if !hasComment {
		t.Fatalf("%s: no '#' comment line", path)
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

func writeHex(t *testing.T, path, comment string, b []byte) {
	t.Helper()
	var out strings.Builder
	out.WriteString("# " + comment + "\n")
	for i := 0; i < len(b); i += 16 {
		end := min(i+16, len(b))
		for j := i; j < end; j++ {
			if j > i {
				out.WriteByte(' ')
			}
			out.WriteString(hex.EncodeToString(b[j : j+1]))
		}
		out.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
