package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// captureStdout runs fn with os.Stdout redirected and returns what it wrote.
func captureStdout(t *testing.T, fn func() int) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	code := fn()
	w.Close()
	os.Stdout = old
	return <-done, code
}

// bareDir links config.json + model.safetensors of a fixture into a temp
// dir, as refbench's mkmodel.py writes them (no tokenizer).
func bareDir(t *testing.T, fixture string) string {
	src := testdata.Path(t, "models/"+fixture)
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBench(t *testing.T) {
	for _, fx := range []string{"bert-mini-embed", "xlmr-mini-embed", "qwen3-mini-embed"} {
		dir := bareDir(t, fx)
		out, code := captureStdout(t, func() int {
			return runBench([]string{"-model", dir, "-batch", "2", "-seq", "16", "-threads", "1", "-precision", "bf16", "-runs", "3", "-warmup", "1", "-json"})
		})
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", fx, code, out)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
			t.Fatalf("%s: output %q: %v", fx, out, err)
		}
		for _, k := range []string{"median_ms", "min_ms", "tokens_per_s", "items_per_s"} {
			if v, ok := r[k].(float64); !ok || v <= 0 {
				t.Errorf("%s: %s = %v", fx, k, r[k])
			}
		}
		if r["batch"] != 2.0 || r["seq"] != 16.0 || r["precision"] != "bf16" {
			t.Errorf("%s: %s", fx, out)
		}
	}
	if _, code := captureStdout(t, func() int { return runBench([]string{"-model", bareDir(t, "bert-mini-embed"), "-seq", "600"}) }); code == 0 {
		t.Error("-seq 600 on a 512-position model succeeded")
	}
}

func TestEmbedCLI(t *testing.T) {
	dir := testdata.Path(t, "models/bert-mini-embed")
	req := filepath.Join(t.TempDir(), "req.json")
	os.WriteFile(req, []byte(`{"input": ["Hello world!", "a"], "dimension": 8}`), 0o644)
	out, code := captureStdout(t, func() int { return runEmbed([]string{"-model", dir, "-f", req}) })
	if code != 0 {
		if strings.Contains(out, "tokenizer.json support not available") {
			t.Skip("tokenizer not wired yet")
		}
		t.Fatalf("exit %d: %s", code, out)
	}
	var resp struct {
		Usage struct {
			TokenCount int `json:"token_count"`
		} `json:"usage"`
		Result struct {
			Embeddings []struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			} `json:"embeddings"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Result.Embeddings) != 2 || len(resp.Result.Embeddings[1].Embedding) != 8 || resp.Result.Embeddings[1].Index != 1 || resp.Usage.TokenCount != 8 {
		t.Errorf("response %s", out)
	}
	// An invalid request answers the service's error object, exit 1.
	os.WriteFile(req, []byte(`{"input": []}`), 0o644)
	out, code = captureStdout(t, func() int { return runEmbed([]string{"-model", dir, "-f", req}) })
	if code != 1 || !strings.Contains(out, `"code":"InvalidParameter"`) {
		t.Errorf("exit %d: %s", code, out)
	}
}

// TestBenchKinds runs airvec bench on a reranker, a sparse encoder and an
// image model: the kind comes from the directory, the JSON line carries it
// and the counts of the shape asked for.
func TestBenchKinds(t *testing.T) {
	for _, c := range []struct {
		fixture, kind string
		args          []string
		items         float64 // per call
	}{
		{"xlmr-mini-reranker", kindRanker, []string{"-batch", "4", "-seq", "40"}, 4},
		{"splade-mini", kindSparse, []string{"-batch", "3", "-seq", "20"}, 3},
		{"clip-mini", kindMultimodal, []string{"-batch", "2"}, 2},
	} {
		dir := testdata.Path(t, "models/"+c.fixture)
		args := append([]string{"-model", dir, "-threads", "1", "-runs", "3", "-warmup", "1", "-json"}, c.args...)
		out, code := captureStdout(t, func() int { return runBench(args) })
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.fixture, code, out)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
			t.Fatalf("%s: output %q: %v", c.fixture, out, err)
		}
		if r["kind"] != c.kind {
			t.Errorf("%s: kind %v, want %s", c.fixture, r["kind"], c.kind)
		}
		for _, k := range []string{"median_ms", "min_ms", "tokens_per_s", "items_per_s"} {
			if v, ok := r[k].(float64); !ok || v <= 0 {
				t.Errorf("%s: %s = %v", c.fixture, k, r[k])
			}
		}
		// items/s is items per call over the median time.
		if got := r["items_per_s"].(float64) * r["median_ms"].(float64) / 1000; got < c.items*0.999 || got > c.items*1.001 {
			t.Errorf("%s: items per call %.3f, want %g", c.fixture, got, c.items)
		}
		tokPerItem := r["tokens_per_s"].(float64) / r["items_per_s"].(float64)
		switch c.kind {
		case kindRanker, kindSparse:
			// Pairs/documents of about -seq tokens, never more.
			seq := r["seq"].(float64)
			if tokPerItem > seq+1e-9 || tokPerItem < seq*0.7 {
				t.Errorf("%s: %.1f tokens per item for -seq %g", c.fixture, tokPerItem, seq)
			}
		case kindMultimodal:
			// clip-mini: 224/32 → 7×7 patches + class token.
			if tokPerItem < 49.999 || tokPerItem > 50.001 || r["seq"] != 50.0 {
				t.Errorf("%s: %.2f vision tokens per image, seq %v; want 50", c.fixture, tokPerItem, r["seq"])
			}
		}
	}
	// -kind must be one the directory answers.
	if _, code := captureStdout(t, func() int {
		return runBench([]string{"-model", testdata.Path(t, "models/splade-mini"), "-kind", kindRanker, "-runs", "1"})
	}); code != 2 {
		t.Errorf("-kind ranker on a sparse model: exit %d, want 2", code)
	}
	// bge-m3-style directory: both kinds, -kind picks the sparse head.
	out, code := captureStdout(t, func() int {
		return runBench([]string{"-model", testdata.Path(t, "models/xlmr-mini-embed"), "-kind", kindSparse, "-batch", "2", "-seq", "16", "-runs", "1", "-warmup", "0", "-json"})
	})
	if code != 0 || !strings.Contains(out, `"kind":"`+kindSparse+`"`) {
		t.Errorf("xlmr-mini-embed -kind sparse: exit %d: %s", code, out)
	}
}
