package weights

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airvec/airvec/internal/testdata"
)

func TestOpenDirFixtures(t *testing.T) {
	root := testdata.Path(t, "models")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			d, err := OpenDir(filepath.Join(root, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !d.Tokenizer.Any() {
				t.Error("no tokenizer found")
			}
			wf := d.WeightFiles()
			if len(wf) == 0 {
				t.Fatal("no weight file found")
			}
			if wf[0].Readable {
				st, err := d.Weights()
				if err != nil {
					t.Fatal(err)
				}
				if len(st.Names()) == 0 {
					t.Error("no tensors")
				}
				st.Close()
			}
			if d.ConfigJSON != nil && d.Config.ModelType == "" {
				t.Error("config.json without model_type")
			}
		})
	}
}

func TestOpenDirDetails(t *testing.T) {
	open := func(name string) *Dir {
		t.Helper()
		d, err := OpenDir(testdata.Path(t, "models/"+name))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open("bert-mini-embed")
	if d.Config.Architecture() != "BertModel" || d.Config.HiddenSize != 32 || d.Config.NumHiddenLayers != 2 || d.Config.VocabSize != 30522 || d.Config.TorchDType != "float32" {
		t.Errorf("bert config %+v", d.Config)
	}
	if d.ST == nil || d.ST.Pooling == nil || !slices.Equal(d.ST.Pooling.Modes(), []string{"mean"}) || !d.ST.Normalize || d.ST.MaxSeqLength != 512 || !d.ST.Pooling.IncludePrompt {
		t.Errorf("bert ST %+v", d.ST)
	}
	if filepath.Base(d.Tokenizer.JSON) != "tokenizer.json" || filepath.Base(d.Tokenizer.Vocab) != "vocab.txt" {
		t.Errorf("bert tokenizer %+v", d.Tokenizer)
	}

	d = open("bert-zh-mini-embed")
	if d.ST.Prompts["query"] == "" || d.ST.DefaultPromptName != "" || !slices.Equal(d.ST.Pooling.Modes(), []string{"cls"}) || d.ST.SimilarityFn != "cosine" {
		t.Errorf("bert-zh ST %+v", d.ST)
	}

	d = open("qwen3-mini-embed")
	if d.Config.TorchDType != "bfloat16" || !slices.Equal(d.ST.Pooling.Modes(), []string{"lasttoken"}) || d.Config.NumKeyValueHeads != 2 || d.Config.HeadDim != 16 {
		t.Errorf("qwen3 %+v %+v", d.Config, d.ST.Pooling)
	}
	st, err := d.Weights()
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Info("embed_tokens.weight"); info.DType != BF16 {
		t.Errorf("qwen3 embed dtype %v", info.DType)
	}
	st.Close()

	d = open("xlmr-mini-embed")
	if !d.Has("sparse_linear.safetensors") || len(d.WeightFiles()) != 1 {
		t.Errorf("xlmr extra head / weight files %v", d.WeightFiles())
	}
	sl, err := d.OpenStore("sparse_linear.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := sl.Info("weight"); !ok || !equalShape(info.Shape, []int{1, 32}) {
		t.Errorf("sparse_linear weight %v", info)
	}
	sl.Close()
	if _, err := d.OpenStore("nope.safetensors"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenStore(nope): %v", err)
	}
	if !d.Has("1_Pooling/config.json") || d.Has("nope.json") {
		t.Error("Has")
	}
	if d.ST.Normalize != true {
		t.Error("xlmr normalize")
	}

	d = open("splade-mini")
	if !d.Has("idf.json") || d.ST != nil || d.Config.Architecture() != "BertForMaskedLM" {
		t.Errorf("splade %v %+v", d.Files(), d.ST)
	}

	d = open("clip-mini")
	if d.PreprocessorJSON == nil || d.Config.TextConfig == nil || d.Config.VisionConfig.HiddenSize != 32 || d.Config.ProjectionDim != 32 || d.Tokenizer.Merges == "" {
		t.Errorf("clip %+v", d.Config)
	}

	d = open("m2-mini")
	if d.ConfigJSON != nil || !slices.Equal(d.JSONFiles(), []string{"Encoder_mini.json"}) {
		t.Errorf("m2 json files %v", d.JSONFiles())
	}
	if filepath.Base(d.Tokenizer.SentencePiece) != "sp.model" || !strings.HasSuffix(d.Tokenizer.Config, "tokenizer/tokenizer_config.json") {
		t.Errorf("m2 tokenizer %+v", d.Tokenizer)
	}
	if wf := d.WeightFiles(); len(wf) != 1 || filepath.Base(wf[0].Path) != "m2_encoder_mini.ckpt" {
		t.Errorf("m2 weight files %+v", wf)
	}
}

func TestOpenDirErrors(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("HF_HUB_CACHE", filepath.Join(tmp, "hub"))
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	file := filepath.Join(tmp, "file.safetensors")
	os.WriteFile(file, []byte("x"), 0o644)
	badcfg := filepath.Join(tmp, "badcfg")
	os.Mkdir(badcfg, 0o755)
	os.WriteFile(filepath.Join(badcfg, "config.json"), []byte("{nope"), 0o644)
	for _, tc := range []struct {
		arg  string
		kind error
		want string
	}{
		{filepath.Join(tmp, "missing"), ErrNotFound, "no such model directory"},
		{empty, ErrNoModel, "no config.json, weights or tokenizer"},
		{file, ErrNoModel, "is a file"},
		{badcfg, ErrCorrupt, "config.json: invalid JSON"},
		{"BAAI/not-cached", ErrNotFound, "Hugging Face cache"},
	} {
		_, err := OpenDir(tc.arg)
		if err == nil || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenDir(%s) = %v, want %v %q", tc.arg, err, tc.kind, tc.want)
		}
	}
	// A directory with only a config has no weights: Weights says so.
	d, err := OpenDir(badcfg + "/../badcfg")
	_ = d
	if err == nil {
		t.Error("bad config opened")
	}
	ok := filepath.Join(tmp, "cfgonly")
	os.Mkdir(ok, 0o755)
	os.WriteFile(filepath.Join(ok, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
	if d, err = OpenDir(ok); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Weights(); !errors.Is(err, ErrNotFound) {
		t.Errorf("Weights of a config-only dir: %v", err)
	}
}

func TestHFCache(t *testing.T) {
	hub := t.TempDir()
	repo := filepath.Join(hub, "models--BAAI--bge-small-en-v1.5")
	mk := func(rev string, mod time.Time) string {
		d := filepath.Join(repo, "snapshots", rev)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "config.json"), []byte(`{"model_type":"bert","hidden_size":`+map[string]string{"aaa": "1", "bbb": "2", "ccc": "3"}[rev]+`}`), 0o644)
		os.Chtimes(d, mod, mod)
		return d
	}
	now := time.Now()
	mk("aaa", now.Add(-time.Hour))
	mk("ccc", now)
	mk("bbb", now.Add(-2*time.Hour))
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", filepath.Dir(hub)) // HF_HOME/hub must be hub: rename
	home := t.TempDir()
	if err := os.Rename(hub, filepath.Join(home, "hub")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HOME", home)
	hidden := func(id string) int {
		t.Helper()
		d, err := OpenDir(id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Config.HiddenSize
	}
	if got := hidden("BAAI/bge-small-en-v1.5"); got != 3 {
		t.Errorf("no refs/main: snapshot %d, want the newest (3)", got)
	}
	refs := filepath.Join(home, "hub", "models--BAAI--bge-small-en-v1.5", "refs")
	os.MkdirAll(refs, 0o755)
	os.WriteFile(filepath.Join(refs, "main"), []byte("aaa\n"), 0o644)
	os.WriteFile(filepath.Join(refs, "v2"), []byte("bbb"), 0o644)
	if got := hidden("BAAI/bge-small-en-v1.5"); got != 1 {
		t.Errorf("refs/main: snapshot %d, want 1", got)
	}
	if got := hidden("BAAI/bge-small-en-v1.5@v2"); got != 2 {
		t.Errorf("@v2: snapshot %d, want 2", got)
	}
	if got := hidden("BAAI/bge-small-en-v1.5@ccc"); got != 3 {
		t.Errorf("@ccc: snapshot %d, want 3", got)
	}
	if _, err := OpenDir("BAAI/bge-small-en-v1.5@nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("@nope: %v", err)
	}
	t.Setenv("HF_HUB_CACHE", filepath.Join(home, "hub"))
	t.Setenv("HF_HOME", "/nonexistent")
	if got := hidden("BAAI/bge-small-en-v1.5"); got != 1 {
		t.Errorf("HF_HUB_CACHE: snapshot %d, want 1", got)
	}
	for _, s := range []string{"./a/b", "/a/b", "a", "a/b/c", "../x", "~/x", `C:\x`} {
		if LooksLikeRepoID(s) {
			t.Errorf("LooksLikeRepoID(%q)", s)
		}
	}
}

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), []WriteTensor{F32Tensor("a.weight", []int{2}, []float32{1, 2})}, nil)
	WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []WriteTensor{BF16Tensor("b.weight", []int{1}, []float32{3})}, nil)
	index := func(wm map[string]string) {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 10}, "weight_map": wm})
		os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644)
	}
	index(map[string]string{"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"})
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"x"}`), 0o644)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Weights()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*Sharded); !ok || !slices.Equal(st.Names(), []string{"a.weight", "b.weight"}) {
		t.Fatalf("store %T %v", st, st.Names())
	}
	s := NewScope(st)
	if v, err := s.Tensor("b.weight", 1); err != nil || v[0] != 3 {
		t.Errorf("b.weight = %v, %v", v, err)
	}
	if v, err := s.BF16("b.weight", 1); err != nil || v[0] != 0x4040 {
		t.Errorf("bf16 b.weight = %v, %v", v, err)
	}
	if u := s.Unused(); !slices.Equal(u, []string{"a.weight"}) {
		t.Errorf("unused %v", u)
	}
	st.Close()
	for _, tc := range []struct {
		wm   map[string]string
		want string
	}{
		{map[string]string{"a.weight": "model-00002-of-00002.safetensors"}, "does not hold it"},
		{map[string]string{"a.weight": "../x.safetensors"}, "not a file name inside"},
		{map[string]string{"a.weight": "missing.safetensors"}, "no such file"},
		{map[string]string{}, "empty weight_map"},
	} {
		index(tc.wm)
		if _, err := OpenSharded(filepath.Join(dir, IndexFile)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.wm, err, tc.want)
		}
	}
}
