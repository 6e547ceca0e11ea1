package main

import (
	"encoding/json"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

func TestSparseCLI(t *testing.T) {
	dir := testdata.Path(t, "models/splade-mini")
	req := writeRequest(t, `{"input":["what is splade?"],"input_type":"query","return_token":true}`)
	out, code := captureStdout(t, func() int { return runSparse([]string{"-model", dir, "-f", req}) })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var resp struct {
		Usage struct {
			TokenCount int `json:"token_count"`
		} `json:"usage"`
		Result struct {
			SparseEmbeddings []struct {
				Index     int `json:"index"`
				Embedding []struct {
					TokenID int     `json:"token_id"`
					Weight  float64 `json:"weight"`
					Token   string  `json:"token"`
				} `json:"embedding"`
			} `json:"sparse_embeddings"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// The manifest's inference-free query: 8 tokens, 6 weighted ids, the
	// largest "##lad" (27266).
	if resp.Usage.TokenCount != 8 || len(resp.Result.SparseEmbeddings) != 1 {
		t.Fatalf("response %s", out)
	}
	emb := resp.Result.SparseEmbeddings[0].Embedding
	if len(emb) != 6 || emb[0].TokenID != 27266 || emb[0].Token != "##lad" {
		t.Fatalf("embedding %s", out)
	}

	bad := writeRequest(t, `{"input":[]}`)
	out, code = captureStdout(t, func() int { return runSparse([]string{"-model", dir, "-f", bad}) })
	var e struct{ Code, Message string }
	if code == 0 || json.Unmarshal([]byte(out), &e) != nil || e.Code != "InvalidParameter" {
		t.Fatalf("empty input: exit %d, %s", code, out)
	}
}
