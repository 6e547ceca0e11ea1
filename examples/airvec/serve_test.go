package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/kernels"
)

type fakeResp struct {
	RequestID string `json:"request_id"`
	Latency   int    `json:"latency"`
	Echo      string `json:"echo"`
}

func fakeServer(t *testing.T, cfg serverConfig) *httptest.Server {
	t.Helper()
	h := func(ctx context.Context, id string, body []byte) (any, int, error) {
		var req struct {
			Input string `json:"input"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, 0, apierr.Invalid("bad JSON: %v", err)
		}
		if req.Input == "" {
			return nil, 0, apierr.Invalid("input is empty")
		}
		return &fakeResp{RequestID: id, Echo: req.Input}, len(req.Input), nil
	}
	svc := &service{id: "ops-fake", handlers: map[string]handlerFunc{kindEmbedding: h},
		openai: func(ctx context.Context, in []string, dimension int) ([][]float32, int, error) {
			out := make([][]float32, len(in))
			for i := range in {
				out[i] = []float32{3, 4, 0}
				if dimension > 0 {
					out[i] = out[i][:dimension]
					kernels.L2Normalize(out[i])
				}
			}
			return out, 7, nil
		}}
	s := newServer(cfg, map[string]*service{"ops-fake": svc})
	s.ready.Store(true)
	ts := httptest.NewServer(s.routes())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, ts *httptest.Server, method, path, key, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp, m
}

const embedPath = "/v3/openapi/workspaces/default/text-embedding/ops-fake"

func TestServeErrorsAndAuth(t *testing.T) {
	ts := fakeServer(t, serverConfig{keys: map[string]bool{"k1": true}, qps: 1000, burst: 1000, maxBody: 1 << 10})
	cases := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
	}{
		{"ok", "POST", embedPath, "k1", `{"input":"hi"}`, 200, ""},
		{"missing key", "POST", embedPath, "", `{"input":"hi"}`, 401, "Unauthorized"},
		{"wrong key", "POST", embedPath, "nope", `{"input":"hi"}`, 403, "Forbidden"},
		{"bad json", "POST", embedPath, "k1", `{"input":`, 400, "InvalidParameter"},
		{"empty input", "POST", embedPath, "k1", `{"input":""}`, 400, "InvalidParameter"},
		{"unknown service", "POST", "/v3/openapi/workspaces/default/text-embedding/ops-nope", "k1", `{}`, 404, "NotFound"},
		{"kind not served", "POST", "/v3/openapi/workspaces/default/ranker/ops-fake", "k1", `{}`, 404, "NotFound"},
		{"unknown route", "GET", "/nope", "k1", ``, 404, "NotFound"},
		{"too large", "POST", embedPath, "k1", `{"input":"` + strings.Repeat("x", 2000) + `"}`, 413, "RequestTooLarge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := do(t, ts, c.method, c.path, c.key, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, c.status, m)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id header")
			}
			if c.code == "" {
				if m["echo"] != "hi" || m["request_id"] != resp.Header.Get("X-Request-Id") {
					t.Errorf("response %v", m)
				}
				return
			}
			if m["code"] != c.code || m["request_id"] == nil || m["latency"] != 0.0 || m["message"] == "" {
				t.Errorf("error body %v, want code %s", m, c.code)
			}
		})
	}
}

func TestServeRateLimit(t *testing.T) {
	ts := fakeServer(t, serverConfig{keys: map[string]bool{"k1": true}, qps: 1, burst: 2})
	var got429 bool
	for i := 0; i < 4; i++ {
		resp, m := do(t, ts, "POST", embedPath, "k1", `{"input":"hi"}`)
		if resp.StatusCode == 429 {
			got429 = true
			if resp.Header.Get("Retry-After") == "" || m["code"] != "Throttling" {
				t.Errorf("429 without Retry-After or code: %v %v", resp.Header, m)
			}
		}
	}
	if !got429 {
		t.Fatal("no 429 after exceeding the burst")
	}
}

func TestServeOpenAIHealthMetrics(t *testing.T) {
	ts := fakeServer(t, serverConfig{})
	resp, m := do(t, ts, "POST", "/compatible-mode/v1/embeddings", "", `{"model":"ops-fake","input":["a","b"],"dimensions":2}`)
	if resp.StatusCode != 200 || m["object"] != "list" {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	data := m["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("data %v", data)
	}
	e := data[1].(map[string]any)
	if e["object"] != "embedding" || e["index"] != 1.0 {
		t.Errorf("entry %v", e)
	}
	if v := e["embedding"].([]any); len(v) != 2 || v[0].(float64) != 0.6 {
		t.Errorf("dimensions/renormalise: %v", v)
	}
	if u := m["usage"].(map[string]any); u["prompt_tokens"] != 7.0 || u["total_tokens"] != 7.0 {
		t.Errorf("usage %v", u)
	}
	resp, _ = do(t, ts, "POST", "/compatible-mode/v1/embeddings", "", `{"model":"nope","input":"a"}`)
	if resp.StatusCode != 404 {
		t.Errorf("unknown model: %d", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, _ := do(t, ts, "GET", p, "", ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{`airvec_requests_total{route="openai-embeddings",status="200",code=""} 1`, `airvec_errors_total{code="NotFound"} 1`, "airvec_request_duration_seconds_bucket", `airvec_tokens_total{route="openai-embeddings"} 7`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

func TestKeyLimiter(t *testing.T) {
	l := newKeyLimiter(10, 2)
	now := time.Unix(0, 0)
	if ok, _ := l.allow("a", now); !ok {
		t.Fatal("first")
	}
	l.allow("a", now)
	ok, wait := l.allow("a", now)
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("third: %v %v", ok, wait)
	}
	if ok, _ := l.allow("a", now.Add(100*time.Millisecond)); !ok {
		t.Fatal("after refill")
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Fatal("keys are independent")
	}
}
