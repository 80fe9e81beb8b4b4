//go:build tools

// Package main pins the module dependencies while the packages that use them are written.
// Remove once every dependency is imported by real code.
package main

import (
	_ "github.com/eclipse/paho.golang/paho"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/google/uuid"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/mochi-mqtt/server/v2/hooks/auth"
	_ "github.com/mochi-mqtt/server/v2/listeners"
	_ "github.com/mochi-mqtt/server/v2/packets"
	_ "go.uber.org/goleak"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/net/ipv4"
	_ "golang.org/x/sys/unix"
	_ "github.com/prometheus/client_golang/prometheus"
)

func main() {}
