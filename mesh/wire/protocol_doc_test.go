package wire

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProtocolDocVectors: the hex vectors printed in docs/PROTOCOL.md are exactly the golden
// files in testdata/, and every golden file is printed there (a block after "**name.hex**:", or
// inline as "Vector (testdata/name.hex): ... `hex`").
func TestProtocolDocVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	inDoc := map[string][]byte{}
	block := regexp.MustCompile("(?m)^\\*\\*([a-z_]+\\.hex)\\*\\*:[^\\n]*\\n\\n```\\n([^`]*)```")
	for _, m := range block.FindAllStringSubmatch(doc, -1) {
		inDoc[m[1]] = docHex(t, m[1], m[2])
	}
	inline := regexp.MustCompile("Vector \\(testdata/([a-z_]+\\.hex)\\):[^`]*`([0-9a-f ]+)`")
	for _, m := range inline.FindAllStringSubmatch(doc, -1) {
		inDoc[m[1]] = docHex(t, m[1], m[2])
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		got, ok := inDoc[name]
		if !ok {
			t.Errorf("%s is not printed in docs/PROTOCOL.md", name)
			continue
		}
		if want := readHex(t, f); !bytes.Equal(got, want) {
			t.Errorf("%s: docs/PROTOCOL.md prints\n%x\nthe golden file holds\n%x", name, got, want)
		}
		delete(inDoc, name)
	}
	for name := range inDoc {
		t.Errorf("docs/PROTOCOL.md prints %s, which is not a golden file", name)
	}
}

func docHex(t *testing.T, name, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("docs/PROTOCOL.md, %s: %v", name, err)
	}
	return b
}
