package multimodal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/beit3"
	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/tokenizer"
	"github.com/airvec/airvec/weights"
)

// M2-Encoder (ops-m2-encoder, ops-m2-encoder-large): a directory holding
// the M2 JSON config (configs/Encoder_*.json: beit3_vl_layers,
// tokenizer_type, model_file), the PyTorch checkpoint it names (or a
// model.safetensors converted from it) and the GLM sentencepiece model
// (tokenizer/sp.model). No config.json.
func init() {
	register(family{
		name:  "m2_encoder",
		match: func(c *dirConfig) bool { _, _, ok := findM2Config(c.Dir); return ok },
		load:  loadM2,
	})
}

// findM2Config returns the path and bytes of the directory's M2 config: a
// top-level JSON file with "beit3_vl_layers" or tokenizer_type
// "GLMChineseTokenizer" (Encoder_*.json names first).
func findM2Config(dir string) (string, []byte, bool) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.SliceStable(names, func(i, j int) bool {
		a := strings.HasPrefix(filepath.Base(names[i]), "Encoder_")
		b := strings.HasPrefix(filepath.Base(names[j]), "Encoder_")
		return a && !b
	})
	for _, p := range names {
		switch filepath.Base(p) {
		case "config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "special_tokens_map.json":
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 1<<20 {
			continue
		}
		var probe struct {
			VL            *int   `json:"beit3_vl_layers"`
			TokenizerType string `json:"tokenizer_type"`
		}
		if json.Unmarshal(b, &probe) == nil && (probe.VL != nil || probe.TokenizerType == "GLMChineseTokenizer") {
			return p, b, true
		}
	}
	return "", nil, false
}

// m2Backend runs beit3.Model with the GLM tokenizer and M2's square
// bicubic preprocessing.
type m2Backend struct {
	m     *beit3.Model
	tok   *tokenizer.GLM
	store weights.Store
	batch int
}

func (b *m2Backend) name() string        { return "m2_encoder" }
func (b *m2Backend) dim() int            { return b.m.Dim() }
func (b *m2Backend) logitScale() float32 { return b.m.LogitScale() }
func (b *m2Backend) Close() error        { return b.store.Close() }

func loadM2(dc *dirConfig, o *options) (backend, error) {
	cfgPath, raw, ok := findM2Config(dc.Dir)
	if !ok {
		return nil, fmt.Errorf("multimodal: %s: no M2 config (Encoder_*.json)", dc.Dir)
	}
	cfg, err := beit3.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("multimodal: %s: %w", cfgPath, err)
	}
	if cfg.TokenizerType != "" && cfg.TokenizerType != "GLMChineseTokenizer" {
		return nil, fmt.Errorf("multimodal: %s: tokenizer_type %q not supported (GLMChineseTokenizer only)", cfgPath, cfg.TokenizerType)
	}
	st, err := openM2Weights(dc.Dir, cfg.ModelFile)
	if err != nil {
		return nil, fmt.Errorf("multimodal: %w", err)
	}
	m, err := beit3.Load(weights.NewScope(st), cfg, o.prec)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	spPath := ""
	for _, c := range []string{filepath.Join("tokenizer", "sp.model"), "sp.model"} {
		if _, err := os.Stat(filepath.Join(dc.Dir, c)); err == nil {
			spPath = filepath.Join(dc.Dir, c)
			break
		}
	}
	if spPath == "" {
		st.Close()
		return nil, fmt.Errorf("multimodal: %s: no GLM sentencepiece model (tokenizer/sp.model)", dc.Dir)
	}
	tok, err := tokenizer.LoadGLM(spPath)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("multimodal: %w", err)
	}
	if tok.SP.Len() > cfg.VocabSize {
		st.Close()
		return nil, fmt.Errorf("multimodal: %s: tokenizer has %d pieces, the model's vocab_size is %d", dc.Dir, tok.SP.Len(), cfg.VocabSize)
	}
	return &m2Backend{m: m, tok: tok, store: st, batch: o.imageBatch}, nil
}

