package multimodal

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/testdata"
)

func loadMini(t *testing.T, opts ...Option) (*Model, manifest, string) {
	t.Helper()
	man, _, root := readManifest(t, "clip-mini")
	m := loadWithGoldenTok(t, filepath.Join(root, man.ModelDir), man, opts...)
	t.Cleanup(func() { m.Close() })
	return m, man, root
}

func TestRequestErrors(t *testing.T) {
	m, man, root := loadMini(t, WithMaxPixels(100_000))
	img := filepath.Join(root, "images", "tiny_17x9.png")
	many := make([]Input, 33)
	for i := range many {
		many[i] = Input{Text: man.Texts[0]}
	}
	cases := []struct {
		name string
		req  *Request
		want string
	}{
		{"nil", nil, "input is empty"},
		{"empty", &Request{}, "input is empty"},
		{"too many", &Request{Input: many}, "33 input entries, at most 32"},
		{"blank entry", &Request{Input: []Input{{Text: man.Texts[0]}, {}}}, "input[1] has neither text nor image"},
		{"bad base64", &Request{Input: []Input{{Image: img}, {Image: "data:image/png;base64,@@@@"}}}, "input[1].image: invalid base64"},
		{"undecodable", &Request{Input: []Input{{Image: "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nbroken"))}}}, "input[0].image: cannot decode image"},
		{"unsupported", &Request{Input: []Input{{Image: base64.StdEncoding.EncodeToString([]byte("\x00\x00\x00\x18ftypavif\x00\x00\x00\x00"))}}}, "unsupported image format: avif"},
		{"oversize", &Request{Input: []Input{{Image: filepath.Join(root, "images", "gradient_640x480.png")}}}, "image too large: 640x480"},
		{"no fetcher", &Request{Input: []Input{{Image: "https://example.com/cat.jpg"}}}, "remote image URLs are disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Embed(context.Background(), c.req)
			var e *Error
			if !errors.As(err, &e) || e.Code != InvalidParameter || !strings.Contains(e.Message, c.want) {
				t.Fatalf("got %v, want InvalidParameter containing %q", err, c.want)
			}
			var body apierr.Body
			if json.Unmarshal(apierr.JSON("r", err), &body) != nil || body.Code != InvalidParameter {
				t.Errorf("service body %+v", body)
			}
		})
	}
	if _, err := ParseRequest([]byte(`{"input": [`)); err == nil {
		t.Error("bad JSON accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Embed(ctx, &Request{Input: []Input{{Image: img}}})
	var e *Error
	if !errors.As(err, &e) || e.Code != Canceled {
		t.Errorf("canceled context: %v", err)
	}
}

func TestTextWinsAndFetcher(t *testing.T) {
	man, _, root := readManifest(t, "clip-mini")
	img := filepath.Join(root, "images", "tiny_17x9.png")
	var fetched []string
	var mu sync.Mutex
	m := loadWithGoldenTok(t, filepath.Join(root, man.ModelDir), man, WithFetcher(func(_ context.Context, u string) ([]byte, error) {
		mu.Lock()
		fetched = append(fetched, u)
		mu.Unlock()
		return readFileT(t, img), nil
	}))
	defer m.Close()
	if m.Fuses() || m.Kind() != "clip" || m.Dim() != 32 {
		t.Errorf("kind %s dim %d fuses %v", m.Kind(), m.Dim(), m.Fuses())
	}
	resp, err := m.Embed(context.Background(), &Request{Input: []Input{
		{Text: man.Texts[0], Image: img}, {Text: man.Texts[0]}, {Image: "https://example.com/a.png"}, {Image: img},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := resp.Result.Embeddings
	if maxAbs(e[0].Embedding, e[1].Embedding) != 0 {
		t.Error("entry with text and image did not embed its text")
	}
	if maxAbs(e[2].Embedding, e[3].Embedding) != 0 || len(fetched) != 1 {
		t.Errorf("fetched image differs (fetched %v)", fetched)
	}
	if resp.Usage.Image != 2 || resp.Usage.TokenCount != 2*len(man.Encodings[0].IDs) {
		t.Errorf("usage %+v", resp.Usage)
	}
	b, _ := json.Marshal(resp)
	for _, k := range []string{`"request_id"`, `"latency"`, `"usage":{"image":2,"token_count":14}`, `"result":{"embeddings":[{"index":0,"embedding":[`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("response JSON lacks %s: %.200s", k, b)
		}
	}
}

func readFileT(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Error(err)
	}
	return b
}

func TestZeroShot(t *testing.T) {
	m, man, root := loadMini(t)
	_, g, _ := readManifest(t, "clip-mini")
	logits, _ := g.Float32("logits_per_image")
	nt := len(man.Texts)
	p, err := m.ZeroShot(context.Background(), filepath.Join(root, "images", man.Images[0]), man.Texts)
	if err != nil {
		t.Fatal(err)
	}
	// softmax of the golden logits row 0
	row := logits[:nt]
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	var sum float64
	for k, v := range p {
		want := math.Exp(float64(row[k])-mx) / s
		sum += float64(v)
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Errorf("label %d: p %v, want %v", k, v, want)
		}
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("probabilities sum to %v", sum)
	}
	if _, err := m.ZeroShot(context.Background(), filepath.Join(root, "images", man.Images[0]), nil); err == nil {
		t.Error("no labels accepted")
	}
	if _, err := m.EmbedTexts(context.Background(), []string{""}); err == nil {
		t.Error("empty text accepted")
	}
}

// TestConcurrent runs requests from several goroutines (run with -race)
// and checks each gets the single-threaded answer.
func TestConcurrent(t *testing.T) {
	m, man, root := loadMini(t, WithThreads(2))
	req := &Request{Input: []Input{{Text: man.Texts[1]}, {Image: filepath.Join(root, "images", man.Images[3])}, {Text: man.Texts[3]}}}
	ref, err := m.Embed(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 3; it++ {
				r, err := m.Embed(context.Background(), req)
				if err != nil {
					t.Error(err)
					return
				}
				for i, e := range r.Result.Embeddings {
					if d := maxAbs(e.Embedding, ref.Result.Embeddings[i].Embedding); d > 1e-6 {
						t.Errorf("entry %d differs by %g", i, d)
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "multimodal: ") {
		t.Errorf("empty dir: %v", err)
	}
	other := testdata.Path(t, "models/bert-mini-embed")
	if _, err := Load(other); err == nil || !strings.Contains(err.Error(), "no supported model") {
		t.Errorf("text model dir: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing dir accepted")
	}
	for _, o := range []Option{WithThreads(-1), WithMaxPixels(0), WithMaxInputs(0), WithImageBatch(0), WithPrecision(7), WithEngine(nil), WithMaxImageBytes(-1)} {
		if _, err := Load(t.TempDir(), o); err == nil {
			t.Error("bad option accepted")
		}
	}
}

// TestImageChunks: chunked decoding and embedding (WithImageBatch) gives
// the same vectors as one batch, and errors name the request index.
func TestImageChunks(t *testing.T) {
	man, _, root := readManifest(t, "clip-mini")
	dir := filepath.Join(root, man.ModelDir)
	one := loadWithGoldenTok(t, dir, man)
	defer one.Close()
	small := loadWithGoldenTok(t, dir, man, WithImageBatch(2), WithThreads(2))
	defer small.Close()
	req := &Request{}
	for i, img := range man.Images {
		req.Input = append(req.Input, Input{Image: filepath.Join(root, "images", img)})
		if i == 3 {
			req.Input = append(req.Input, Input{Text: man.Texts[2]})
		}
	}
	a, err := one.Embed(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := small.Embed(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Usage != b.Usage || b.Usage.Image != len(man.Images) {
		t.Errorf("usage %+v vs %+v", a.Usage, b.Usage)
	}
	for i := range a.Result.Embeddings {
		if d := maxAbs(a.Result.Embeddings[i].Embedding, b.Result.Embeddings[i].Embedding); d > 1e-6 {
			t.Errorf("entry %d differs by %g", i, d)
		}
	}
	req.Input[7].Image = "data:image/png;base64,AAAA"
	_, err = small.Embed(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "input[7].image") {
		t.Errorf("error %v, want one naming input[7]", err)
	}
	embs, err := small.EmbedImages(context.Background(), []string{req.Input[0].Image, req.Input[1].Image, req.Input[2].Image})
	if err != nil || len(embs) != 3 || maxAbs(embs[2], a.Result.Embeddings[2].Embedding) > 1e-6 {
		t.Errorf("EmbedImages: %d, %v", len(embs), err)
	}
}
