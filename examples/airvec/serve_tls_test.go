package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a certificate for 127.0.0.1 signed by ca (self-signed when
// ca is nil) and returns it with its key.
func writeCert(t *testing.T, dir, name string, serial int64, ca *tls.Certificate, isCA bool) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  isCA || ca == nil,
		BasicConstraintsValid: true,
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.Leaf, ca.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pair.Leaf, _ = x509.ParseCertificate(der)
	return certFile, keyFile, pair
}

func tlsClient(roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
}

func post(t *testing.T, c *http.Client, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The parsing rules of Elasticsearch's alibabacloud-ai-search response
// classes, transcribed (x-pack inference, services/alibabacloudsearch/response).

// esEmbeddings: the first "embeddings" field is a list of objects, each with an
// "embedding" array whose every element is a JSON number (a float); other
// fields of the object are skipped.
func esEmbeddings(body []byte) ([][]float64, error) {
	var top struct {
		Result struct {
			Embeddings []map[string]json.RawMessage `json:"embeddings"`
		} `json:"result"`
		Usage map[string]any `json:"usage"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	if _, clash := top.Usage["embeddings"]; clash {
		return nil, fmt.Errorf("an earlier \"embeddings\" field would be found first")
	}
	var out [][]float64
	for i, e := range top.Result.Embeddings {
		raw, ok := e["embedding"]
		if !ok {
			return nil, fmt.Errorf("Failed to find required field [embedding] in entry %d", i)
		}
		var vals []json.RawMessage
		if err := json.Unmarshal(raw, &vals); err != nil {
			return nil, err
		}
		vec := make([]float64, len(vals))
		for j, v := range vals {
			f, err := strconv.ParseFloat(string(v), 32)
			if err != nil {
				return nil, fmt.Errorf("entry %d value %d: expected VALUE_NUMBER, got %s", i, j, v)
			}
			vec[j] = f
		}
		out = append(out, vec)
	}
	if out == nil {
		return nil, fmt.Errorf("Failed to find required field [embeddings]")
	}
	return out, nil
}

// esSparse: "sparse_embeddings" is a list of objects with an "embedding" list
// of maps; the token is "token" when present, else "token_id"; weight is
// Float.parseFloat(weight.toString()); a null or empty token, a token
// containing ".", or a weight <= 0 is dropped.
func esSparse(body []byte) ([]map[string]float32, error) {
	var top struct {
		Result struct {
			Sparse []map[string]json.RawMessage `json:"sparse_embeddings"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	if top.Result.Sparse == nil {
		return nil, fmt.Errorf("Failed to find required field [sparse_embeddings]")
	}
	var out []map[string]float32
	for i, e := range top.Result.Sparse {
		raw, ok := e["embedding"]
		if !ok {
			return nil, fmt.Errorf("Failed to find required field [embedding] in entry %d", i)
		}
		var list []map[string]any
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("entry %d: %v", i, err)
		}
		toks := map[string]float32{}
		for _, v := range list {
			name, ok := v["token"]
			if !ok {
				name = v["token_id"]
			}
			w, ok := v["weight"]
			if !ok {
				return nil, fmt.Errorf("entry %d: weight missing (NullPointerException)", i)
			}
			f, err := strconv.ParseFloat(fmt.Sprint(w), 32)
			if err != nil {
				return nil, fmt.Errorf("entry %d: weight %v: %v", i, w, err)
			}
			var s string
			switch n := name.(type) {
			case nil:
				continue
			case float64:
				s = strconv.FormatInt(int64(n), 10)
				if float64(int64(n)) != n {
					s = fmt.Sprint(n)
				}
			default:
				s = fmt.Sprint(n)
			}
			if s == "" || bytes.ContainsRune([]byte(s), '.') || f <= 0 {
				continue
			}
			toks[s] = float32(f)
		}
		out = append(out, toks)
	}
	return out, nil
}

// esRerank: "result" then "scores": a list of objects whose only fields are
// "index" (int) and "score" (float); any other field throws.
func esRerank(body []byte) (map[int]float64, error) {
	var top struct {
		Result *struct {
			Scores []map[string]json.RawMessage `json:"scores"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	if top.Result == nil || top.Result.Scores == nil {
		return nil, fmt.Errorf("Failed to find required field [result]/[scores]")
	}
	out := map[int]float64{}
	for _, s := range top.Result.Scores {
		idx, score := -1, -1.0
		for k, v := range s {
			switch k {
			case "index":
				i, err := strconv.Atoi(string(v))
				if err != nil {
					return nil, fmt.Errorf("index %s: %v", v, err)
				}
				idx = i
			case "score":
				f, err := strconv.ParseFloat(string(v), 32)
				if err != nil {
					return nil, fmt.Errorf("score %s: %v", v, err)
				}
				score = f
			default:
				return nil, fmt.Errorf("unknown field [%s]", k)
			}
		}
		out[idx] = score
	}
	return out, nil
}

// esError: any JSON map with a string "message".
func esError(body []byte) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	msg, ok := m["message"].(string)
	if !ok {
		return "", fmt.Errorf("no message: UNDEFINED_ERROR")
	}
	return msg, nil
}

type tlsFixture struct {
	rs       *running
	base     string
	roots    *x509.CertPool
	certFile string
	keyFile  string
	sigs     chan os.Signal
	done     chan int
}

func startTLS(t *testing.T, cfg serverConfig, clientCA string) *tlsFixture {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, pair := writeCert(t, dir, "server", 1, nil, false)
	roots := x509.NewCertPool()
	roots.AddCert(pair.Leaf)
	rs, err := startServer("127.0.0.1:0", cfg, certFile, keyFile, clientCA)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range fixtureServices(t) {
		rs.addService(svc)
	}
	rs.srv.ready.Store(true)
	f := &tlsFixture{rs: rs, base: "https://" + rs.ln.Addr().String(), roots: roots, certFile: certFile, keyFile: keyFile,
		sigs: make(chan os.Signal, 1), done: make(chan int, 1)}
	go func() { f.done <- rs.run(f.sigs) }()
	t.Cleanup(func() {
		select {
		case <-f.done:
		default:
			rs.hs.Close()
		}
	})
	return f
}

func TestElasticsearchConformanceTLS(t *testing.T) {
	f := startTLS(t, serverConfig{keys: map[string]bool{"es-key": true}, qps: 50, burst: 100}, "")
	c := tlsClient(f.roots, nil)
	emb := f.base + ws + "/text-embedding/ops-text-embedding-001"
	// Bodies exactly as Elasticsearch's request entities write them (their tests).
	for _, body := range []string{`{"input":["abc"],"input_type":"query"}`, `{"input":["abc"]}`, `{"input":["abc"],"input_type":"document"}`} {
		resp, b := post(t, c, emb, "es-key", body)
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("%s: %s %s %s", body, resp.Proto, resp.Status, b)
		}
		vecs, err := esEmbeddings(b)
		if err != nil || len(vecs) != 1 || len(vecs[0]) == 0 {
			t.Fatalf("%s: ES embeddings parser: %v %v", body, err, vecs)
		}
	}
	for _, svc := range []string{"ops-text-sparse-embedding-001", "ops-text-embedding-002"} {
		for _, body := range []string{`{"input":["abc","hello world"],"input_type":"document","return_token":true}`, `{"input":["abc"],"input_type":"query","return_token":true}`, `{"input":["abc"]}`} {
			resp, b := post(t, c, f.base+ws+"/text-sparse-embedding/"+svc, "es-key", body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %s %s", svc, body, resp.Status, b)
			}
			vecs, err := esSparse(b)
			if err != nil {
				t.Fatalf("%s %s: ES sparse parser: %v", svc, body, err)
			}
			for i, v := range vecs {
				if len(v) == 0 {
					t.Errorf("%s %s: entry %d keeps no token after ES's filters: %s", svc, body, i, b)
				}
			}
		}
	}
	resp, b := post(t, c, f.base+ws+"/ranker/ops-bge-reranker-larger", "es-key", `{"query":"query","docs":["abc"]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("rerank: %s %s", resp.Status, b)
	}
	if scores, err := esRerank(b); err != nil || len(scores) != 1 {
		t.Fatalf("ES rerank parser: %v %v", err, scores)
	}
	// Errors: status codes its response handler maps, and a "message".
	for _, c2 := range []struct {
		key, body string
		status    int
	}{
		{"", `{"input":["abc"]}`, 401},
		{"bad", `{"input":["abc"]}`, 403},
		{"es-key", `{"input":["abc"],"input_type":"xxx"}`, 400},
	} {
		resp, b := post(t, c, emb, c2.key, c2.body)
		if resp.StatusCode != c2.status {
			t.Errorf("%q: status %d, want %d", c2.body, resp.StatusCode, c2.status)
		}
		if _, err := esError(b); err != nil {
			t.Errorf("ES error parser: %v (%s)", err, b)
		}
	}
	resp, b = post(t, c, f.base+ws+"/text-embedding/ops-missing", "es-key", `{"input":["abc"]}`)
	if _, err := esError(b); resp.StatusCode != 404 || err != nil {
		t.Errorf("unknown service: %d %v", resp.StatusCode, err)
	}
}

func TestTLSReloadAndMutual(t *testing.T) {
	f := startTLS(t, serverConfig{}, "")
	serial := func(c *http.Client) int64 {
		resp, err := c.Get(f.base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	old := tlsClient(f.roots, nil)
	if s := serial(old); s != 1 {
		t.Fatalf("serial %d", s)
	}
	// Replace the files with a new certificate and send SIGHUP.
	dir := t.TempDir()
	nc, nk, pair := writeCert(t, dir, "server2", 2, nil, false)
	for src, dst := range map[string]string{nc: f.certFile, nk: f.keyFile} {
		b, _ := os.ReadFile(src)
		os.WriteFile(dst, b, 0o600)
	}
	f.sigs <- syscall.SIGHUP
	roots := x509.NewCertPool()
	roots.AddCert(pair.Leaf)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := tlsClient(roots, nil)
		resp, err := c.Get(f.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.TLS.PeerCertificates[0].SerialNumber.Int64() == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("new certificate not served after SIGHUP: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The connection opened before the reload keeps working.
	if s := serial(old); s != 1 {
		t.Errorf("old connection now sees serial %d", s)
	}

	// Mutual TLS: a client certificate signed by the CA is required.
	cadir := t.TempDir()
	caFile, _, ca := writeCert(t, cadir, "ca", 10, nil, true)
	_, _, client := writeCert(t, cadir, "client", 11, &ca, false)
	m := startTLS(t, serverConfig{}, caFile)
	if _, err := tlsClient(m.roots, nil).Get(m.base + "/healthz"); err == nil {
		t.Error("mTLS: a client without a certificate got through")
	}
	resp, err := tlsClient(m.roots, &client).Get(m.base + "/healthz")
	if err != nil {
		t.Fatalf("mTLS with a client certificate: %v", err)
	}
	resp.Body.Close()
}

// TestDrainUnderLoad sends SIGTERM while clients are busy: every request
// sent before the drain gets its answer, /readyz fails during the shutdown
// delay, and the server exits 0.
func TestDrainUnderLoad(t *testing.T) {
	f := startTLS(t, serverConfig{shutdownDelay: 300 * time.Millisecond, drain: 20 * time.Second}, "")
	c := tlsClient(f.roots, nil)
	var stop atomic.Bool
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				req, _ := http.NewRequest("POST", f.base+ws+"/text-embedding/ops-text-embedding-001", bytes.NewReader([]byte(`{"input":["drain test sentence"]}`)))
				resp, err := c.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	f.sigs <- syscall.SIGTERM
	// A load balancer polling /readyz sees 503 and stops sending.
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := c.Get(f.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 503 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never failed after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	select {
	case code := <-f.done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop")
	}
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("ok %d, failed %d", ok.Load(), failed.Load())
	}
}