// openM2Weights prefers a converted model.safetensors, then the config's
// model_file, then any checkpoint weights.Dir recognises.
func openM2Weights(dir, modelFile string) (weights.Store, error) {
	if p := filepath.Join(dir, "model.safetensors"); fileExists(p) {
		return weights.Open(p)
	}
	if modelFile != "" && !strings.Contains(modelFile, "..") {
		if p := filepath.Join(dir, filepath.Base(modelFile)); fileExists(p) {
			return weights.OpenStore(p)
		}
	}
	d, err := weights.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return d.Weights()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func (b *m2Backend) embedTexts(ctx context.Context, e *kernels.Engine, texts []string) ([][]float32, int, error) {
	maxLen := b.m.Cfg.MaxTextLen
	ids := make([][]int, len(texts))
	total := 0
	for i, t := range texts {
		// [CLS] … <|endoftext|>, left-truncated to max_text_len; the
		// padding is added per batch below.
		enc := b.tok.Encode(t, true, 0)
		v := enc.IDs
		if len(v) > maxLen {
			v = append(append([]int{v[0]}, v[len(v)-maxLen+1:len(v)-1]...), v[len(v)-1])
		}
		ids[i] = v
		total += len(v)
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, c int) bool { return len(ids[order[a]]) > len(ids[order[c]]) })
	out := make([][]float32, len(texts))
	O := b.m.Dim()
	for lo := 0; lo < len(order); {
		// Padding is masked and rows are independent, so each batch is cut
		// to its longest sequence instead of max_text_len.
		L := len(ids[order[lo]])
		hi := lo + 1
		for hi < len(order) && (hi-lo+1)*L <= textBatchTokens {
			hi++
		}
		B := hi - lo
		flat := make([]int, B*L)
		mask := make([]float32, B*L)
		for r, i := range order[lo:hi] {
			for j := 0; j < L; j++ {
				if j < len(ids[i]) {
					flat[r*L+j], mask[r*L+j] = ids[i][j], 1
				} else {
					flat[r*L+j] = b.tok.PadID()
				}
			}
		}
		res, err := b.m.EncodeText(ctx, e, flat, mask, B, L)
		if err != nil {
			return nil, 0, apierr.From(err)
		}
		for r, i := range order[lo:hi] {
			out[i] = res.Embeddings[r*O : (r+1)*O : (r+1)*O]
		}
		lo = hi
	}
	return out, total, nil
}

// m2Pixels is M2's val transform: convert('RGB') (done by the decoder),
// torchvision Resize((S, S), BICUBIC) on the PIL image — aspect ratio not
// kept — ToTensor (/255) and inception_normalize ((x − 0.5)/0.5).
func m2Pixels(dst []float32, img *imageproc.RGB, size int) ([]float32, error) {
	r, err := imageproc.Resize(img, size, size, imageproc.Bicubic)
	if err != nil {
		return nil, err
	}
	half := [3]float32{0.5, 0.5, 0.5}
	return imageproc.ToCHWDiv(dst, r, half, half), nil
}

func (b *m2Backend) embedImages(ctx context.Context, e *kernels.Engine, imgs []*imageproc.RGB) ([][]float32, error) {
	S := b.m.Cfg.ImageSize
	per := 3 * S * S
	O := b.m.Dim()
	bs := max(b.batch, 1)
	out := make([][]float32, len(imgs))
	for lo := 0; lo < len(imgs); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(imgs))
		B := hi - lo
		pix := make([]float32, B*per)
		errs := make([]error, B)
		e.Parallel(B, func(a, z int) {
			for j := a; j < z; j++ {
				_, errs[j] = m2Pixels(pix[j*per:j*per:(j+1)*per], imgs[lo+j], S)
			}
		})
		for j, err := range errs {
			if err != nil {
				return nil, imageError(lo+j, err)
			}
		}
		res, err := b.m.EncodeImage(ctx, e, pix, B)
		if err != nil {
			return nil, apierr.From(err)
		}
		for j := 0; j < B; j++ {
			out[lo+j] = res.Embeddings[j*O : (j+1)*O : (j+1)*O]
		}
	}
	return out, nil
}
