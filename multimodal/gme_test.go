package multimodal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

type gmeCase struct {
	Texts       []*string `json:"texts"`
	Images      []*string `json:"images"`
	IsQuery     bool      `json:"is_query"`
	Instruction *string   `json:"instruction"`
	Grids       [][3]int  `json:"image_grid_thw"`
	Encodings   []struct {
		IDs []int `json:"ids"`
	} `json:"encodings"`
}

type gmeManifest struct {
	ModelDir string             `json:"model_dir"`
	Cases    map[string]gmeCase `json:"cases"`
}

var gmeCases = []string{"text_doc", "text_query", "image", "fused"}

func readGME(t *testing.T) (gmeManifest, *weights.File, string) {
	t.Helper()
	root := testdata.Dir(t)
	b, err := os.ReadFile(filepath.Join(root, "golden", "gme-mini.json"))
	if err != nil {
		t.Skip(err)
	}
	var m gmeManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g, err := weights.Open(filepath.Join(root, "golden", "gme-mini.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return m, g, root
}

// request builds the service request of a case (images as file paths) and
// the model to run it with (the instruction applied for queries).
func gmeRequest(t *testing.T, m *Model, c gmeCase, root string) (*Model, *Request) {
	t.Helper()
	req := &Request{}
	for i := range max(len(c.Texts), len(c.Images)) {
		var in Input
		if i < len(c.Texts) && c.Texts[i] != nil {
			in.Text = *c.Texts[i]
		}
		if i < len(c.Images) && c.Images[i] != nil {
			in.Image = filepath.Join(root, "images", *c.Images[i])
		}
		req.Input = append(req.Input, in)
	}
	if c.IsQuery && c.Instruction != nil {
		q, err := m.WithInstruction(*c.Instruction)
		if err != nil {
			t.Fatal(err)
		}
		return q, req
	}
	return m, req
}

func TestGMEGolden(t *testing.T) {
	man, g, root := readGME(t)
	dir := filepath.Join(root, man.ModelDir)
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		m, err := Load(dir, WithPrecision(prec))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.Kind() != "gme" || !m.Fuses() || m.Dim() != 64 {
			t.Fatalf("kind %q fuses %v dim %d", m.Kind(), m.Fuses(), m.Dim())
		}
		minCos := 0.99999
		if prec == kernels.BF16 {
			minCos = 0.999
		}
		for _, name := range gmeCases {
			c := man.Cases[name]
			mq, req := gmeRequest(t, m, c, root)
			gb := mq.b.(*gmeBackend)
			// input_ids and image_grid_thw, exact.
			for i, in := range req.Input {
				var img *imageproc.RGB
				if in.Image != "" {
					if img, err = mq.loadImage(context.Background(), i, in.Image); err != nil {
						t.Fatal(err)
					}
				}
				s, err := gb.prepare(i, fusedItem{Text: in.Text, Image: img})
				if err != nil {
					t.Fatal(err)
				}
				if !equalInts(s.in.IDs, c.Encodings[i].IDs) {
					t.Errorf("%s[%d]: ids %v\nwant %v", name, i, s.in.IDs, c.Encodings[i].IDs)
				}
				if img != nil && s.in.Grids[0] != c.Grids[i] {
					t.Errorf("%s[%d]: grid %v, want %v", name, i, s.in.Grids[0], c.Grids[i])
				}
			}
			resp, err := mq.Embed(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := g.Float32(name + ".embeddings")
			if err != nil {
				t.Fatal(err)
			}
			H := m.Dim()
			nImg, nTok := 0, 0
			for i, e := range resp.Result.Embeddings {
				if e.Index != i {
					t.Errorf("%s: index %d at %d", name, e.Index, i)
				}
				ma, cs := vecDiff(e.Embedding, want[i*H:(i+1)*H])
				t.Logf("%s %s[%d]: max-abs %.3g cosine %.9f", prec, name, i, ma, cs)
				if cs < minCos {
					t.Errorf("%s %s[%d]: cosine %.9f < %v", prec, name, i, cs, minCos)
				}
				if req.Input[i].Image != "" {
					nImg++
				}
				nTok += len(c.Encodings[i].IDs)
			}
			// usage: images counted; tokens = the prompts' tokens without
			// the image placeholder copies.
			for i := range c.Grids {
				nTok -= c.Grids[i][0] * c.Grids[i][1] * c.Grids[i][2] / 4
			}
			if resp.Usage.Image != nImg || resp.Usage.TokenCount != nTok {
				t.Errorf("%s: usage %+v, want image %d token_count %d", name, resp.Usage, nImg, nTok)
			}
			// Each entry alone gives the same vector as in the batch.
			for i := range req.Input {
				one, err := mq.Embed(context.Background(), &Request{Input: req.Input[i : i+1]})
				if err != nil {
					t.Fatal(err)
				}
				if ma, _ := vecDiff(one.Result.Embeddings[0].Embedding, resp.Result.Embeddings[i].Embedding); ma > 1e-5 {
					t.Errorf("%s %s[%d]: single vs batch max-abs %g", prec, name, i, ma)
				}
			}
		}
	}
}

// TestGMETextImageAPIs checks EmbedTexts / EmbedImages (the non-fused entry
// points) against the golden text_doc and image vectors.
func TestGMETextImageAPIs(t *testing.T) {
	man, g, root := readGME(t)
	m, err := Load(filepath.Join(root, man.ModelDir))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	H := m.Dim()
	var texts []string
	for _, s := range man.Cases["text_doc"].Texts {
		texts = append(texts, *s)
	}
	te, err := m.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.Float32("text_doc.embeddings")
	for i := range te {
		if _, cs := vecDiff(te[i], want[i*H:(i+1)*H]); cs < 0.99999 {
			t.Errorf("text %d: cosine %v", i, cs)
		}
	}
	var imgs []string
	for _, s := range man.Cases["image"].Images {
		imgs = append(imgs, filepath.Join(root, "images", *s))
	}
	ie, err := m.EmbedImages(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = g.Float32("image.embeddings")
	for i := range ie {
		if _, cs := vecDiff(ie[i], want[i*H:(i+1)*H]); cs < 0.99999 {
			t.Errorf("image %d: cosine %v", i, cs)
		}
	}
}

func TestGMEErrors(t *testing.T) {
	man, _, root := readGME(t)
	m, err := Load(filepath.Join(root, man.ModelDir))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	for _, in := range []Input{
		{Text: "look: <|image_pad|>"},
		{Text: "<|video_pad|>", Image: filepath.Join(root, "images", "tiny_17x9.png")},
		{Image: "data:image/png;base64,AAAA"},
	} {
		_, err := m.Embed(ctx, &Request{Input: []Input{{Text: "ok"}, in}})
		var e *Error
		if !errors.As(err, &e) || e.Code != InvalidParameter {
			t.Errorf("%+v: err %v, want InvalidParameter", in, err)
		} else {
			t.Logf("%v", err)
		}
	}
	// An image that does not fit max_length is refused, not truncated.
	gb := m.b.(*gmeBackend)
	small := *gb
	small.maxLen = 20
	img, err := m.loadImage(ctx, 0, filepath.Join(root, "images", "gradient_640x480.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := small.embedFused(ctx, nil, []fusedItem{{Image: img}}); err == nil {
		t.Error("image cut by max_length accepted")
	}
	// Text is truncated to max_length (right), as the processor does.
	if _, n, err := small.embedFused(ctx, nil, []fusedItem{{Text: "a long text that is longer than twenty tokens once the prompt is around it"}}); err != nil || n != 20 {
		t.Errorf("truncated text: tokens %d err %v", n, err)
	}
	if _, err := (&Model{b: &clipBackend{kind: "clip"}}).WithInstruction("x"); err == nil {
		t.Error("instruction accepted by a CLIP model")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Embed(cctx, &Request{Input: []Input{{Text: "x"}}}); err == nil {
		t.Error("canceled context: no error")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// vecDiff returns the max-abs difference and the cosine of a and b.
func vecDiff(a, b []float32) (maxAbs, cos float64) {
	var dot, na, nb float64
	for i := range a {
		maxAbs = max(maxAbs, math.Abs(float64(a[i])-float64(b[i])))
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return maxAbs, dot / math.Sqrt(na*nb)
}

// TestGMEConcurrent runs requests from several goroutines on one Model
// (with a second Model from WithInstruction sharing its weights) and
// checks every answer against the serial one.
func TestGMEConcurrent(t *testing.T) {
	man, _, root := readGME(t)
	m, err := Load(filepath.Join(root, man.ModelDir), WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q, err := m.WithInstruction("Find an image that matches the given text.")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := &Request{Input: []Input{
		{Text: "a photo of a cat"},
		{Image: filepath.Join(root, "images", "tiny_17x9.png")},
		{Text: "red circle", Image: filepath.Join(root, "images", "gray_300x200.png")},
	}}
	models := []*Model{m, q}
	want := make([]*Response, 2)
	for i, mm := range models {
		if want[i], err = mm.Embed(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, cs := vecDiff(want[0].Result.Embeddings[0].Embedding, want[1].Result.Embeddings[0].Embedding); cs > 0.9999 {
		t.Errorf("instruction did not change the text embedding (cosine %v)", cs)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			resp, err := models[g%2].Embed(ctx, req)
			if err != nil {
				errs <- err
				return
			}
			for i, e := range resp.Result.Embeddings {
				if ma, _ := vecDiff(e.Embedding, want[g%2].Result.Embeddings[i].Embedding); ma > 1e-6 {
					errs <- fmt.Errorf("goroutine %d entry %d: max-abs %g", g, i, ma)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
