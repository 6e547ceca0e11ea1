package main

import (
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

var (
	e2eOnce     sync.Once
	e2eServices map[string]*service
	e2eErr      error
)

// fixtureServices loads the fixture models once for all end-to-end tests.
func fixtureServices(t *testing.T) map[string]*service {
	t.Helper()
	root := testdata.Path(t, "models")
	e2eOnce.Do(func() {
		prec, threads := "fp32", 0
		mf := &modelFlags{precision: &prec, threads: &threads}
		e2eServices = map[string]*service{}
		for id, dir := range map[string]string{
			"ops-text-embedding-001":        "bert-mini-embed",
			"ops-text-embedding-002":        "xlmr-mini-embed",
			"ops-text-sparse-embedding-001": "splade-mini",
			"ops-bge-reranker-larger":       "xlmr-mini-reranker",
			"ops-mm-clip":                   "clip-mini",
		} {
			svc, err := loadService(id, filepath.Join(root, dir), mf)
			if err != nil {
				e2eErr = err
				return
			}
			e2eServices[id] = svc
		}
	})
	if e2eErr != nil {
		t.Fatal(e2eErr)
	}
	return e2eServices
}

func e2eServer(t *testing.T, cfg serverConfig) *httptest.Server {
	s := newServer(cfg, fixtureServices(t))
	s.ready.Store(true)
	ts := httptest.NewServer(s.routes())
	t.Cleanup(ts.Close)
	return ts
}

const ws = "/v3/openapi/workspaces/default"

func TestServeEndToEnd(t *testing.T) {
	ts := e2eServer(t, serverConfig{keys: map[string]bool{"OS-key": true}, qps: 1000, burst: 1000})
	png, err := os.ReadFile(testdata.Path(t, "images/tiny_17x9.png"))
	if err != nil {
		t.Fatal(err)
	}
	img := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	many := `"x"` + strings.Repeat(`,"x"`, 32)

	type check func(t *testing.T, m map[string]any)
	hasEmbeddings := func(n, dim int) check {
		return func(t *testing.T, m map[string]any) {
			res := m["result"].(map[string]any)
			embs := res["embeddings"].([]any)
			if len(embs) != n {
				t.Fatalf("%d embeddings, want %d", len(embs), n)
			}
			for i, e := range embs {
				e := e.(map[string]any)
				if e["index"] != float64(i) {
					t.Errorf("index %v at %d", e["index"], i)
				}
				if v := e["embedding"].([]any); dim > 0 && len(v) != dim {
					t.Errorf("embedding %d has %d dims, want %d", i, len(v), dim)
				}
			}
			if u := m["usage"].(map[string]any); u["token_count"] == nil && u["doc_count"] == nil {
				t.Errorf("usage %v", u)
			}
		}
	}
	cases := []struct {
		name, path, key, body string
		status                int
		code                  string
		check                 check
	}{
		{"embed docs", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":["科学技术是第一生产力","opensearch产品文档"],"input_type":"document"}`, 200, "", hasEmbeddings(2, 0)},
		{"embed query string", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":"hello","input_type":"query"}`, 200, "", hasEmbeddings(1, 0)},
		{"embed dimension", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":["hello"],"dimension":8}`, 200, "", hasEmbeddings(1, 8)},
		{"embed bad json", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":[`, 400, "InvalidParameter", nil},
		{"embed wrong input_type", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":["a"],"input_type":"passage"}`, 400, "InvalidParameter", nil},
		{"embed 33 inputs", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":[` + many + `]}`, 400, "InvalidParameter", nil},
		{"embed empty string", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":["a",""]}`, 400, "InvalidParameter", nil},
		{"embed dimension too big", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":["a"],"dimension":100000}`, 400, "InvalidParameter", nil},
		{"missing key", ws + "/text-embedding/ops-text-embedding-001", "", `{"input":["a"]}`, 401, "Unauthorized", nil},
		{"wrong key", ws + "/text-embedding/ops-text-embedding-001", "nope", `{"input":["a"]}`, 403, "Forbidden", nil},
		{"body over 8 MB", ws + "/text-embedding/ops-text-embedding-001", "OS-key", `{"input":["` + strings.Repeat("a", 8<<20) + `"]}`, 413, "RequestTooLarge", nil},
		{"sparse", ws + "/text-sparse-embedding/ops-text-sparse-embedding-001", "OS-key", `{"input":["hello world"],"input_type":"document","return_token":true}`, 200, "", func(t *testing.T, m map[string]any) {
			se := m["result"].(map[string]any)["sparse_embeddings"].([]any)
			emb := se[0].(map[string]any)["embedding"].([]any)
			if len(emb) == 0 {
				t.Fatal("empty sparse embedding")
			}
			w := emb[0].(map[string]any)
			if w["token_id"] == nil || w["weight"] == nil || w["token"] == nil {
				t.Errorf("weight entry %v", w)
			}
		}},
		{"sparse query (idf)", ws + "/text-sparse-embedding/ops-text-sparse-embedding-001", "OS-key", `{"input":"hello world","input_type":"query"}`, 200, "", nil},
		{"bge-m3 sparse", ws + "/text-sparse-embedding/ops-text-embedding-002", "OS-key", `{"input":["hello world"]}`, 200, "", nil},
		{"sparse 33 inputs", ws + "/text-sparse-embedding/ops-text-sparse-embedding-001", "OS-key", `{"input":[` + many + `]}`, 400, "InvalidParameter", nil},
		{"rerank", ws + "/ranker/ops-bge-reranker-larger", "OS-key", `{"query":"what is airvec","docs":["airvec embeds text","bananas are yellow","airvec is a Go library"]}`, 200, "", func(t *testing.T, m map[string]any) {
			scores := m["result"].(map[string]any)["scores"].([]any)
			if len(scores) != 3 {
				t.Fatalf("scores %v", scores)
			}
			prev := 2.0
			for _, s := range scores {
				v := s.(map[string]any)["score"].(float64)
				if v > prev || v < 0 || v > 1 {
					t.Errorf("scores not sorted sigmoid values: %v", scores)
				}
				prev = v
			}
			if m["usage"].(map[string]any)["doc_count"] != 3.0 {
				t.Errorf("usage %v", m["usage"])
			}
		}},
		{"rerank empty query", ws + "/ranker/ops-bge-reranker-larger", "OS-key", `{"query":"","docs":["a"]}`, 400, "InvalidParameter", nil},
		{"rerank no docs", ws + "/ranker/ops-bge-reranker-larger", "OS-key", `{"query":"q","docs":[]}`, 400, "InvalidParameter", nil},
		{"multimodal", ws + "/multi-modal-embedding/ops-mm-clip", "OS-key", `{"input":[{"text":"a cat"},{"image":"` + img + `"}]}`, 200, "", func(t *testing.T, m map[string]any) {
			hasEmbeddings(2, 0)(t, m)
			if m["usage"].(map[string]any)["image"] != 1.0 {
				t.Errorf("usage %v", m["usage"])
			}
		}},
		{"multimodal local path refused", ws + "/multi-modal-embedding/ops-mm-clip", "OS-key", `{"input":[{"image":"/etc/passwd"}]}`, 400, "InvalidParameter", nil},
		{"multimodal file URL refused", ws + "/multi-modal-embedding/ops-mm-clip", "OS-key", `{"input":[{"image":"file:///etc/hostname"}]}`, 400, "InvalidParameter", nil},
		{"multimodal bad base64", ws + "/multi-modal-embedding/ops-mm-clip", "OS-key", `{"input":[{"image":"data:image/png;base64,@@@"}]}`, 400, "InvalidParameter", nil},
		{"deployment predict", "/v3/openapi/deployments/ops-text-embedding-001/predict", "OS-key", `{"input":["hello"]}`, 200, "", hasEmbeddings(1, 0)},
		{"wrong route kind", ws + "/ranker/ops-text-embedding-001", "OS-key", `{}`, 404, "NotFound", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := do(t, ts, "POST", c.path, c.key, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, c.status, m)
			}
			rid := resp.Header.Get("X-Request-Id")
			if rid == "" || m["request_id"] != rid {
				t.Errorf("request_id %v, header %q", m["request_id"], rid)
			}
			if c.code != "" {
				if m["code"] != c.code || m["latency"] != 0.0 || m["message"] == "" {
					t.Errorf("error body %v, want code %s", m, c.code)
				}
				return
			}
			if _, ok := m["latency"].(float64); !ok {
				t.Errorf("no latency: %v", m)
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
	// OpenAI-compatible route.
	resp, m := do(t, ts, "POST", "/compatible-mode/v1/embeddings", "OS-key", `{"model":"ops-text-embedding-001","input":["a","b c"]}`)
	if resp.StatusCode != 200 || m["object"] != "list" || len(m["data"].([]any)) != 2 {
		t.Fatalf("openai: %d %v", resp.StatusCode, m)
	}
	resp, m = do(t, ts, "POST", "/compatible-mode/v1/embeddings", "OS-key", `{"model":"ops-text-embedding-001","input":"a","dimensions":8}`)
	if resp.StatusCode != 200 || len(m["data"].([]any)[0].(map[string]any)["embedding"].([]any)) != 8 {
		t.Fatalf("openai dimensions: %d %v", resp.StatusCode, m)
	}
	resp, m = do(t, ts, "POST", "/compatible-mode/v1/embeddings", "OS-key", `{"model":"ops-text-embedding-001","input":"a","dimensions":100000}`)
	if resp.StatusCode != 400 || m["code"] != "InvalidParameter" {
		t.Fatalf("openai dimensions above native: %d %v", resp.StatusCode, m)
	}
}

func TestServeEndToEndRateLimit(t *testing.T) {
	ts := e2eServer(t, serverConfig{keys: map[string]bool{"k": true}, qps: 2, burst: 3})
	codes := map[int]int{}
	for i := 0; i < 8; i++ {
		resp, m := do(t, ts, "POST", ws+"/text-embedding/ops-text-embedding-001", "k", `{"input":["a"]}`)
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 && (resp.Header.Get("Retry-After") == "" || m["code"] != "Throttling") {
			t.Errorf("429 shape: %v %v", resp.Header, m)
		}
	}
	if codes[429] == 0 || codes[200] < 3 {
		t.Fatalf("status counts %v", codes)
	}
}
