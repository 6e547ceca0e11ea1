package main

// airvec serve: the service's HTTP routes over airvec's public API.
//
//	POST /v3/openapi/workspaces/{workspace}/text-embedding/{service_id}
//	POST /v3/openapi/workspaces/{workspace}/text-sparse-embedding/{service_id}
//	POST /v3/openapi/workspaces/{workspace}/ranker/{service_id}
//	POST /v3/openapi/workspaces/{workspace}/multi-modal-embedding/{service_id}
//	POST /v3/openapi/deployments/{deployment_id}/predict
//	POST /compatible-mode/v1/embeddings
//	GET  /healthz  /readyz  /metrics

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/airvec/airvec/internal/apierr"
)

func init() {
	register("serve", "serve the service's HTTP API for local model directories", runServe)
}

// Route kinds: the path segment of the service route.
const (
	kindEmbedding  = "text-embedding"
	kindSparse     = "text-sparse-embedding"
	kindRanker     = "ranker"
	kindMultimodal = "multi-modal-embedding"
)

// handlerFunc answers one request body for a model. It returns the response
// value (marshalled as JSON, its request_id set to requestID) and the token
// count for the metrics.
type handlerFunc func(ctx context.Context, requestID string, body []byte) (resp any, tokens int, err error)

// service is one loaded model under a service id: the route kinds it answers.
type service struct {
	id       string
	dir      string
	handlers map[string]handlerFunc // by route kind
	// openai answers the OpenAI-compatible embeddings route (dense only);
	// dimension > 0 asks the model for Matryoshka truncation (validated there).
	openai func(ctx context.Context, inputs []string, dimension int) (vecs [][]float32, tokens int, err error)
}

// serverConfig holds what the flags say.
type serverConfig struct {
	maxBody int64
	qps     float64
	burst   int
	keys    map[string]bool // Bearer keys; empty = open
	tokens  map[string]bool // deployment Token header values; empty = same as keys
	drain   time.Duration
	// shutdownDelay: after SIGTERM, keep serving (readyz failing) this long.
	shutdownDelay time.Duration
	logger        *slog.Logger
}

type server struct {
	cfg      serverConfig
	services atomic.Pointer[map[string]*service]
	limiter  *keyLimiter
	metrics  *metrics
	ready    atomic.Bool
}

