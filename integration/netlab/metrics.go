package netlab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MetricsAddress is where every host's glue-mqtt serves Prometheus /metrics (BaseEnv), inside the
// host's namespace, so every host can use the same address.
const MetricsAddress = "127.0.0.1:9321"

// Metrics is one scrape: value by series, written as Prometheus writes it
// (`go_goroutines`, `glue_mesh_test_impairment_total{action="delayed"}`).
type Metrics map[string]float64

// Value returns the value of series, and whether the scrape had it.
func (m Metrics) Value(series string) (float64, bool) {
	v, ok := m[series]
	return v, ok
}

// ScrapeMetrics reads the host's glue-mqtt /metrics (at MetricsAddress, from inside the host).
func (h *Host) ScrapeMetrics(ctx context.Context) (Metrics, error) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DialContext: h.DialContext, DisableKeepAlives: true},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+MetricsAddress+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("integration: %s: metrics: %w", h.Name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("integration: %s: metrics: %w", h.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("integration: %s: metrics: HTTP %s", h.Name, resp.Status)
	}
	m, err := parseMetrics(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("integration: %s: metrics: %w", h.Name, err)
	}
	return m, nil
}

// parseMetrics reads the Prometheus text format: comments skipped, "series value" per line.
func parseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("line %q: no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
