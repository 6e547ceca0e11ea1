package multimodal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/internal/qwen2vl"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/tokenizer"
	"github.com/airvec/airvec/weights"
)

// GME (gme-Qwen2-VL, the service's ops-gme-qwen2-vl-2b-instruct): a
// Qwen2VLForConditionalGeneration checkpoint run as Alibaba's
// gme_inference.py runs it. Every entry — text, image, or both — becomes
// one chat prompt whose last token's hidden state, L2-normalised, is the
// embedding.
func init() {
	register(family{
		name: "gme",
		match: func(c *dirConfig) bool {
			return c.hasArch("Qwen2VLForConditionalGeneration", "GmeQwen2VL") || c.ModelType == "qwen2_vl"
		},
		load: loadGME,
	})
}

// gmeBackend is immutable after load; copies made by Model.WithInstruction
// share everything but the system prompt.
type gmeBackend struct {
	m      *qwen2vl.Model
	proc   *imageproc.Qwen2VLProcessor
	tok    *tokenizer.Tokenizer
	store  weights.Store
	maxLen int    // GME's max_length (right truncation of the expanded sequence); 0 = none
	system string // the system prompt: GME's default, or a query instruction
	batch  int    // images per forward pass
	// reserved holds the ids of the vision placeholder tokens a user text
	// must not contain (they would be taken for image slots).
	reserved []int
}

func (b *gmeBackend) name() string        { return "gme" }
func (b *gmeBackend) dim() int            { return b.m.Cfg.HiddenSize }
func (b *gmeBackend) logitScale() float32 { return 0 }
func (b *gmeBackend) Close() error        { return b.store.Close() }

