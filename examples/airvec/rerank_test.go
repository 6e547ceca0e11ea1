package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

// writeRequest writes body to a temp file and returns its path.
func writeRequest(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRerankCLI(t *testing.T) {
	dir := testdata.Path(t, "models/bert-mini-cross-encoder")
	req := writeRequest(t, `{"query":"what is the capital of france","docs":["The quick brown fox jumps over the lazy dog.","Paris is the capital and most populous city of France."],"return_documents":true}`)
	out, code := captureStdout(t, func() int { return runRerank([]string{"-model", dir, "-f", req}) })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var resp struct {
		RequestID string `json:"request_id"`
		Usage     struct {
			DocCount int `json:"doc_count"`
		} `json:"usage"`
		Result struct {
			Scores []struct {
				Index    int     `json:"index"`
				Score    float64 `json:"score"`
				Document string  `json:"document"`
			} `json:"scores"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if resp.RequestID == "" || resp.Usage.DocCount != 2 || len(resp.Result.Scores) != 2 ||
		resp.Result.Scores[0].Score < resp.Result.Scores[1].Score || resp.Result.Scores[0].Document == "" {
		t.Fatalf("response %s", out)
	}

	// A request error comes back as the service's error object.
	bad := writeRequest(t, `{"query":"","docs":["a"]}`)
	out, code = captureStdout(t, func() int { return runRerank([]string{"-model", dir, "-f", bad}) })
	var e struct{ Code, Message string }
	if code == 0 || json.Unmarshal([]byte(out), &e) != nil || e.Code != "InvalidParameter" {
		t.Fatalf("empty query: exit %d, %s", code, out)
	}
	if code := runRerank([]string{"-f", bad}); code != 2 {
		t.Errorf("missing -model: exit %d, want 2", code)
	}
}
