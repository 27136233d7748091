// grpc-echo: the gRPC backend of `npm run bench:grpc`. It serves bench.Echo/Echo (echo.proto)
// over HTTP/2 cleartext with prior knowledge, as gRPC servers behind a proxy are spoken to, with
// the Go standard library only: a unary call is one length-prefixed message in, the same message
// out, and grpc-status in the trailers. Echoing the bytes is a valid reply because request and
// response are the same message type, so no protobuf library is needed.
//
// GET /stats answers the number of calls answered OK so far (plain text): bench:grpc's h2load
// client sees HTTP statuses only, so it compares its 2xx count with this one to find calls a proxy
// answered itself (a trailers-only gRPC error is HTTP 200 too).
//
//	grpc-echo -listen 127.0.0.4:50051
package main

import (
	"encoding/binary"
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

const method = "/bench.Echo/Echo"

// maxMessage bounds what a call may send (gRPC's default receive limit is 4 MiB).
const maxMessage = 4 << 20

// answered counts the calls answered with status OK.
var answered atomic.Int64

func main() {
	listen := flag.String("listen", "127.0.0.4:50051", "address to listen on (HTTP/2 cleartext)")
	flag.Parse()
	srv := &http.Server{Addr: *listen, Handler: http.HandlerFunc(serve)}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	log.Printf("grpc-echo: serving %s on %s (h2c)", method, *listen)
	log.Fatal(srv.ListenAndServe())
}

// serve answers one call; every failure is a gRPC status, never an HTTP error, as gRPC has it.
func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/stats" {
		_, _ = io.WriteString(w, strconv.FormatInt(answered.Load(), 10)+"\n")
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		http.Error(w, "grpc-echo speaks gRPC only (POST, content-type application/grpc)", http.StatusUnsupportedMediaType)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	h.Set("Trailer", "Grpc-Status, Grpc-Message")
	if r.URL.Path != method {
		finish(w, 12, "unknown method "+r.URL.Path+" (only "+method+")") // UNIMPLEMENTED
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+6))
	if err != nil {
		finish(w, 13, "reading the request: "+err.Error()) // INTERNAL
		return
	}
	if len(body) < 5 || body[0] != 0 || int(binary.BigEndian.Uint32(body[1:5])) != len(body)-5 {
		finish(w, 13, "expected one uncompressed length-prefixed message, got "+strconv.Itoa(len(body))+" bytes")
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	finish(w, 0, "")
	answered.Add(1)
}

// finish sets the trailers; net/http sends them after the body because Trailer announced them.
func finish(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Grpc-Status", strconv.Itoa(code))
	if msg != "" {
		h.Set("Grpc-Message", msg)
	}
}
