package multimodal

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/bert"
	"github.com/airvec/airvec/internal/clip"
	"github.com/airvec/airvec/internal/encoder"
	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

func init() {
	register(family{
		name:  "clip",
		match: func(c *dirConfig) bool { return c.hasArch("CLIPModel") || c.ModelType == "clip" },
		load:  loadCLIP,
	})
	register(family{
		name:  "chinese_clip",
		match: func(c *dirConfig) bool { return c.hasArch("ChineseCLIPModel") || c.ModelType == "chinese_clip" },
		load:  loadChineseCLIP,
	})
}

// textTower embeds a padded batch into (B, P) unnormalised projections.
type textTower interface {
	embed(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error)
}

// clipBackend is CLIPModel and ChineseCLIPModel: a ViT vision tower with
// its processor, a text tower and its tokenizer, and logit_scale.
type clipBackend struct {
	kind   string
	vision *clip.Vision
	proc   *imageproc.Processor
	text   textTower
	tok    textEncoder
	maxLen int // longest token sequence (special tokens included)
	padID  int
	typeID bool // the text tower takes token type ids (BERT)
	scale  float32
	proj   int
	batch  int
	store  weights.Store
}

func (c *clipBackend) name() string        { return c.kind }
func (c *clipBackend) dim() int            { return c.proj }
func (c *clipBackend) logitScale() float32 { return c.scale }
func (c *clipBackend) Close() error        { return c.store.Close() }

