package mesh_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the layering of DESIGN.md: every arrow points downward.
func TestImportRules(t *testing.T) {
	const mod = "github.com/glue-mqtt/glue-mqtt/"
	out, err := exec.Command("go", "list", "-json", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// allowed[pkg] lists the module packages pkg may import; "std" alone means the standard
	// library (and golang.org/x) only.
	allowed := map[string][]string{
		"mesh/topicfilter": {},
		"mesh/wire":        {},
		"mesh/frag":        {},
		"mesh/reliable":    {},
		"mesh/discovery":   {},
		"mesh/memnet":      {},
		"mesh/netx":        {},
		"mesh/faultnet":    {},
		"mapping":          {"mesh/topicfilter"},
		"mesh":             {"mesh/topicfilter", "mesh/wire", "mesh/frag", "mesh/reliable", "mesh/discovery", "mesh/netx", "mesh/faultnet"},
		"bridge":           {"mesh", "mapping", "mesh/topicfilter"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Doc        string
			Name       string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod)
		if p.Doc == "" && p.Name != "main" {
			t.Errorf("%s has no package doc comment", p.ImportPath)
		}
		for _, imp := range p.Imports {
			if strings.Contains(imp, "mochi-mqtt") && rel != "bridge" {
				t.Errorf("%s imports mochi: only bridge may", rel)
			}
		}
		rules, ok := allowed[rel]
		if !ok {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, mod) {
				dep := strings.TrimPrefix(imp, mod)
				okDep := false
				for _, a := range rules {
					okDep = okDep || a == dep
				}
				if !okDep {
					t.Errorf("%s imports %s: against the layering rules", rel, dep)
				}
				continue
			}
			if strings.Contains(strings.Split(imp, "/")[0], ".") && !thirdPartyAllowed(rel, imp) {
				t.Errorf("%s imports third-party %s", rel, imp)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("only %d packages checked: is go list seeing the module?", seen)
	}
}

// thirdPartyAllowed: the pure packages (wire, frag, reliable, discovery, topicfilter, mapping)
// use the standard library only; the network layer and the endpoint may use golang.org/x and uuid.
func thirdPartyAllowed(pkg, imp string) bool {
	switch pkg {
	case "mesh", "mesh/netx":
		return strings.HasPrefix(imp, "golang.org/x/") || imp == "github.com/google/uuid"
	case "bridge":
		return true
	}
	return false
}
