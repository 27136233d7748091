// main.go: Coraza (OWASP Coraza v3, Go) behind net/http with the same policy, backend and log
// format as the Portico the corpus runner drives (test/waf/ftw/portico.ts), so
// `npm run waf:corpus -- --target coraza` measures Coraza on the same corpus with the same runner.
// Built by test/waf/ftw/coraza/build.sh from the Go module proxy.
//
//	ftw-coraza -address 127.0.77.2 -port 18779 -crs .cache/crs/current
//
// stdout: one JSON line per request {path, status, waf: {action, ruleIds, hits}}; stderr
// {"msg":"ready"} once listening.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/corazawaf/coraza/v3"
	txhttp "github.com/corazawaf/coraza/v3/http"
	"github.com/corazawaf/coraza/v3/types"
)

// corpusSetup is the CRS test README's rule 900005 (CORPUS_WAF in portico.ts), plus the marker
// allowlist (Portico's policy allowlist), before crs-setup and the rules. The SecDefaultAction
// lines are Coraza's own CRS test's (testing/coreruleset): Coraza has no default action for
// phases 3-5, so without them the RESPONSE rules would match without logging.
const corpusSetup = `
SecResponseBodyMimeType text/plain text/html text/xml
SecDefaultAction "phase:3,log,auditlog,pass"
SecDefaultAction "phase:4,log,auditlog,pass"
SecDefaultAction "phase:5,log,auditlog,pass"
SecRule REQUEST_URI "@beginsWith /__ftw/marker/" "id:90001,phase:1,pass,nolog,ctl:ruleEngine=Off"
SecAction "id:900005,phase:1,nolog,pass,ctl:ruleEngine=DetectionOnly,ctl:ruleRemoveById=910000,setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535"
`

type hit struct {
	RuleID int    `json:"ruleId"`
	Msg    string `json:"msg"`
	Data   string `json:"data"`
}

var (
	mu   sync.Mutex
	hits []hit
)

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
	r.ResponseWriter.WriteHeader(s)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.ResponseWriter.Write(b)
}

// albedo answers as the CRS test backend: empty 200, POST /reflect as its JSON body asks.
func albedo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	// As in Coraza's own CRS test (testing/coreruleset): responses are text/plain.
	w.Header().Set("Content-Type", "text/plain")
	if r.Method != http.MethodPost || strings.TrimSuffix(r.URL.Path, "/") != "/reflect" {
		return
	}
	var spec struct {
		Status      int               `json:"status"`
		Headers     map[string]string `json:"headers"`
		Body        string            `json:"body"`
		EncodedBody string            `json:"encodedBody"`
	}
	if err := json.Unmarshal(body, &spec); err != nil {
		w.WriteHeader(400)
		return
	}
	for k, v := range spec.Headers {
		w.Header().Add(k, v)
	}
	if spec.Status == 0 {
		spec.Status = 200
	}
	out := []byte(spec.Body)
	if spec.Body == "" && spec.EncodedBody != "" {
		out, _ = base64.StdEncoding.DecodeString(spec.EncodedBody)
	}
	w.WriteHeader(spec.Status)
	_, _ = w.Write(out)
}

func main() {
	address := flag.String("address", "127.0.77.2", "listen address")
	port := flag.Int("port", 18779, "listen port")
	crs := flag.String("crs", ".cache/crs/current", "CRS directory")
	flag.Parse()

	cfg := coraza.NewWAFConfig().
		WithDirectivesFromFile(filepath.Join(*crs, "coraza.conf-recommended")).
		WithDirectives(corpusSetup).
		WithDirectivesFromFile(filepath.Join(*crs, "crs-setup.conf.example"))
	rules, _ := filepath.Glob(filepath.Join(*crs, "rules", "*.conf"))
	sort.Strings(rules)
	for _, f := range rules {
		cfg = cfg.WithDirectivesFromFile(f)
	}
	cfg = cfg.WithErrorCallback(func(m types.MatchedRule) {
		mu.Lock()
		hits = append(hits, hit{RuleID: m.Rule().ID(), Msg: m.Message(), Data: m.Data()})
		mu.Unlock()
	})
	waf, err := coraza.NewWAF(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	inner := txhttp.WrapHandler(waf, http.HandlerFunc(albedo))
	out := json.NewEncoder(os.Stdout)
	// The runner sends one request at a time, so the hits between two lines are one request's.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = nil
		mu.Unlock()
		rec := &recorder{ResponseWriter: w}
		inner.ServeHTTP(rec, r)
		mu.Lock()
		ids := []int{}
		for _, h := range hits {
			ids = append(ids, h.RuleID)
		}
		action := "detect"
		if strings.HasPrefix(r.URL.Path, "/__ftw/marker/") {
			action = "bypass" // ctl:ruleEngine=Off, as Portico's allowlist
		}
		line := map[string]any{"path": r.RequestURI, "status": max(rec.status, 200), "waf": map[string]any{"action": action, "ruleIds": ids, "hits": hits}}
		mu.Unlock()
		_ = out.Encode(line)
	})
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", *address, *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, `{"msg":"ready"}`)
	_ = http.Serve(ln, handler)
}
