package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/glue-mqtt/glue-mqtt/bridge"
	"github.com/glue-mqtt/glue-mqtt/mesh"
)

// The configuration of `glue-mqtt run`, in increasing precedence: defaults, the YAML file
// (-config), the GLUE_* environment variables of the original glue, flags.

// EnvMQTTListen is the MQTT listener's address in the environment.
const EnvMQTTListen = "GLUE_MQTT_LISTEN_ADDRESS"

// runConfig is everything `glue-mqtt run` needs.
type runConfig struct {
	Mesh          mesh.Config
	Bridge        bridge.Config
	LogLevel      slog.Level
	MetricsListen string // Prometheus /metrics address; "" = off
}

// fileConfig is the YAML file. Unknown keys are errors, so a typo never silently falls back to a
// default. Pointers tell "absent" from a zero value.
type fileConfig struct {
	MQTT struct {
		Listen               string    `yaml:"listen"`
		MaxPacketSize        *uint32   `yaml:"max_packet_size"`
		SubscribeSyncTimeout *duration `yaml:"subscribe_sync_timeout"`
		PublishTimeout       *duration `yaml:"publish_timeout"`
	} `yaml:"mqtt"`
	Mesh struct {
		NetworkID                  string    `yaml:"network_id"`
		EndpointID                 string    `yaml:"endpoint_id"`
		EndpointName               string    `yaml:"endpoint_name"`
		ListenAddress              string    `yaml:"listen_address"`
		ListenInterface            string    `yaml:"listen_interface"`
		DiscoveryTarget            string    `yaml:"discovery_target"`
		DiscoveryListen            string    `yaml:"discovery_listen"`
		DiscoveryRate              *duration `yaml:"discovery_rate"`
		DiscoveryTimeoutMultiplier *int      `yaml:"discovery_timeout_multiplier"`
		NetworkKey                 string    `yaml:"network_key"`
		MTU                        *int      `yaml:"mtu"`
		MaxMessageSize             *int      `yaml:"max_message_size"`
	} `yaml:"mesh"`
	Log struct {
		Level string `yaml:"level"`
	} `yaml:"log"`
	Metrics struct {
		Listen string `yaml:"listen"`
	} `yaml:"metrics"`
}

// duration is a time.Duration written as in Go ("1s", "250ms").
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration like 1s or 250ms", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

// runFlags are the flags of `glue-mqtt run`.
type runFlags struct {
	fs                                                      *flag.FlagSet
	config, mqttListen, logLevel, network, iface, discovery string
	metrics                                                 string
	maxPacketSize                                           uint
}

func newRunFlags() *runFlags {
	f := &runFlags{fs: flag.NewFlagSet("run", flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	f.fs.StringVar(&f.config, "config", "", "YAML configuration file")
	f.fs.StringVar(&f.mqttListen, "mqtt", "", "MQTT listen address (default "+bridge.DefaultListenAddress+"; env "+EnvMQTTListen+")")
	f.fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn, error (default info)")
	f.fs.StringVar(&f.network, "network", "", "mesh network ID (env "+mesh.EnvNetworkID+")")
	f.fs.StringVar(&f.iface, "interface", "", "mesh listen interface, e.g. lo (env "+mesh.EnvListenInterface+")")
	f.fs.StringVar(&f.discovery, "discovery", "", "discovery target: multicast group or rendezvous addresses (env "+mesh.EnvDiscoveryTarget+")")
	f.fs.UintVar(&f.maxPacketSize, "max-packet-size", 0, "largest MQTT packet accepted, in bytes")
	f.fs.StringVar(&f.metrics, "metrics", "", "Prometheus /metrics listen address, e.g. 127.0.0.1:9321 (default off; env "+EnvMetricsListen+")")
	return f
}

// usage writes the flags of `glue-mqtt run`.
func (f *runFlags) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: glue-mqtt [run] [flags]")
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
	f.fs.SetOutput(io.Discard)
}

// loadConfig builds the configuration from args and the environment and checks it against this
// host (checkHost), so that every bad value is reported before anything starts.
func loadConfig(args []string, getenv func(string) string) (runConfig, error) {
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		return runConfig{}, err
	}
	if err := checkHost(cfg); err != nil {
		return runConfig{}, err
	}
	return cfg, nil
}