// loadVisionSide reads what CLIP and Chinese-CLIP share: config, weights,
// vision tower, processor, logit_scale.
func loadVisionSide(dc *dirConfig, o *options, kind string) (*clipBackend, clip.Config, *weights.Scope, error) {
	cfg, err := clip.ParseConfig(dc.Raw)
	if err != nil {
		return nil, cfg, nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	d := dc.WDir
	st, err := d.Weights()
	if err != nil {
		return nil, cfg, nil, fmt.Errorf("multimodal: %w", err)
	}
	root := weights.NewScope(st)
	fail := func(err error) (*clipBackend, clip.Config, *weights.Scope, error) {
		st.Close()
		return nil, cfg, nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	v, err := clip.LoadVision(root, cfg.Vision, cfg.ProjectionDim, o.prec)
	if err != nil {
		return fail(err)
	}
	ls, err := root.Tensor("logit_scale")
	if err != nil || len(ls) != 1 {
		return fail(fmt.Errorf("logit_scale: %v", err))
	}
	var proc *imageproc.Processor
	if p, ok := d.File("preprocessor_config.json"); ok {
		if proc, err = imageproc.LoadProcessor(p); err != nil {
			return fail(err)
		}
	} else { // CLIPImageProcessor defaults at the tower's size
		proc, _ = imageproc.ParseProcessor([]byte("{}"))
		proc.Short, proc.CropW, proc.CropH = cfg.Vision.ImageSize, cfg.Vision.ImageSize, cfg.Vision.ImageSize
	}
	if w, h := proc.OutputSize(); w != cfg.Vision.ImageSize || h != cfg.Vision.ImageSize {
		return fail(fmt.Errorf("preprocessor_config.json gives %dx%d images, the vision tower takes %dx%d", w, h, cfg.Vision.ImageSize, cfg.Vision.ImageSize))
	}
	b := &clipBackend{kind: kind, vision: v, proc: proc, proj: cfg.ProjectionDim, batch: o.imageBatch, store: st,
		scale: float32(math.Exp(float64(ls[0])))}
	return b, cfg, root, nil
}

func loadCLIP(dc *dirConfig, o *options) (backend, error) {
	b, cfg, root, err := loadVisionSide(dc, o, "clip")
	if err != nil {
		return nil, err
	}
	t, err := clip.LoadText(root, cfg.Text, cfg.ProjectionDim, o.prec)
	if err != nil {
		b.store.Close()
		return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	b.text = clipText{t}
	b.maxLen = t.MaxPositions()
	if n := modelMaxLength(dc.Dir); n > 0 && n < b.maxLen {
		b.maxLen = n
	}
	// HF pads CLIP with <|endoftext|>; the pad id is masked anyway and, being
	// the EOS id, keeps the argmax pooling rule on the real EOS.
	b.padID = cfg.Text.EOSTokenID
	if cfg.Text.EOSTokenID == 2 {
		b.padID = 0
	}
	if err := b.finish(dc, root, slices.Concat(clip.VisionKnownUnused, clip.TextKnownUnused)); err != nil {
		return nil, err
	}
	return b, nil
}

type clipText struct{ t *clip.Text }

func (c clipText) embed(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	return c.t.Embed(ctx, e, b)
}

// chineseCLIPTextDefaults are ChineseCLIPTextConfig's defaults
// (configuration_chinese_clip.py).
var chineseCLIPTextDefaults = map[string]any{
	"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
	"intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512,
	"type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
	"position_embedding_type": "absolute",
}

func loadChineseCLIP(dc *dirConfig, o *options) (backend, error) {
	b, _, root, err := loadVisionSide(dc, o, "chinese_clip")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (backend, error) {
		b.store.Close()
		return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	var top struct {
		Text map[string]any `json:"text_config"`
	}
	if err := json.Unmarshal(dc.Raw, &top); err != nil {
		return fail(err)
	}
	merged := map[string]any{}
	for k, v := range chineseCLIPTextDefaults {
		merged[k] = v
	}
	for k, v := range top.Text {
		merged[k] = v
	}
	raw, _ := json.Marshal(merged)
	tcfg, err := bert.ParseConfig(raw)
	if err != nil {
		return fail(err)
	}
	bm, err := bert.Load(root.Sub("text_model"), tcfg, o.prec)
	if err != nil {
		return fail(err)
	}
	H := tcfg.HiddenSize
	w, err := root.Tensor("text_projection.weight", b.proj, H)
	if err != nil {
		return fail(err)
	}
	b.text = &bertText{m: bm, proj: kernels.Pack(w, b.proj, H, o.prec)}
	b.typeID = true
	b.maxLen = bm.MaxPositions()
	if n := modelMaxLength(dc.Dir); n > 0 && n < b.maxLen {
		b.maxLen = n
	}
	b.padID = tcfg.PadTokenID
	known := slices.Concat(clip.VisionKnownUnused, []string{"text_model.embeddings.position_ids", "text_model.embeddings.token_type_ids"})
	for _, n := range bert.KnownUnused {
		known = append(known, "text_model."+n)
	}
	if err := b.finish(dc, root, known); err != nil {
		return nil, err
	}
	return b, nil
}

// bertText is ChineseCLIPTextModel + text_projection: CLS pooling.
type bertText struct {
	m    *bert.Model
	proj *kernels.Packed
}

func (t *bertText) embed(ctx context.Context, e *kernels.Engine, b *encoder.Batch) ([]float32, error) {
	hidden, err := t.m.Forward(ctx, e, b)
	if err != nil {
		return nil, err
	}
	H := t.m.Hidden()
	cls := make([]float32, b.B*H) // (B, H): last_hidden_state[:, 0]
	for r := 0; r < b.B; r++ {
		copy(cls[r*H:(r+1)*H], hidden[r*b.L*H:])
	}
	out := make([]float32, b.B*t.proj.N)
	e.MatMul(out, cls, b.B, t.proj, nil, kernels.ActNone)
	return out, nil
}

// finish loads the tokenizer and checks that every tensor was used.
func (b *clipBackend) finish(dc *dirConfig, root *weights.Scope, known []string) error {
	var unexpected []string
	for _, n := range root.Unused() {
		if !slices.Contains(known, n) && !strings.HasPrefix(n, "text_model.pooler.") {
			unexpected = append(unexpected, n)
		}
	}
	if len(unexpected) > 0 {
		b.store.Close()
		return fmt.Errorf("multimodal: %s: unexpected tensors %v", dc.Dir, unexpected)
	}
	tok, err := loadTokenizer(filepath.Join(dc.Dir, "tokenizer.json"))
	if err != nil {
		b.store.Close()
		return fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	b.tok = tok
	return nil
}

// textBatchTokens bounds a text forward pass (batch × padded length).
const textBatchTokens = 8192

func (c *clipBackend) embedTexts(ctx context.Context, e *kernels.Engine, texts []string) ([][]float32, int, error) {
	ids := make([][]int, len(texts))
	total := 0
	for i, t := range texts {
		v, err := c.tok.encode(t, c.maxLen)
		if err != nil {
			return nil, 0, apierr.Invalid("multimodal: texts[%d]: %v", i, err)
		}
		if len(v) == 0 {
			return nil, 0, apierr.Invalid("multimodal: texts[%d] has no tokens", i)
		}
		ids[i] = v
		total += len(v)
	}
	// Longest first, cut into batches under the token budget.
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(ids[order[a]]) > len(ids[order[b]]) })
	out := make([][]float32, len(texts))
	for lo := 0; lo < len(order); {
		L := len(ids[order[lo]])
		hi := lo + 1
		for hi < len(order) && (hi-lo+1)*L <= textBatchTokens {
			hi++
		}
		B := hi - lo
		b := &encoder.Batch{B: B, L: L, IDs: make([]int, B*L), Mask: make([]float32, B*L)}
		if c.typeID {
			b.TypeIDs = make([]int, B*L)
		}
		for r, i := range order[lo:hi] {
			for j := 0; j < L; j++ {
				if j < len(ids[i]) {
					b.IDs[r*L+j], b.Mask[r*L+j] = ids[i][j], 1
				} else {
					b.IDs[r*L+j] = c.padID
				}
			}
		}
		emb, err := c.text.embed(ctx, e, b)
		if err != nil {
			return nil, 0, err
		}
		for r, i := range order[lo:hi] {
			v := emb[r*c.proj : (r+1)*c.proj : (r+1)*c.proj]
			kernels.L2Normalize(v)
			out[i] = v
		}
		lo = hi
	}
	return out, total, nil
}

func (c *clipBackend) embedImages(ctx context.Context, e *kernels.Engine, imgs []*imageproc.RGB) ([][]float32, error) {
	per := c.vision.PixelsPerImage()
	out := make([][]float32, len(imgs))
	for lo := 0; lo < len(imgs); lo += c.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+c.batch, len(imgs))
		B := hi - lo
		pix := make([]float32, B*per)
		errs := make([]error, B)
		e.Parallel(B, func(a, z int) {
			for j := a; j < z; j++ {
				v, err := c.proc.Preprocess(pix[j*per:j*per:(j+1)*per], imgs[lo+j])
				if err == nil && len(v) != per {
					err = fmt.Errorf("multimodal: preprocessing gave %d values, want %d", len(v), per)
				}
				errs[j] = err
			}
		})
		for j, err := range errs {
			if err != nil {
				return nil, imageError(lo+j, err)
			}
		}
		emb, err := c.vision.Embed(ctx, e, pix, B)
		if err != nil {
			return nil, err
		}
		for j := 0; j < B; j++ {
			v := emb[j*c.proj : (j+1)*c.proj : (j+1)*c.proj]
			kernels.L2Normalize(v)
			out[lo+j] = v
		}
	}
	return out, nil
}