func loadGME(dc *dirConfig, o *options) (backend, error) {
	cfg, err := qwen2vl.ParseConfig(dc.Raw)
	if err != nil {
		return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	d, err := weights.OpenDir(dc.Dir)
	if err != nil {
		return nil, fmt.Errorf("multimodal: %w", err)
	}
	var proc *imageproc.Qwen2VLProcessor
	if b, err := d.ReadFile("preprocessor_config.json"); err == nil {
		proc, err = imageproc.ParseQwen2VLProcessor(b)
		if err != nil {
			return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
		}
	} else {
		proc, _ = imageproc.ParseQwen2VLProcessor(nil)
	}
	// GmeQwen2VL passes min_pixels / max_pixels = {min,max}_image_tokens·28·28
	// to AutoProcessor.from_pretrained, overriding preprocessor_config.json.
	proc.MinPixels, proc.MaxPixels = cfg.MinImageTokens*28*28, cfg.MaxImageTokens*28*28
	if err := proc.Validate(); err != nil {
		return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	v := cfg.Vision
	if proc.PatchSize != v.PatchSize || proc.TemporalPatchSize != v.TemporalPatchSize || proc.MergeSize != v.SpatialMergeSize {
		return nil, fmt.Errorf("multimodal: %s: preprocessor patch %d/%d/%d differs from vision_config %d/%d/%d", dc.Dir,
			proc.PatchSize, proc.TemporalPatchSize, proc.MergeSize, v.PatchSize, v.TemporalPatchSize, v.SpatialMergeSize)
	}
	tp, ok := d.File("tokenizer.json")
	if !ok {
		return nil, fmt.Errorf("multimodal: %s: no tokenizer.json", dc.Dir)
	}
	tk, err := tokenizer.Load(tp)
	if err != nil {
		return nil, fmt.Errorf("multimodal: %w", err)
	}
	tk = tk.WithoutPadding().WithoutTruncation()
	var reserved []int
	for _, s := range []string{qwen2vl.ImagePadToken, qwen2vl.VideoPadToken, "<|vision_pad|>"} {
		if id, ok := tk.TokenToID(s); ok {
			reserved = append(reserved, id)
		}
	}
	if id, ok := tk.TokenToID(qwen2vl.ImagePadToken); !ok || id != cfg.ImageTokenID {
		return nil, fmt.Errorf("multimodal: %s: tokenizer's %s is %d (found %v), config image_token_id %d", dc.Dir, qwen2vl.ImagePadToken, id, ok, cfg.ImageTokenID)
	}
	st, err := d.Weights()
	if err != nil {
		return nil, fmt.Errorf("multimodal: %w", err)
	}
	root := weights.NewScope(st)
	m, err := qwen2vl.Load(root, cfg, o.prec)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("multimodal: %s: %w", dc.Dir, err)
	}
	var unexpected []string
	for _, n := range root.Unused() {
		if !slices.Contains(qwen2vl.KnownUnused, n) {
			unexpected = append(unexpected, n)
		}
	}
	if len(unexpected) > 0 {
		st.Close()
		return nil, fmt.Errorf("multimodal: %s: unexpected tensors %v", dc.Dir, unexpected)
	}
	return &gmeBackend{m: m, proc: proc, tok: tk, store: st, maxLen: cfg.MaxLength,
		system: qwen2vl.DefaultInstruction, batch: o.imageBatch, reserved: reserved}, nil
}

// WithInstruction returns a Model sharing m's loaded weights that embeds
// every entry as a GME query with instruction as its system prompt (GME's
// get_*_embeddings(..., instruction=...), is_query=True); "" restores
// GME's default prompt, "You are a helpful assistant.", which documents
// always use. Only fusing models (GME) take an instruction. Closing either
// Model closes the shared weights.
func (m *Model) WithInstruction(instruction string) (*Model, error) {
	gb, ok := m.b.(*gmeBackend)
	if !ok {
		return nil, fmt.Errorf("multimodal: %s models take no instruction", m.Kind())
	}
	c := *gb
	c.system = qwen2vl.SystemPrompt(true, instruction)
	return &Model{b: &c, o: m.o, dir: m.dir}, nil
}

func (b *gmeBackend) embedTexts(ctx context.Context, e *kernels.Engine, texts []string) ([][]float32, int, error) {
	items := make([]fusedItem, len(texts))
	for i, t := range texts {
		items[i].Text = t
	}
	return b.embedFused(ctx, e, items)
}

func (b *gmeBackend) embedImages(ctx context.Context, e *kernels.Engine, imgs []*imageproc.RGB) ([][]float32, error) {
	items := make([]fusedItem, len(imgs))
	for i, m := range imgs {
		items[i].Image = m
	}
	out, _, err := b.embedFused(ctx, e, items)
	return out, err
}

// gmeSeq is one prepared entry.
type gmeSeq struct {
	in     qwen2vl.Input
	tokens int // text tokens (the prompt without the image's placeholder copies)
}

// prepare builds entry i: the chat prompt, its ids with the image
// placeholder expanded to the image's feature count, truncated to maxLen,
// and the image's pixel rows.
func (b *gmeBackend) prepare(i int, it fusedItem) (gmeSeq, error) {
	var s gmeSeq
	if it.Text == "" && it.Image == nil {
		return s, apierr.Invalid("multimodal: input[%d] has neither text nor image", i)
	}
	if it.Image != nil {
		fetched, err := imageproc.GMEFetch(it.Image)
		if err != nil {
			return s, imageError(i, err)
		}
		pix, grid, err := b.proc.Preprocess(nil, fetched)
		if err != nil {
			return s, imageError(i, err)
		}
		s.in.Pixels, s.in.Grids = pix, [][3]int{grid}
	}
	enc, err := b.tok.Encode(qwen2vl.Prompt(b.system, it.Text, it.Image != nil), true)
	if err != nil {
		return s, apierr.Invalid("multimodal: input[%d].text: %v", i, err)
	}
	ids := enc.IDs
	if it.Text != "" {
		// The prompt's own placeholder is the only one allowed: a reserved
		// token in the user's text would be taken for an image slot.
		n := 0
		for _, id := range ids {
			if slices.Contains(b.reserved, id) {
				n++
			}
		}
		if want := len(s.in.Grids); n != want {
			return s, apierr.Invalid("multimodal: input[%d].text contains a reserved vision token (%s, %s or <|vision_pad|>)", i, qwen2vl.ImagePadToken, qwen2vl.VideoPadToken)
		}
	}
	s.tokens = len(ids) - len(s.in.Grids)
	var counts []int
	for _, g := range s.in.Grids {
		counts = append(counts, b.m.Vision.Tokens(g))
	}
	if ids = qwen2vl.ExpandImagePads(ids, b.m.Cfg.ImageTokenID, counts); ids == nil {
		return s, &Error{Code: InternalError, Message: fmt.Sprintf("multimodal: input[%d]: image placeholder not found in the prompt", i)}
	}
	if b.maxLen > 0 && len(ids) > b.maxLen {
		// The processor truncates the expanded sequence (right side); cut
		// image tokens would not match the image's features, which the
		// reference rejects too.
		ids = ids[:b.maxLen]
		want := 0
		for _, c := range counts {
			want += c
		}
		have := 0
		for _, id := range ids {
			if id == b.m.Cfg.ImageTokenID {
				have++
			}
		}
		if have != want {
			return s, apierr.Invalid("multimodal: input[%d]: the image's %d tokens do not fit in the model's max_length %d", i, want, b.maxLen)
		}
		s.tokens = min(s.tokens, len(ids)-want)
	}
	s.in.IDs = ids
	return s, nil
}

// gmeBatchTokens bounds one forward pass (batch × padded length) and
// gmeBatchPatches the vision rows of its images (the vision scratch is
// about 11·embed_dim floats per row: 8192 rows ≈ 460 MB at GME-2B's 1280),
// besides the image batch option. A pass always takes at least one entry.
const (
	gmeBatchTokens  = 8192
	gmeBatchPatches = 8192
)

// patches is the number of vision rows of s's images.
func (s *gmeSeq) patches() int {
	n := 0
	for _, g := range s.in.Grids {
		n += g[0] * g[1] * g[2]
	}
	return n
}

func (b *gmeBackend) embedFused(ctx context.Context, e *kernels.Engine, items []fusedItem) ([][]float32, int, error) {
	if e == nil {
		e = kernels.Default
	}
	seqs := make([]gmeSeq, len(items))
	errs := make([]error, len(items))
	e.Parallel(len(items), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			seqs[i], errs[i] = b.prepare(i, items[i])
		}
	})
	total := 0
	for i, err := range errs {
		if err != nil {
			return nil, 0, err
		}
		total += seqs[i].tokens
	}
	// Longest first, cut into passes under the token budget and the image
	// batch; rows are independent (causal attention, padding masked), so
	// grouping does not change results.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, c int) bool { return len(seqs[order[a]].in.IDs) > len(seqs[order[c]].in.IDs) })
	H := b.m.Cfg.HiddenSize
	out := make([][]float32, len(items))
	for lo := 0; lo < len(order); {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		L := len(seqs[order[lo]].in.IDs)
		imgs, patches := len(seqs[order[lo]].in.Grids), seqs[order[lo]].patches()
		hi := lo + 1
		for hi < len(order) && (hi-lo+1)*L <= gmeBatchTokens {
			n, p := len(seqs[order[hi]].in.Grids), seqs[order[hi]].patches()
			if n > 0 && (imgs+n > max(b.batch, 1) || patches+p > gmeBatchPatches) {
				break
			}
			imgs, patches = imgs+n, patches+p
			hi++
		}
		ins := make([]qwen2vl.Input, hi-lo)
		for r, i := range order[lo:hi] {
			ins[r] = seqs[i].in
		}
		emb, err := b.m.Embed(ctx, e, ins)
		if err != nil {
			if errors.Is(err, qwen2vl.ErrInput) {
				return nil, 0, apierr.Invalid("multimodal: %s", strings.TrimPrefix(err.Error(), "qwen2vl: "))
			}
			return nil, 0, err
		}
		for r, i := range order[lo:hi] {
			v := emb[r*H : (r+1)*H : (r+1)*H]
			kernels.L2Normalize(v)
			out[i] = v
		}
		lo = hi
	}
	return out, total, nil
}
