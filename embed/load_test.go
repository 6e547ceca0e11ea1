package embed

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
)

// A repo id resolves through the local Hugging Face cache.
func TestLoadRepoID(t *testing.T) {
	src := testdata.Path(t, "models/bert-mini-embed")
	cache := t.TempDir()
	snap := filepath.Join(cache, "models--acme--mini", "snapshots", "0123abcd")
	if err := os.MkdirAll(filepath.Join(snap, "1_Pooling"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(cache, "models--acme--mini", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--acme--mini", "refs", "main"), []byte("0123abcd"), 0o644)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(snap, f)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HF_HUB_CACHE", cache)
	m, err := Load("acme/mini")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Pooling() != PoolMean || !m.Normalized() || m.Dimension() != 32 || m.MaxTokens() != 512 {
		t.Errorf("pooling %v normalize %v dim %d max %d", m.Pooling(), m.Normalized(), m.Dimension(), m.MaxTokens())
	}
	if _, err := m.EmbedTexts(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.EmbedTexts(context.Background(), "hello"); err == nil {
		t.Error("Embed after Close succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	src := testdata.Path(t, "models/bert-mini-embed")
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.HasPrefix(err.Error(), "embed: ") {
		t.Errorf("missing dir: %v", err)
	}
	dir := t.TempDir()
	os.Symlink(filepath.Join(src, "model.safetensors"), filepath.Join(dir, "model.safetensors"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "t5"}`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "t5") {
		t.Errorf("unsupported model_type: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "bert", "vocab_size": 30522, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 96}`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "word_embeddings") {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := Load(src, WithThreads(-1)); err == nil {
		t.Error("negative threads accepted")
	}
}

// Loading the same checkpoint twice shares the trunk; closing one Model
// leaves the other working.
func TestSharedTrunk(t *testing.T) {
	dir := testdata.Path(t, "models/xlmr-mini-embed")
	a, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir, WithMaxTokens(16))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir, WithPrecision(kernels.BF16))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a.fam != b.fam || a.fam == c.fam {
		t.Errorf("trunk sharing: a==b %v, a==c %v", a.fam == b.fam, a.fam == c.fam)
	}
	want, err := a.EmbedTexts(context.Background(), "hello world")
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	got, err := b.EmbedTexts(context.Background(), "hello world")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := stats(got[0], want[0]); m != 0 {
		t.Errorf("after closing the first Model: max-abs %g", m)
	}
	b.Close()
}
