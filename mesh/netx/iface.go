package netx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// procNetRoute is the kernel's IPv4 routing table; a variable so tests can point it at a fixture.
var procNetRoute = "/proc/net/route"

// ResolveInterface returns the named interface, or the interface of the IPv4 default route when
// name is empty. "lo" is a valid choice: it keeps all mesh traffic, multicast included, on the host.
func ResolveInterface(name string) (*net.Interface, error) {
	if name == "" {
		var err error
		if name, err = defaultRouteInterface(procNetRoute); err != nil {
			return nil, err
		}
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("netx: interface %q: %w", name, err)
	}
	return ifi, nil
}

// InterfaceAddr returns the first IPv4 address of ifi: the address the endpoint binds its data
// socket to and advertises in its beacons.
func InterfaceAddr(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("netx: addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipnet.IP); ok && ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("netx: interface %s has no IPv4 address", ifi.Name)
}

// defaultRouteInterface reads a /proc/net/route style table and returns the interface of the
// usable default route (destination and mask 0.0.0.0, flag RTF_UP) with the lowest metric.
func defaultRouteInterface(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("netx: reading routes: %w", err)
	}
	defer f.Close()
	name, err := parseDefaultRoute(f)
	if err != nil {
		return "", fmt.Errorf("netx: %s: %w", path, err)
	}
	return name, nil
}

// errNoDefaultRoute tells the operator to pick an interface explicitly.
var errNoDefaultRoute = errors.New("no IPv4 default route; set the listen interface explicitly (e.g. lo)")

const rtfUp = 0x1 // RTF_UP from <linux/route.h>

func parseDefaultRoute(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	best, bestMetric := "", uint64(0)
	for line := 0; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		// Header line, or a row too short to hold Iface..Mask (8 columns).
		if line == 0 || len(f) < 8 {
			continue
		}
		iface, dest, flagsHex, metricStr, mask := f[0], f[1], f[3], f[6], f[7]
		flags, err := strconv.ParseUint(flagsHex, 16, 32)
		if err != nil || flags&rtfUp == 0 {
			continue
		}
		if dest != "00000000" || mask != "00000000" {
			continue
		}
		metric, err := strconv.ParseUint(metricStr, 10, 64)
		if err != nil {
			continue
		}
		if best == "" || metric < bestMetric {
			best, bestMetric = iface, metric
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if best == "" {
		return "", errNoDefaultRoute
	}
	return best, nil
}
