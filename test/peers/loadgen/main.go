// loadgen: the load generator of the analytics accuracy test (test/e2e/analytics-accuracy.test.ts,
// issue 15 "Verified by"), written for the test in Go with the standard library only, so nothing is
// downloaded (scripts/loadgen/build.sh builds it into .cache/loadgen).
//
// It keeps its own record of every request — start, end, status, body bytes, connection, authority
// and path — and times each one where the bytes meet the kernel: the clock starts just before the
// write(2) that carries the request (the TLS record, for HTTPS) and stops at the return of the
// read(2) that brought the response's last bytes (before TLS decryption). net/http's own work —
// building the request, HPACK, TLS, its goroutine hand-offs — lies outside both readings, so what
// the record holds beyond the proxy's own span is the kernel's loopback and two wake-ups: the least
// any client can add. h2load (nghttp2) starts its clock when it submits a request to nghttp2 and
// writes it on a later turn of its event loop, and stops it after nghttp2 parsed the stream's end:
// on HTTP/2 over TLS its own framing and TLS were 0.5–0.7 ms of a 21 ms request (docs/analytics.md).
//
// Open loop: request i is due at start + i/rate whatever the answers, on the first idle connection
// of a fixed pool opened (and warmed) beforehand. A closed loop's rate depends on the latencies it
// measures, so its traffic is not known in advance; and its connections fall into step (every
// answer triggers the next request at once), so the generator's, the proxy's and the backends'
// wake-ups pile up in the same instants — on a 2-core machine that queueing is client-side time the
// proxy never sees, and it lands in the tail. A paced schedule keeps the offered load the same
// every run and spreads the wake-ups. Latency is still counted from the actual write, not from the
// due time (the proxy can only see a request once it is sent); how late each request left against
// its due time is recorded too ("lateUs", of which up to 1 ms is the Go timer's granularity:
// goload.ts): the generator's own measure of a loaded machine.
//
// Warm-up: before the schedule every connection sends one request to the warm-up authority (a
// virtual host of its own, so it is counted apart): the connection is then accepted and read by the
// proxy, pooled to a backend, and both sides' code is warm; the warm-up requests are recorded (phase
// "warm") so every request sent is accounted for.
//
// Usage: loadgen PLAN.json OUT.jsonl — the plan is a JSON object (Plan below); OUT gets one JSON
// object per request (Record), and stdout one summary line.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one request of the cycle: its authority (Host / :authority) and path.
type Target struct {
	Authority string `json:"authority"`
	Path      string `json:"path"`
}

// Plan says where to send what, how hard.
type Plan struct {
	// Address is host:port to connect to (the VIP); ServerName the TLS SNI (HTTPS only).
	Address    string `json:"address"`
	TLS        bool   `json:"tls"`
	ServerName string `json:"serverName"`
	// HTTP2 speaks HTTP/2 (over TLS, ALPN h2; one stream at a time per connection), else HTTP/1.1
	// keep-alive.
	HTTP2       bool `json:"http2"`
	Connections int  `json:"connections"`
	// Requests in all, Rate per second: request i goes to Targets[i % len(Targets)], with "n=i"
	// added to its query so each request can be found in the proxy's access log.
	Requests int      `json:"requests"`
	Rate     float64  `json:"rate"`
	Targets  []Target `json:"targets"`
	// Warm is the warm-up request every connection sends first (empty Authority: none).
	Warm Target `json:"warm"`
	// KeepHeader records this response header's value per request.
	KeepHeader string `json:"keepHeader"`
	TimeoutMs  int    `json:"timeoutMs"`
}

