package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

func TestMM(t *testing.T) {
	model := testdata.Path(t, "models/clip-mini")
	img := testdata.Path(t, "images/photo_q90_420.jpg")
	req := filepath.Join(t.TempDir(), "req.json")
	body := `{"input":[{"text":"a photo of a cat"},{"image":` + mmJSONString(img) + `}]}`
	if err := os.WriteFile(req, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := captureStdout(t, func() int { return runMM([]string{"-model", model, "-f", req, "-threads", "1"}) })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var resp struct {
		RequestID string `json:"request_id"`
		Usage     struct {
			Image      int `json:"image"`
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
	if resp.RequestID == "" || resp.Usage.Image != 1 || resp.Usage.TokenCount != 7 || len(resp.Result.Embeddings) != 2 || len(resp.Result.Embeddings[1].Embedding) != 32 {
		t.Errorf("response %s", out)
	}

	// Service error shape for a bad image.
	os.WriteFile(req, []byte(`{"input":[{"image":"data:image/png;base64,####"}]}`), 0o644)
	out, code = captureStdout(t, func() int { return runMM([]string{"-model", model, "-f", req}) })
	if code != 1 || !strings.Contains(out, `"code":"InvalidParameter"`) || !strings.Contains(out, "input[0].image") {
		t.Errorf("exit %d: %s", code, out)
	}

	// Zero-shot mode.
	out, code = captureStdout(t, func() int {
		return runMM([]string{"-model", model, "-image", img, "-labels", "a photo of a cat|a diagram"})
	})
	if code != 0 || !strings.Contains(out, `"probability"`) {
		t.Errorf("zero-shot exit %d: %s", code, out)
	}
}

func mmJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