// parseConfig builds the configuration from args and the environment and validates every value
// on its own (syntax, ranges), without looking at the host.
func parseConfig(args []string, getenv func(string) string) (runConfig, error) {
	f := newRunFlags()
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return runConfig{}, err
		}
		return runConfig{}, fmt.Errorf("%v (see glue-mqtt run -h)", err)
	}
	if f.fs.NArg() > 0 {
		return runConfig{}, fmt.Errorf("unexpected argument %q (see glue-mqtt run -h)", f.fs.Arg(0))
	}
	cfg := runConfig{Mesh: mesh.DefaultConfig(), Bridge: bridge.Config{ListenAddress: bridge.DefaultListenAddress}, LogLevel: slog.LevelInfo}

	if f.config != "" {
		if err := applyFile(&cfg, f.config); err != nil {
			return runConfig{}, err
		}
	}

	m, err := mesh.ConfigFromEnv(cfg.Mesh, getenv)
	if err != nil {
		return runConfig{}, err
	}
	cfg.Mesh = m
	if v := strings.TrimSpace(getenv(EnvMQTTListen)); v != "" {
		cfg.Bridge.ListenAddress = v
	}
	if v := strings.TrimSpace(getenv(EnvMetricsListen)); v != "" {
		cfg.MetricsListen = v
	}

	if err := applyFlags(&cfg, f); err != nil {
		return runConfig{}, err
	}
	if cfg.Bridge.MaxPacketSize == 0 {
		cfg.Bridge.MaxPacketSize = uint32(max(cfg.Mesh.MaxMessageSize-bridge.MeshHeadroom, 1024))
	} else if int64(cfg.Bridge.MaxPacketSize) > int64(cfg.Mesh.MaxMessageSize-bridge.MeshHeadroom) {
		return runConfig{}, fmt.Errorf("mqtt max packet size %d does not fit the mesh's max message size %d minus %d bytes of headroom",
			cfg.Bridge.MaxPacketSize, cfg.Mesh.MaxMessageSize, bridge.MeshHeadroom)
	}
	if err := cfg.Mesh.Validate(); err != nil {
		return runConfig{}, err
	}
	if cfg.MetricsListen != "" {
		_, port, err := net.SplitHostPort(cfg.MetricsListen)
		if _, perr := strconv.ParseUint(port, 10, 16); err == nil && perr != nil {
			err = fmt.Errorf("port %q: want a number from 0 to 65535", port)
		}
		if err != nil {
			return runConfig{}, fmt.Errorf("metrics listen address %q: %w", cfg.MetricsListen, err)
		}
	}
	if err := cfg.Bridge.Validate(); err != nil {
		return runConfig{}, err
	}
	return cfg, nil
}

// checkHost checks the values that name things of this host, which would otherwise fail only
// once the mesh or a listener starts (exit status 1, after other parts started): the mesh's
// listen interface must exist and have an IPv4 address (what the mesh binds and advertises when it
// starts; lo has 127.0.0.1), and every listen address with an IP must
// use an address of this host (or the unspecified address; a discovery listen address may also
// be a multicast group).
func checkHost(cfg runConfig) error {
	if name := cfg.Mesh.ListenInterface; name != "" {
		if err := checkInterface(name); err != nil {
			return err
		}
	}
	local, err := localAddrs()
	if err != nil {
		return fmt.Errorf("config: listing this host's addresses: %w", err)
	}
	for _, a := range []struct {
		what, addr  string
		multicastOK bool
	}{
		{"mqtt listen address", cfg.Bridge.ListenAddress, false},
		{"mesh listen address", cfg.Mesh.ListenAddress, false},
		{"mesh discovery listen address", cfg.Mesh.DiscoveryListen, true},
		{"metrics listen address", cfg.MetricsListen, false},
	} {
		if a.addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			continue // the syntax was checked before
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			continue // a host name (metrics only): resolved when the listener starts
		}
		ip = ip.Unmap()
		if ip.IsUnspecified() || local[ip] || (a.multicastOK && ip.IsMulticast()) {
			continue
		}
		return fmt.Errorf("%s %q: %s is not an address of this host", a.what, a.addr, ip)
	}
	return nil
}