// Record is one request as the generator saw it.
type Record struct {
	I         int    `json:"i"`
	Phase     string `json:"phase"`
	Authority string `json:"authority"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Conn      int    `json:"conn"`
	// StartUs is the write's wall clock (µs since the epoch), EndUs the read's; Ns the latency by
	// the monotonic clock.
	StartUs int64  `json:"startUs"`
	EndUs   int64  `json:"endUs"`
	Ns      int64  `json:"ns"`
	LateUs  int64  `json:"lateUs"`
	Header  string `json:"header,omitempty"`
	Error   string `json:"error,omitempty"`
}

// base is the origin of every clock reading: times are kept as monotonic nanoseconds since it, and
// their wall clock (for the join with the proxy's log) is base's plus that.
var base = time.Now()

func now() int64 { return int64(time.Since(base)) }

// wire is a TCP connection that notes the time of its writes and reads: armed, the next write's
// start is kept as the request's start; every read that brings bytes sets the last read's time.
// Requests on a connection go one at a time and the proxy sends nothing unasked, so the armed write
// is the request's and the last read before the body's end brought its last bytes. (HTTP/2's own
// frames could in principle come between — a SETTINGS or PING acknowledgement, a WINDOW_UPDATE —
// but the connection settles during its warm-up, and 5-byte bodies never reach a window update.)
type wire struct {
	net.Conn
	armed atomic.Bool
	wrote atomic.Int64
	read  atomic.Int64
}

func (w *wire) Write(b []byte) (int, error) {
	if w.armed.Load() {
		w.wrote.Store(now())
		w.armed.Store(false)
	}
	return w.Conn.Write(b)
}

func (w *wire) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if n > 0 {
		w.read.Store(now())
	}
	return n, err
}

// conn is one client connection of the pool: its own Transport, so requests on it are one at a time
// on one TCP connection (HTTP/2: one stream at a time).
type conn struct {
	id     int
	client *http.Client
	wire   *wire
}

func newConn(id int, p *Plan) *conn {
	c := &conn{id: id}
	dialer := &net.Dialer{}
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dialer.DialContext(ctx, "tcp", p.Address)
			if err != nil {
				return nil, err
			}
			nc.(*net.TCPConn).SetNoDelay(true)
			c.wire = &wire{Conn: nc}
			return c.wire, nil
		},
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
		// Certificates are not verified: loopback tests with their own self-signed ones.
		TLSClientConfig: &tls.Config{ServerName: p.ServerName, InsecureSkipVerify: true},
	}
	protos := new(http.Protocols)
	if p.HTTP2 {
		// HTTP/2 only: a connection that negotiated anything else fails instead of falling back.
		protos.SetHTTP2(true)
	} else {
		protos.SetHTTP1(true)
	}
	t.Protocols = protos
	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	c.client = &http.Client{Transport: t, Timeout: timeout}
	return c
}

// do sends one request on c and records it.
func (c *conn) do(p *Plan, rec *Record) {
	scheme := "http"
	if p.TLS {
		scheme = "https"
	}
	// The URL's host keys the Transport's one connection; Host is the request's authority.
	req, err := http.NewRequest("GET", scheme+"://"+p.Address+rec.Path, nil)
	if err != nil {
		rec.Error = err.Error()
		return
	}
	req.Host = rec.Authority
	req.Header.Set("User-Agent", "portico-loadgen-go")
	// A connection already up times the request at its wire; the first request of a connection
	// dials inside Do (the warm-up's), and is timed around Do.
	w := c.wire
	if w != nil {
		w.armed.Store(true)
	}
	start := now()
	resp, err := c.client.Do(req)
	var n int64
	if err == nil {
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		rec.Status = resp.StatusCode
		if p.HTTP2 && resp.ProtoMajor != 2 {
			err = fmt.Errorf("negotiated %s, not HTTP/2", resp.Proto)
		}
		if p.KeepHeader != "" {
			rec.Header = resp.Header.Get(p.KeepHeader)
		}
	}
	end := now()
	if w != nil && !w.armed.Swap(false) && err == nil {
		start = w.wrote.Load()
		if r := w.read.Load(); r > start {
			end = r
		}
	}
	rec.Bytes = n
	rec.Conn = c.id
	rec.StartUs = base.UnixMicro() + start/1000
	rec.EndUs = base.UnixMicro() + end/1000
	rec.Ns = end - start
	if err != nil {
		rec.Error = err.Error()
	}
}

// withN adds "n=i" to path's query.
func withN(path string, i int) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "n=" + strconv.Itoa(i)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: loadgen PLAN.json OUT.jsonl")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	var p Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		fail(fmt.Errorf("%s: %w", os.Args[1], err))
	}
	if p.Connections < 1 || p.Requests < 1 || p.Rate <= 0 || len(p.Targets) == 0 {
		fail(fmt.Errorf("%s: connections, requests, rate and targets are required", os.Args[1]))
	}
	out, err := os.Create(os.Args[2])
	if err != nil {
		fail(err)
	}
	enc := json.NewEncoder(out)

	conns := make([]*conn, p.Connections)
	for k := range conns {
		conns[k] = newConn(k, &p)
	}
	var records []Record
	// Warm-up: every connection dials and sends its warm-up request, all at once.
	if p.Warm.Authority != "" {
		warm := make([]Record, len(conns))
		var wg sync.WaitGroup
		for k, c := range conns {
			warm[k] = Record{I: k, Phase: "warm", Authority: p.Warm.Authority, Path: withN(p.Warm.Path, k)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.do(&p, &warm[k])
			}()
		}
		wg.Wait()
		records = append(records, warm...)
	}

	// The schedule: request i is due at t0 + i/rate and goes on the first idle connection.
	idle := make(chan *conn, len(conns))
	for _, c := range conns {
		idle <- c
	}
	load := make([]Record, p.Requests)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range load {
		due := t0.Add(time.Duration(float64(i) / p.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		c := <-idle
		tg := p.Targets[i%len(p.Targets)]
		load[i] = Record{I: i, Phase: "load", Authority: tg.Authority, Path: withN(tg.Path, i)}
		load[i].LateUs = time.Since(due).Microseconds()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.do(&p, &load[i])
			idle <- c
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	records = append(records, load...)
	for i := range records {
		if err := enc.Encode(&records[i]); err != nil {
			fail(err)
		}
	}
	if err := out.Close(); err != nil {
		fail(err)
	}
	late := make([]int64, len(load))
	errors := 0
	for i, r := range load {
		late[i] = r.LateUs
		if r.Error != "" {
			errors++
		}
	}
	sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
	q := func(f float64) int64 { return late[int(f*float64(len(late)-1))] }
	fmt.Printf("{\"requests\":%d,\"errors\":%d,\"elapsedMs\":%d,\"lateUs\":{\"p50\":%d,\"p90\":%d,\"p99\":%d,\"max\":%d},\"gomaxprocs\":%d}\n",
		len(records), errors, elapsed.Milliseconds(), q(0.5), q(0.9), q(0.99), late[len(late)-1], runtime.GOMAXPROCS(0))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