func newServer(cfg serverConfig, services map[string]*service) *server {
	if cfg.maxBody <= 0 {
		cfg.maxBody = 8 << 20
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	s := &server{cfg: cfg, metrics: newMetrics()}
	s.setServices(services)
	if cfg.qps > 0 {
		s.limiter = newKeyLimiter(cfg.qps, cfg.burst)
	}
	return s
}

func (s *server) setServices(m map[string]*service) { s.services.Store(&m) }

func (s *server) service(id string) *service { return (*s.services.Load())[id] }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, k := range []string{kindEmbedding, kindSparse, kindRanker, kindMultimodal} {
		kind := k
		mux.HandleFunc("POST /v3/openapi/workspaces/{workspace}/"+kind+"/{service_id}", func(w http.ResponseWriter, r *http.Request) {
			s.serveModel(w, r, kind, r.PathValue("service_id"), false)
		})
	}
	mux.HandleFunc("POST /v3/openapi/deployments/{deployment_id}/predict", func(w http.ResponseWriter, r *http.Request) {
		s.serveModel(w, r, "", r.PathValue("deployment_id"), true)
	})
	mux.HandleFunc("POST /compatible-mode/v1/embeddings", s.serveOpenAI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.HandleFunc("GET /metrics", s.metrics.serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id := requestID(r)
		w.Header().Set("X-Request-Id", id)
		s.writeError(w, r, "unknown", id, time.Now(), &apierr.Error{Code: apierr.NotFound, Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// requestID returns the caller's X-Request-Id when it looks sane, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && !strings.ContainsAny(id, "\r\n\"") {
		return id
	}
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.ToUpper(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// authorize checks the Bearer key (or, on deployment routes, the Token
// header) and the key's rate limit.
func (s *server) authorize(r *http.Request, deployment bool) (key string, err *apierr.Error, retryAfter time.Duration) {
	if len(s.cfg.keys) > 0 {
		auth := r.Header.Get("Authorization")
		bearer, ok := strings.CutPrefix(auth, "Bearer ")
		bearer = strings.TrimSpace(bearer)
		switch {
		case ok && s.cfg.keys[bearer]:
			key = bearer
		case deployment && r.Header.Get("Token") != "" && s.tokenOK(r.Header.Get("Token")):
			key = "token:" + r.Header.Get("Token")
		case auth == "" && (!deployment || r.Header.Get("Token") == ""):
			return "", &apierr.Error{Code: apierr.Unauthorized, Message: "missing API key: send Authorization: Bearer <api-key>"}, 0
		default:
			return "", &apierr.Error{Code: apierr.Forbidden, Message: "invalid API key"}, 0
		}
	} else {
		key = clientIP(r)
	}
	if s.limiter != nil {
		if ok, wait := s.limiter.allow(key, time.Now()); !ok {
			return key, &apierr.Error{Code: apierr.Throttling, Message: "rate limit exceeded for this API key"}, wait
		}
	}
	return key, nil, 0
}

func (s *server) tokenOK(tok string) bool {
	if len(s.cfg.tokens) > 0 {
		return s.cfg.tokens[tok]
	}
	return s.cfg.keys[tok]
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// readBody reads at most maxBody bytes; more is a RequestTooLarge error.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apierr.Error) {
	if r.ContentLength > s.cfg.maxBody {
		return nil, &apierr.Error{Code: apierr.TooLarge, Message: fmt.Sprintf("request body of %d bytes is over the %d-byte limit", r.ContentLength, s.cfg.maxBody)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apierr.Error{Code: apierr.TooLarge, Message: fmt.Sprintf("request body is over the %d-byte limit", s.cfg.maxBody)}
		}
		return nil, apierr.Invalid("reading request body: %v", err)
	}
	return body, nil
}

func (s *server) begin(w http.ResponseWriter, r *http.Request) (id string, start time.Time) {
	id = requestID(r)
	w.Header().Set("X-Request-Id", id)
	return id, time.Now()
}

func (s *server) serveModel(w http.ResponseWriter, r *http.Request, kind, serviceID string, deployment bool) {
	id, start := s.begin(w, r)
	route := kind
	if deployment {
		route = "predict"
	}
	_, aerr, wait := s.authorize(r, deployment)
	if aerr != nil {
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		}
		s.writeError(w, r, route, id, start, aerr)
		return
	}
	svc := s.service(serviceID)
	if svc == nil {
		s.writeError(w, r, route, id, start, &apierr.Error{Code: apierr.NotFound, Message: fmt.Sprintf("service %q is not loaded", serviceID)})
		return
	}
	var h handlerFunc
	if deployment {
		// A deployment answers with its model's primary kind.
		for _, k := range []string{kindEmbedding, kindMultimodal, kindRanker, kindSparse} {
			if h = svc.handlers[k]; h != nil {
				break
			}
		}
	} else if h = svc.handlers[kind]; h == nil {
		s.writeError(w, r, route, id, start, &apierr.Error{Code: apierr.NotFound, Message: fmt.Sprintf("service %q does not serve %s", serviceID, kind)})
		return
	}
	body, berr := s.readBody(w, r)
	if berr != nil {
		s.writeError(w, r, route, id, start, berr)
		return
	}
	resp, tokens, err := h(r.Context(), id, body)
	if err != nil {
		s.writeError(w, r, route, id, start, err)
		return
	}
	s.writeJSON(w, r, route, start, http.StatusOK, resp)
	s.metrics.tokens(route, tokens)
}

type openAIRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format,omitempty"`
	Dimensions     int             `json:"dimensions,omitempty"`
}

type openAIEmbedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

type openAIResponse struct {
	Object string            `json:"object"`
	Data   []openAIEmbedding `json:"data"`
	Model  string            `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func (s *server) serveOpenAI(w http.ResponseWriter, r *http.Request) {
	id, start := s.begin(w, r)
	const route = "openai-embeddings"
	_, aerr, wait := s.authorize(r, false)
	if aerr != nil {
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		}
		s.writeError(w, r, route, id, start, aerr)
		return
	}
	body, berr := s.readBody(w, r)
	if berr != nil {
		s.writeError(w, r, route, id, start, berr)
		return
	}
	var req openAIRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, route, id, start, apierr.Invalid("request is not valid JSON: %v", err))
		return
	}
	svc := s.service(req.Model)
	if svc == nil || svc.openai == nil {
		s.writeError(w, r, route, id, start, &apierr.Error{Code: apierr.NotFound, Message: fmt.Sprintf("model %q is not a loaded embedding model", req.Model)})
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err2 := json.Unmarshal(req.Input, &one); err2 != nil {
			s.writeError(w, r, route, id, start, apierr.Invalid("input must be a string or an array of strings"))
			return
		}
		inputs = []string{one}
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" {
		s.writeError(w, r, route, id, start, apierr.Invalid("encoding_format %q is not supported (only \"float\")", req.EncodingFormat))
		return
	}
	vecs, tokens, err := svc.openai(r.Context(), inputs, req.Dimensions)
	if err != nil {
		s.writeError(w, r, route, id, start, err)
		return
	}
	resp := openAIResponse{Object: "list", Model: req.Model}
	for i, v := range vecs {
		resp.Data = append(resp.Data, openAIEmbedding{Object: "embedding", Index: i, Embedding: v})
	}
	resp.Usage.PromptTokens, resp.Usage.TotalTokens = tokens, tokens
	s.writeJSON(w, r, route, start, http.StatusOK, resp)
	s.metrics.tokens(route, tokens)
}

func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, route string, start time.Time, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, route, w.Header().Get("X-Request-Id"), start, apierr.Internal(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	s.observe(r, w.Header().Get("X-Request-Id"), route, status, "", start)
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, route, id string, start time.Time, err error) {
	e := apierr.From(err)
	status := e.HTTPStatus()
	if status == 499 { // client went away; nobody reads this
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(apierr.JSON(id, e))
	s.observe(r, id, route, status, string(e.Code), start)
}

func (s *server) observe(r *http.Request, id, route string, status int, code string, start time.Time) {
	d := time.Since(start)
	s.metrics.request(route, status, code, d)
	lvl := slog.LevelInfo
	if status >= 500 {
		lvl = slog.LevelError
	}
	s.cfg.logger.Log(r.Context(), lvl, "request", "request_id", id, "method", r.Method,
		"path", r.URL.Path, "route", route, "status", status, "code", code, "ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
}

// keyLimiter is a token bucket per key.
type keyLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newKeyLimiter(qps float64, burst int) *keyLimiter {
	if burst < 1 {
		burst = int(math.Max(1, math.Ceil(qps)))
	}
	return &keyLimiter{rate: qps, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket; when empty it says how long until
// the next token.
func (l *keyLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) > 100000 { // bound memory under a flood of keys/IPs
			for k, v := range l.buckets {
				if now.Sub(v.last) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// metrics is a small Prometheus text exposition.
type metrics struct {
	mu       sync.Mutex
	requests map[[3]string]uint64 // route, status, code
	tokensBy map[string]uint64
	hist     map[string]*histogram
}

var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[[3]string]uint64{}, tokensBy: map[string]uint64{}, hist: map[string]*histogram{}}
}

func (m *metrics) request(route string, status int, code string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[3]string{route, strconv.Itoa(status), code}]++
	h := m.hist[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.hist[route] = h
	}
	sec := d.Seconds()
	for i, b := range latencyBuckets {
		if sec <= b {
			h.counts[i]++
		}
	}
	h.sum += sec
	h.n++
}

func (m *metrics) tokens(route string, n int) {
	m.mu.Lock()
	m.tokensBy[route] += uint64(n)
	m.mu.Unlock()
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# HELP airvec_requests_total Requests by route, HTTP status and error code.")
	fmt.Fprintln(w, "# TYPE airvec_requests_total counter")
	for _, k := range sortedKeys3(m.requests) {
		fmt.Fprintf(w, "airvec_requests_total{route=%q,status=%q,code=%q} %d\n", k[0], k[1], k[2], m.requests[k])
	}
	fmt.Fprintln(w, "# HELP airvec_errors_total Error responses by code.")
	fmt.Fprintln(w, "# TYPE airvec_errors_total counter")
	errs := map[string]uint64{}
	for k, v := range m.requests {
		if k[2] != "" {
			errs[k[2]] += v
		}
	}
	for _, c := range sortedKeys(errs) {
		fmt.Fprintf(w, "airvec_errors_total{code=%q} %d\n", c, errs[c])
	}
	fmt.Fprintln(w, "# HELP airvec_tokens_total Tokens fed to models, by route.")
	fmt.Fprintln(w, "# TYPE airvec_tokens_total counter")
	for _, r := range sortedKeys(m.tokensBy) {
		fmt.Fprintf(w, "airvec_tokens_total{route=%q} %d\n", r, m.tokensBy[r])
	}
	fmt.Fprintln(w, "# HELP airvec_request_duration_seconds Request latency by route.")
	fmt.Fprintln(w, "# TYPE airvec_request_duration_seconds histogram")
	for _, r := range sortedKeys(m.hist) {
		h := m.hist[r]
		for i, b := range latencyBuckets {
			fmt.Fprintf(w, "airvec_request_duration_seconds_bucket{route=%q,le=%q} %d\n", r, strconv.FormatFloat(b, 'g', -1, 64), h.counts[i])
		}
		fmt.Fprintf(w, "airvec_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, h.n)
		fmt.Fprintf(w, "airvec_request_duration_seconds_sum{route=%q} %g\n", r, h.sum)
		fmt.Fprintf(w, "airvec_request_duration_seconds_count{route=%q} %d\n", r, h.n)
	}
}

// certReloader serves the certificate pair, re-read on reload (SIGHUP).
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	return c, c.reload()
}

func (c *certReloader) reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS key pair: %w", err)
	}
	c.cert.Store(&cert)
	return nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// tlsConfig returns modern server defaults: TLS 1.2+, AEAD suites, HTTP/2.
func tlsConfig(cr *certReloader, clientCAFile string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cr.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		},
	}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificates", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// readKeys reads API keys, one per line (# comments and blanks skipped).
func readKeys(file string) (map[string]bool, error) {
	keys := map[string]bool{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") {
				keys[line] = true
			}
		}
	}
	for _, k := range strings.Split(os.Getenv("AIRVEC_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys[k] = true
		}
	}
	return keys, nil
}

// Default per-key limits: far above Elasticsearch's default client rate of
// 1000 requests/minute per inference endpoint.
const (
	defaultQPS   = 100
	defaultBurst = 200
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	var models multiFlag
	fs.Var(&models, "model", "SERVICE_ID=DIR (repeatable): serve the model directory under that service id")
	keysFile := fs.String("api-keys", "", "file of API keys, one per line (also $AIRVEC_API_KEYS, comma-separated); none = open")
	qps := fs.Float64("qps", defaultQPS, "per-key request rate limit (requests/s; 0 = off)")
	burst := fs.Int("burst", defaultBurst, "per-key burst")
	maxBody := fs.Int64("max-body", 8<<20, "request body limit in bytes")
	certFile := fs.String("tls-cert", "", "TLS certificate (PEM); with -tls-key serves HTTPS (reloaded on SIGHUP)")
	keyFile := fs.String("tls-key", "", "TLS private key (PEM)")
	clientCA := fs.String("tls-client-ca", "", "CA bundle for mutual TLS (clients must present a certificate it signed)")
	drain := fs.Duration("drain", 30*time.Second, "graceful shutdown: how long in-flight requests may take")
	delay := fs.Duration("shutdown-delay", 0, "on SIGTERM, keep serving this long with /readyz failing (lets a load balancer stop routing here) before draining")
	mopts := addModelFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if (*certFile == "") != (*keyFile == "") {
		fmt.Fprintln(os.Stderr, "airvec serve: -tls-cert and -tls-key go together")
		return 2
	}
	if *clientCA != "" && *certFile == "" {
		fmt.Fprintln(os.Stderr, "airvec serve: -tls-client-ca needs -tls-cert and -tls-key")
		return 2
	}
	keys, err := readKeys(*keysFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec serve:", err)
		return 2
	}
	if len(keys) == 0 {
		logger.Warn("no API keys configured: the server is open to anyone who can reach it")
	}
	if len(models) == 0 {
		fmt.Fprintln(os.Stderr, "airvec serve: give at least one -model SERVICE_ID=DIR")
		return 2
	}
	specs := make([][2]string, 0, len(models))
	for _, m := range models {
		id, dir, ok := strings.Cut(m, "=")
		if !ok || id == "" || dir == "" {
			fmt.Fprintf(os.Stderr, "airvec serve: -model %q: want SERVICE_ID=DIR\n", m)
			return 2
		}
		specs = append(specs, [2]string{id, dir})
	}
	cfg := serverConfig{maxBody: *maxBody, qps: *qps, burst: *burst, keys: keys, drain: *drain, shutdownDelay: *delay, logger: logger}
	rs, err := startServer(*addr, cfg, *certFile, *keyFile, *clientCA)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airvec serve:", err)
		return 1
	}
	// Listening already: liveness answers while the models load.
	for _, sp := range specs {
		t0 := time.Now()
		svc, err := loadService(sp[0], sp[1], mopts)
		if err != nil {
			fmt.Fprintf(os.Stderr, "airvec serve: loading %s: %v\n", sp[1], err)
			return 1
		}
		rs.addService(svc)
		logger.Info("model loaded", "service_id", sp[0], "dir", sp[1], "routes", sortedKeys(svc.handlers), "ms", time.Since(t0).Milliseconds())
	}
	rs.srv.ready.Store(true)
	logger.Info("ready")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return rs.run(sigs)
}

// running is a started server: its listener, TLS state and signal handling.
type running struct {
	srv  *server
	hs   *http.Server
	ln   net.Listener
	cr   *certReloader // nil without TLS
	errc chan error
	mu   sync.Mutex // guards srv.services while models load
}

// startServer listens on addr and serves (HTTPS when certFile is set).
// Services are added with addService; readiness is set by the caller.
func startServer(addr string, cfg serverConfig, certFile, keyFile, clientCA string) (*running, error) {
	srv := newServer(cfg, map[string]*service{})
	rs := &running{srv: srv, errc: make(chan error, 1)}
	rs.hs = &http.Server{Handler: srv.routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(srv.cfg.logger.Handler(), slog.LevelWarn)}
	if certFile != "" {
		var err error
		if rs.cr, err = newCertReloader(certFile, keyFile); err != nil {
			return nil, err
		}
		if rs.hs.TLSConfig, err = tlsConfig(rs.cr, clientCA); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rs.ln = ln
	go func() {
		if rs.hs.TLSConfig != nil {
			rs.errc <- rs.hs.ServeTLS(ln, "", "")
		} else {
			rs.errc <- rs.hs.Serve(ln)
		}
	}()
	srv.cfg.logger.Info("listening", "addr", ln.Addr().String(), "tls", rs.hs.TLSConfig != nil)
	return rs, nil
}

// addService makes svc answer; safe while requests are served.
func (rs *running) addService(svc *service) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	old := *rs.srv.services.Load()
	services := make(map[string]*service, len(old)+1)
	for k, v := range old {
		services[k] = v
	}
	services[svc.id] = svc
	rs.srv.setServices(services)
}

// run handles signals until the server stops: SIGHUP reloads the TLS
// certificate (open connections keep theirs); SIGTERM/SIGINT fail /readyz,
// wait the shutdown delay, stop accepting, let in-flight requests finish
// (up to the drain timeout) and return.
func (rs *running) run(sigs <-chan os.Signal) int {
	logger := rs.srv.cfg.logger
	for {
		select {
		case err := <-rs.errc:
			if errors.Is(err, http.ErrServerClosed) {
				return 0
			}
			logger.Error("serve", "err", err)
			return 1
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if rs.cr == nil {
					continue
				}
				if err := rs.cr.reload(); err != nil {
					logger.Error("certificate reload failed; keeping the old one", "err", err)
				} else {
					logger.Info("certificate reloaded")
				}
				continue
			}
			logger.Info("draining", "signal", sig.String(), "delay", rs.srv.cfg.shutdownDelay.String())
			rs.srv.ready.Store(false)
			time.Sleep(rs.srv.cfg.shutdownDelay)
			ctx, cancel := context.WithTimeout(context.Background(), rs.srv.cfg.drain)
			err := rs.hs.Shutdown(ctx)
			cancel()
			if err != nil {
				logger.Error("drain incomplete", "err", err)
				return 1
			}
			logger.Info("stopped")
			return 0
		}
	}
}
