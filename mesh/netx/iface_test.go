package netx

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestResolveInterfaceLoopback(t *testing.T) {
	ifi, err := ResolveInterface("lo")
	if err != nil {
		t.Fatal(err)
	}
	if ifi.Name != "lo" {
		t.Fatalf("name = %q, want lo", ifi.Name)
	}
	addr, err := InterfaceAddr(ifi)
	if err != nil {
		t.Fatal(err)
	}
	if addr != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("InterfaceAddr(lo) = %v, want 127.0.0.1", addr)
	}
}

func TestResolveInterfaceUnknownNameFails(t *testing.T) {
	_, err := ResolveInterface("nope")
	if err == nil {
		t.Fatal("ResolveInterface(nope) succeeded")
	}
	if !strings.HasPrefix(err.Error(), "netx: ") || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("error %q should start with netx: and name the interface", err)
	}
}

func TestDefaultRoutePicksLowestMetricUpDefault(t *testing.T) {
	// The fixture has an up default via wlan0 (metric 600), one via eth0 (metric 100), a
	// non-default eth0 route and a default on tun0 that is down.
	name, err := defaultRouteInterface("testdata/route-two-defaults")
	if err != nil {
		t.Fatal(err)
	}
	if name != "eth0" {
		t.Fatalf("default route interface = %q, want eth0", name)
	}
}

func TestDefaultRouteMissingIsAClearError(t *testing.T) {
	_, err := defaultRouteInterface("testdata/route-no-default")
	if !errors.Is(err, errNoDefaultRoute) {
		t.Fatalf("err = %v, want errNoDefaultRoute", err)
	}
	if !strings.HasPrefix(err.Error(), "netx: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
	if _, err := defaultRouteInterface("testdata/does-not-exist"); err == nil {
		t.Fatal("missing route table should fail")
	}
}

func TestResolveEmptyNameUsesDefaultRoute(t *testing.T) {
	old := procNetRoute
	procNetRoute = "testdata/route-default-lo"
	t.Cleanup(func() { procNetRoute = old })

	ifi, err := ResolveInterface("")
	if err != nil {
		t.Fatal(err)
	}
	if ifi.Name != "lo" {
		t.Fatalf("ResolveInterface(\"\") = %q, want lo from the fixture", ifi.Name)
	}
}
