package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glue-mqtt/glue-mqtt/bridge"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "glue.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	cfg, err := loadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bridge.ListenAddress != "127.0.0.1:1883" || cfg.Mesh.NetworkID != "default" ||
		cfg.Mesh.DiscoveryTarget != mesh.DefaultDiscoveryTarget || cfg.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults: %+v", cfg)
	}
	if want := uint32(16<<20 - bridge.MeshHeadroom); cfg.Bridge.MaxPacketSize != want {
		t.Fatalf("max packet size %d, want %d", cfg.Bridge.MaxPacketSize, want)
	}
}

// defaults < YAML < GLUE_* environment < flags, field by field.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
mqtt:
  listen: 127.0.0.1:2001
  subscribe_sync_timeout: 750ms
mesh:
  network_id: from-file
  listen_interface: file0
  discovery_target: 239.1.1.1:1000
  discovery_rate: 2s
log:
  level: warn
`)
	e := env(map[string]string{
		EnvMQTTListen:           "127.0.0.1:2002",
		mesh.EnvNetworkID:       "from-env",
		mesh.EnvListenInterface: "env0",
		mesh.EnvDiscoveryRate:   "300",
	})
	// parseConfig: the interfaces named here do not exist (loadConfig would refuse them).
	cfg, err := parseConfig([]string{"-config", file, "-mqtt", "127.0.0.1:2003", "-network", "from-flag", "-log-level", "debug"}, e)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"mqtt listen (flag over env over file)", cfg.Bridge.ListenAddress, "127.0.0.1:2003"},
		{"network (flag)", cfg.Mesh.NetworkID, "from-flag"},
		{"interface (env over file)", cfg.Mesh.ListenInterface, "env0"},
		{"discovery rate (env over file)", cfg.Mesh.DiscoveryRate, 300 * time.Millisecond},
		{"discovery target (file over default)", cfg.Mesh.DiscoveryTarget, "239.1.1.1:1000"},
		{"sync timeout (file)", cfg.Bridge.SubscribeSyncTimeout, 750 * time.Millisecond},
		{"log level (flag over file)", cfg.LogLevel, slog.LevelDebug},
		{"multiplier (default)", cfg.Mesh.DiscoveryTimeoutMultiplier, 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestBadValues(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
		file string
		want string
	}{
		"unknown flag":           {args: []string{"-nope"}, want: "flag provided but not defined"},
		"stray argument":         {args: []string{"extra"}, want: "unexpected argument"},
		"bad log level flag":     {args: []string{"-log-level", "loud"}, want: "-log-level"},
		"unknown YAML key":       {file: "mqtt:\n  lisen: 127.0.0.1:1\n", want: "lisen"},
		"unknown YAML section":   {file: "broker: {}\n", want: "broker"},
		"YAML number not parsed": {file: "mesh:\n  mtu: big\n", want: "line 2: cannot unmarshal"},
		"YAML bad duration":      {file: "mesh:\n  discovery_rate: soon\n", want: "duration"},
		"YAML bad log level":     {file: "log:\n  level: loud\n", want: "log level"},
		"env rate not a number":  {env: map[string]string{mesh.EnvDiscoveryRate: "fast"}, want: mesh.EnvDiscoveryRate},
		"bad mqtt address":       {args: []string{"-mqtt", "localhost"}, want: "listen address"},
		"bad env mqtt address":   {env: map[string]string{EnvMQTTListen: "nowhere"}, want: "listen address"},
		"packet over mesh limit": {args: []string{"-max-packet-size", "99999999"}, want: "max packet size"},
		"missing file":           {args: []string{"-config", "/nonexistent/glue.yaml"}, want: "config"},
		"bad endpoint ID":        {file: "mesh:\n  endpoint_id: not-a-uuid\n", want: "UUID"},
		// Values that name things of this host, checked before anything starts.
		"no such interface flag":   {args: []string{"-interface", "nope0"}, want: `mesh listen interface "nope0"`},
		"no such interface env":    {env: map[string]string{mesh.EnvListenInterface: "nope0"}, want: "nope0"},
		"no such interface YAML":   {file: "mesh:\n  listen_interface: nope0\n", want: "nope0"},
		"mqtt address not local":   {args: []string{"-mqtt", "203.0.113.7:1883"}, want: "not an address of this host"},
		"mesh address not local":   {env: map[string]string{mesh.EnvListenAddress: "203.0.113.7:0"}, want: "mesh listen address"},
		"discovery listen foreign": {env: map[string]string{mesh.EnvDiscoveryListen: "203.0.113.7:27320"}, want: "discovery listen"},
		"metrics port too large":   {args: []string{"-metrics", "127.0.0.1:99999"}, want: "metrics listen address"},
		"metrics port a name":      {args: []string{"-metrics", "127.0.0.1:http"}, want: "want a number"},
		"metrics address foreign":  {args: []string{"-metrics", "203.0.113.7:9321"}, want: "not an address of this host"},
		"mesh address unparsable":  {env: map[string]string{mesh.EnvListenAddress: "here:1"}, want: "listen address"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append([]string{"-config", writeFile(t, c.file)}, args...)
			}
			_, err := loadConfig(args, env(c.env))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans several lines: %q", err)
			}
			// And `glue-mqtt run` turns it into one line on stderr and exit code 2.
			var stderr bytes.Buffer
			if code := dispatch(append([]string{"run"}, args...), env(c.env), &bytes.Buffer{}, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2", code)
			}
			if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n") + 1; lines != 1 || !strings.HasPrefix(stderr.String(), "glue-mqtt: ") {
				t.Fatalf("stderr %q: want one line starting with glue-mqtt:", stderr.String())
			}
		})
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	if _, err := loadConfig([]string{"-h"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	var stderr bytes.Buffer
	if code := dispatch([]string{"-h"}, env(nil), &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "-mqtt") {
		t.Fatalf("-h: code %d, output %q", code, stderr.String())
	}
}

// Every example in configs/ loads and says what its name promises.
func TestExampleConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("configs/*.yaml: %v %v", files, err)
	}
	loaded := map[string]runConfig{}
	for _, f := range files {
		cfg, err := loadConfig([]string{"-config", f}, env(nil))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		loaded[filepath.Base(f)] = cfg
	}
	a, b := loaded["multi-instance-a.yaml"], loaded["multi-instance-b.yaml"]
	if a.Bridge.ListenAddress == b.Bridge.ListenAddress || a.Mesh.NetworkID != b.Mesh.NetworkID ||
		a.Mesh.ListenInterface != "lo" || b.Mesh.ListenInterface != "lo" {
		t.Errorf("multi-instance configs: want different MQTT ports, one network, interface lo: %+v / %+v", a, b)
	}
	if r := loaded["rendezvous.yaml"]; strings.HasPrefix(r.Mesh.DiscoveryTarget, "239.") {
		t.Errorf("rendezvous.yaml uses multicast discovery: %s", r.Mesh.DiscoveryTarget)
	}
	// The LAN example leaves the interface to the default route, as its comment says, so that it
	// runs on any host as it is.
	if l, ok := loaded["lan-multicast.yaml"]; !ok || l.Mesh.ListenInterface != "" || !strings.HasPrefix(l.Mesh.DiscoveryTarget, "239.") {
		t.Errorf("lan-multicast.yaml: interface %q, discovery %q; want the default route's interface and multicast", l.Mesh.ListenInterface, l.Mesh.DiscoveryTarget)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), "listen_interface:") && !strings.Contains(string(body), "# listen_interface:") &&
			!strings.Contains(string(body), "listen_interface: lo") {
			t.Errorf("%s names a network interface other than lo; leave it commented out as an example", f)
		}
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"version"}, env(nil), &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "glue-mqtt ") {
		t.Fatalf("version: code %d, %q", code, out.String())
	}
	if code := dispatch([]string{"frobnicate"}, env(nil), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: code %d, %q", code, errOut.String())
	}
}
