package netlab

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// MQTTAddress is where every host's glue-mqtt listens, inside the host's own namespace.
const MQTTAddress = "127.0.0.1:1883"

// MQTTOptions returns paho (MQTT 3.1.1) options for a client of the host's glue-mqtt: the TCP
// connection is made inside the host's namespace, every time paho (re)connects.
func (h *Host) MQTTOptions(clientID string) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions()
	o.AddBroker("tcp://" + MQTTAddress)
	o.SetClientID(clientID)
	o.SetProtocolVersion(4)
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	o.SetConnectTimeout(5 * time.Second)
	o.SetWriteTimeout(30 * time.Second)
	o.SetKeepAlive(30 * time.Second)
	o.SetOrderMatters(true)
	o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return h.DialContext(ctx, "tcp4", u.Host)
	})
	return o
}

// ConnectMQTT connects a paho client built from opts (see MQTTOptions) and disconnects it at
// the end of the test.
func (h *Host) ConnectMQTT(ctx context.Context, opts *mqtt.ClientOptions) (mqtt.Client, error) {
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if err := waitToken(ctx, tok); err != nil {
		return nil, fmt.Errorf("integration: %s: MQTT connect %s: %w", h.Name, opts.ClientID, err)
	}
	h.lab.t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

// Subscribe subscribes c and waits for the SUBACK.
func Subscribe(ctx context.Context, c mqtt.Client, filter string, qos byte, handler mqtt.MessageHandler) error {
	if err := waitToken(ctx, c.Subscribe(filter, qos, handler)); err != nil {
		return fmt.Errorf("integration: subscribe %q: %w", filter, err)
	}
	return nil
}

// WaitToken waits for a paho token within ctx.
func WaitToken(ctx context.Context, tok mqtt.Token) error { return waitToken(ctx, tok) }

func waitToken(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return fmt.Errorf("integration: MQTT token: %w", ctx.Err())
	}
}