// checkInterface reports an interface the mesh could not use, naming the ones there are.
func checkInterface(name string) error {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		var names []string
		if all, e := net.Interfaces(); e == nil {
			for _, i := range all {
				names = append(names, i.Name)
			}
		}
		return fmt.Errorf("mesh listen interface %q: %w (interfaces here: %s)", name, err, strings.Join(names, ", "))
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return fmt.Errorf("mesh listen interface %q: %w", name, err)
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil {
			return nil
		}
	}
	return fmt.Errorf("mesh listen interface %q has no IPv4 address", name)
}

// localAddrs returns the IP addresses of this host's interfaces.
func localAddrs() (map[netip.Addr]bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipnet.IP); ok {
				out[ip.Unmap()] = true
			}
		}
	}
	return out, nil
}

// applyFile overlays the YAML file at path.
func applyFile(cfg *runConfig, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %s", path, strings.Join(strings.Fields(err.Error()), " "))
	}
	setString(&cfg.Bridge.ListenAddress, fc.MQTT.Listen)
	setString(&cfg.MetricsListen, fc.Metrics.Listen)
	if fc.MQTT.MaxPacketSize != nil {
		cfg.Bridge.MaxPacketSize = *fc.MQTT.MaxPacketSize
	}
	if fc.MQTT.SubscribeSyncTimeout != nil {
		cfg.Bridge.SubscribeSyncTimeout = time.Duration(*fc.MQTT.SubscribeSyncTimeout)
	}
	if fc.MQTT.PublishTimeout != nil {
		cfg.Bridge.PublishTimeout = time.Duration(*fc.MQTT.PublishTimeout)
	}
	fm := fc.Mesh
	setString(&cfg.Mesh.NetworkID, fm.NetworkID)
	setString(&cfg.Mesh.EndpointID, fm.EndpointID)
	setString(&cfg.Mesh.EndpointName, fm.EndpointName)
	setString(&cfg.Mesh.ListenAddress, fm.ListenAddress)
	setString(&cfg.Mesh.ListenInterface, fm.ListenInterface)
	setString(&cfg.Mesh.DiscoveryTarget, fm.DiscoveryTarget)
	setString(&cfg.Mesh.DiscoveryListen, fm.DiscoveryListen)
	setString(&cfg.Mesh.NetworkKey, fm.NetworkKey)
	if fm.DiscoveryRate != nil {
		cfg.Mesh.DiscoveryRate = time.Duration(*fm.DiscoveryRate)
	}
	if fm.DiscoveryTimeoutMultiplier != nil {
		cfg.Mesh.DiscoveryTimeoutMultiplier = *fm.DiscoveryTimeoutMultiplier
	}
	if fm.MTU != nil {
		cfg.Mesh.MTU = *fm.MTU
	}
	if fm.MaxMessageSize != nil {
		cfg.Mesh.MaxMessageSize = *fm.MaxMessageSize
	}
	if fc.Log.Level != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(fc.Log.Level)); err != nil {
			return fmt.Errorf("config %s: log level %q: want debug, info, warn or error", path, fc.Log.Level)
		}
	}
	return nil
}

// applyFlags overlays the flags that were given on the command line.
func applyFlags(cfg *runConfig, f *runFlags) error {
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "mqtt":
			cfg.Bridge.ListenAddress = f.mqttListen
		case "network":
			cfg.Mesh.NetworkID = f.network
		case "interface":
			cfg.Mesh.ListenInterface = f.iface
		case "discovery":
			cfg.Mesh.DiscoveryTarget = f.discovery
		case "metrics":
			cfg.MetricsListen = f.metrics
		case "max-packet-size":
			if f.maxPacketSize > 1<<32-1 {
				err = fmt.Errorf("-max-packet-size %d: too large", f.maxPacketSize)
			}
			cfg.Bridge.MaxPacketSize = uint32(f.maxPacketSize)
		case "log-level":
			if e := cfg.LogLevel.UnmarshalText([]byte(f.logLevel)); e != nil {
				err = fmt.Errorf("-log-level %q: want debug, info, warn or error", f.logLevel)
			}
		}
	})
	return err
}

func setString(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
