package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airvec/airvec/internal/testdata"
)

func inspectJSON(t *testing.T, arg string) (*inspectReport, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runInspect([]string{arg, "-json"}, &out, &errb)
	if code != 0 {
		return nil, code, out.String()
	}
	var r inspectReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("inspect -json output is not JSON: %v\n%s", err, out.String())
	}
	return &r, 0, out.String()
}

func TestInspectModels(t *testing.T) {
	root := testdata.Path(t, "models")
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dir := filepath.Join(root, e.Name())
			r, code, out := inspectJSON(t, dir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			if r.Weights == nil || len(r.Weights.Files) == 0 {
				t.Fatal("no weights reported")
			}
			if r.Weights.Readable && (r.Weights.Tensors == 0 || r.Weights.Parameters == 0 || len(r.Weights.DTypes) == 0) {
				t.Errorf("weights %+v", r.Weights)
			}
			if r.Tokenizer == nil || r.Tokenizer.Kind == "" || r.Tokenizer.Kind == "unknown" {
				t.Errorf("tokenizer %+v", r.Tokenizer)
			}
			if r.ConfigFile == "config.json" && (r.Architecture == "" || r.ModelType == "") {
				t.Errorf("architecture %q model_type %q", r.Architecture, r.ModelType)
			}
			if r.Dims == nil {
				t.Error("no dims")
			}
			// The text form works too.
			var txt, errb bytes.Buffer
			if code := runInspect([]string{dir}, &txt, &errb); code != 0 || !strings.Contains(txt.String(), "weights") {
				t.Errorf("text output (exit %d): %s %s", code, txt.String(), errb.String())
			}
		})
	}
}

func TestInspectDetails(t *testing.T) {
	r, code, out := inspectJSON(t, testdata.Path(t, "models/bert-mini-embed"))
	if code != 0 {
		t.Fatal(out)
	}
	// BertModel parameters from its config: embeddings (word, position,
	// token type, LayerNorm), per layer (Q, K, V, O, LN, FFN in/out, LN),
	// pooler.
	h, i, L, V, P, T := 32, 96, 2, 30522, 512, 2
	want := V*h + P*h + T*h + 2*h + L*(4*(h*h+h)+2*h+(h*i+i)+(i*h+h)+2*h) + (h*h + h)
	if r.Weights.Parameters != int64(want) || r.Weights.DTypes["F32"].Tensors != r.Weights.Tensors {
		t.Errorf("parameters %d, want %d; dtypes %v", r.Weights.Parameters, want, r.Weights.DTypes)
	}
	if r.Dims.Hidden != h || r.Dims.Layers != L || r.Dims.Heads != 4 || r.Dims.Vocab != V || r.Dims.MaxPositions != P {
		t.Errorf("dims %+v", r.Dims)
	}
	if r.Tokenizer.Kind != "WordPiece" || r.Pooling == nil || strings.Join(r.Pooling.Modes, ",") != "mean" || !r.Pooling.Normalize {
		t.Errorf("tokenizer %+v pooling %+v", r.Tokenizer, r.Pooling)
	}

	r, _, _ = inspectJSON(t, testdata.Path(t, "models/qwen3-mini-embed"))
	if r.Weights.DTypes["BF16"].Tensors != r.Weights.Tensors || r.Tokenizer.Kind != "BPE" || r.Tokenizer.Note != "byte-level" || r.Pooling.Modes[0] != "lasttoken" || r.Pooling.Prompts[0] != "query" {
		t.Errorf("qwen3 %+v %+v %+v", r.Weights, r.Tokenizer, r.Pooling)
	}
	r, _, _ = inspectJSON(t, testdata.Path(t, "models/m2-mini"))
	if r.ConfigFile != "Encoder_mini.json" || r.Dims.Hidden != 32 || r.Dims.Layers != 2 || r.Tokenizer.Kind != "SentencePiece" {
		t.Errorf("m2 %+v %+v %+v", r.ConfigFile, r.Dims, r.Tokenizer)
	}
	r, _, _ = inspectJSON(t, testdata.Path(t, "models/xlmr-mini-embed"))
	if strings.Join(r.Extras, ",") != "sparse_linear.safetensors" || r.Tokenizer.Kind != "Unigram" {
		t.Errorf("xlmr extras %v tokenizer %+v", r.Extras, r.Tokenizer)
	}
	r, _, _ = inspectJSON(t, testdata.Path(t, "bad/good.safetensors"))
	if r.Kind != "weights_file" || r.Weights.Tensors != 1 || r.Weights.Parameters != 4 || r.Weights.Metadata["format"] != "pt" {
		t.Errorf("good.safetensors %+v", r.Weights)
	}
}

// TestInspectErrors: every malformed fixture, a missing and an empty
// directory give the service error object and exit 1.
func TestInspectErrors(t *testing.T) {
	bad, _ := filepath.Glob(filepath.Join(testdata.Path(t, "bad"), "*.safetensors"))
	empty := t.TempDir()
	args := append(bad, filepath.Join(empty, "missing"), empty)
	for _, a := range args {
		if filepath.Base(a) == "good.safetensors" {
			continue
		}
		var out, errb bytes.Buffer
		code := runInspect([]string{a}, &out, &errb)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", a, code)
			continue
		}
		var body struct {
			RequestID *string `json:"request_id"`
			Latency   *int    `json:"latency"`
			Code      string  `json:"code"`
			Message   string  `json:"message"`
		}
		if err := json.Unmarshal(out.Bytes(), &body); err != nil || body.RequestID == nil || body.Latency == nil || body.Code == "" {
			t.Errorf("%s: stdout is not the service error object: %q", a, out.String())
			continue
		}
		if !strings.HasPrefix(body.Message, "weights: ") || !strings.Contains(body.Message, a) {
			t.Errorf("%s: message %q does not name the file", a, body.Message)
		}
	}
	var out, errb bytes.Buffer
	if code := runInspect(nil, &out, &errb); code != 2 {
		t.Errorf("no args: exit %d, want 2", code)
	}
}

// TestInspectRepoID resolves a repo id in a fake Hugging Face cache whose
// snapshot links to the fixture files, as the real cache links to blobs.
func TestInspectRepoID(t *testing.T) {
	src := testdata.Path(t, "models/bert-mini-embed")
	hub := t.TempDir()
	repo := filepath.Join(hub, "models--sentence-transformers--all-MiniLM-L6-v2")
	snap := filepath.Join(repo, "snapshots", "0123abcd")
	if err := os.MkdirAll(filepath.Join(snap, "1_Pooling"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("0123abcd"), 0o644)
	files, _ := filepath.Glob(filepath.Join(src, "*"))
	files = append(files, filepath.Join(src, "1_Pooling", "config.json"))
	for _, f := range files {
		r, _ := filepath.Rel(src, f)
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			continue
		}
		if err := os.Symlink(f, filepath.Join(snap, r)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HF_HUB_CACHE", hub)
	r, code, out := inspectJSON(t, "sentence-transformers/all-MiniLM-L6-v2")
	if code != 0 {
		t.Fatal(out)
	}
	if r.Path != snap || r.Weights.Tensors != 39 || r.Pooling == nil || r.Pooling.Modes[0] != "mean" {
		t.Errorf("repo id: path %s, weights %+v, pooling %+v", r.Path, r.Weights, r.Pooling)
	}
	if _, code, out := inspectJSON(t, "sentence-transformers/not-there"); code != 1 || !strings.Contains(out, "Hugging Face cache") {
		t.Errorf("missing repo: exit %d %s", code, out)
	}
}
