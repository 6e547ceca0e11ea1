package multimodal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/airvec/airvec/internal/apierr"
	"github.com/airvec/airvec/internal/imageproc"
	"github.com/airvec/airvec/kernels"
)

// Model is a loaded multimodal embedding model. It is immutable and safe
// for concurrent use.
type Model struct {
	b   backend
	o   options
	dir string
}

// Load opens a model directory (a CLIPModel or ChineseCLIPModel checkpoint
// with its tokenizer and preprocessor_config.json, or another registered
// family) and packs its weights.
func Load(dir string, opts ...Option) (*Model, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c, err := readDirConfig(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range families {
		if f.match(c) {
			b, err := f.load(c, &o)
			if err != nil {
				return nil, err
			}
			return &Model{b: b, o: o, dir: dir}, nil
		}
	}
	var known []string
	for _, f := range families {
		known = append(known, f.name)
	}
	return nil, fmt.Errorf("multimodal: %s: no supported model (architectures %v, model_type %q; supported: %s)",
		dir, c.Architectures, c.ModelType, strings.Join(known, ", "))
}

// Close releases the model's weight files. The Model must not be used
// afterwards.
func (m *Model) Close() error {
	if c, ok := m.b.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Kind is the model family ("clip", "chinese_clip", ...).
func (m *Model) Kind() string { return m.b.name() }

// Dim is the embedding width.
func (m *Model) Dim() int { return m.b.dim() }

// Precision is the MatMul precision the model was loaded with.
func (m *Model) Precision() kernels.Precision { return m.o.prec }

// Fuses reports whether an entry with both text and image is embedded as
// one fused vector (GME) rather than as its text (CLIP, M2).
func (m *Model) Fuses() bool {
	_, ok := m.b.(fusedBackend)
	return ok
}

func (m *Model) imageOptions() imageproc.Options {
	return imageproc.Options{MaxPixels: m.o.maxPixels, MaxBytes: m.o.maxBytes, Fetch: m.o.fetch, NoFiles: m.o.noFiles}
}

// loadImage resolves and decodes entry i's image, as a service error.
func (m *Model) loadImage(ctx context.Context, i int, src string) (*imageproc.RGB, error) {
	img, err := imageproc.Load(ctx, src, m.imageOptions())
	if err != nil {
		return nil, imageError(i, err)
	}
	return img, nil
}

// imageError maps an imageproc error to the service's error shape.
func imageError(i int, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apierr.From(err)
	}
	msg := strings.TrimPrefix(err.Error(), "imageproc: ")
	return &Error{Code: InvalidParameter, Message: fmt.Sprintf("multimodal: input[%d].image: %s", i, msg), Err: err}
}

// Embed answers a service request: one L2-normalised embedding per entry,
// in input order.
//
// Images are decoded in chunks of the image batch (WithImageBatch), in
// parallel on the model's engine, and each chunk is embedded before the
// next is decoded, so the decoded pixels held at once are bounded by the
// batch size times the pixel limit.
func (m *Model) Embed(ctx context.Context, req *Request) (*Response, error) {
	start := time.Now()
	if err := req.Validate(m.o.maxInputs); err != nil {
		return nil, err
	}
	n := len(req.Input)
	out := make([][]float32, n)
	var usage Usage
	if fb, ok := m.b.(fusedBackend); ok {
		for lo := 0; lo < n; lo += m.o.imageBatch {
			hi := min(lo+m.o.imageBatch, n)
			items := make([]fusedItem, hi-lo)
			var srcs []string
			var at []int
			for i, in := range req.Input[lo:hi] {
				items[i].Text = in.Text
				if in.Image != "" {
					srcs = append(srcs, in.Image)
					at = append(at, lo+i)
				}
			}
			imgs, err := m.loadImages(ctx, srcs, at)
			if err != nil {
				return nil, err
			}
			for k, i := range at {
				items[i-lo].Image = imgs[k]
			}
			usage.Image += len(imgs)
			embs, toks, err := fb.embedFused(ctx, m.o.engine, items)
			if err != nil {
				return nil, apierr.From(err)
			}
			copy(out[lo:hi], embs)
			usage.TokenCount += toks
		}
	} else {
		var texts, srcs []string
		var textIdx, imgIdx []int
		for i, in := range req.Input {
			if in.Text != "" { // text wins over image for non-fusing models
				texts = append(texts, in.Text)
				textIdx = append(textIdx, i)
			} else {
				srcs = append(srcs, in.Image)
				imgIdx = append(imgIdx, i)
			}
		}
		if len(texts) > 0 {
			embs, toks, err := m.b.embedTexts(ctx, m.o.engine, texts)
			if err != nil {
				return nil, apierr.From(err)
			}
			for j, i := range textIdx {
				out[i] = embs[j]
			}
			usage.TokenCount = toks
		}
		for lo := 0; lo < len(srcs); lo += m.o.imageBatch {
			hi := min(lo+m.o.imageBatch, len(srcs))
			imgs, err := m.loadImages(ctx, srcs[lo:hi], imgIdx[lo:hi])
			if err != nil {
				return nil, err
			}
			embs, err := m.b.embedImages(ctx, m.o.engine, imgs)
			if err != nil {
				return nil, apierr.From(err)
			}
			for j, i := range imgIdx[lo:hi] {
				out[i] = embs[j]
			}
			usage.Image += len(imgs)
		}
	}
	resp := &Response{RequestID: newRequestID(), Usage: usage}
	resp.Result.Embeddings = make([]Embedding, n)
	for i, e := range out {
		resp.Result.Embeddings[i] = Embedding{Index: i, Embedding: e}
	}
	resp.Latency = int(time.Since(start).Milliseconds())
	return resp, nil
}

// loadImages resolves and decodes srcs (the images of request entries idx)
// in parallel on the engine; the error reported is that of the first
// failing entry.
func (m *Model) loadImages(ctx context.Context, srcs []string, idx []int) ([]*imageproc.RGB, error) {
	imgs := make([]*imageproc.RGB, len(srcs))
	errs := make([]error, len(srcs))
	m.o.engine.Parallel(len(srcs), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			if err := ctx.Err(); err != nil {
				errs[j] = err
				continue
			}
			imgs[j], errs[j] = m.loadImage(ctx, idx[j], srcs[j])
		}
	})
	for _, err := range errs {
		if err != nil {
			if ctx.Err() != nil {
				return nil, apierr.From(ctx.Err())
			}
			return nil, err
		}
	}
	return imgs, nil
}

// EmbedTexts embeds texts (L2-normalised).
func (m *Model) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	for i, t := range texts {
		if t == "" {
			return nil, apierr.Invalid("multimodal: texts[%d] is empty", i)
		}
	}
	if len(texts) == 0 {
		return nil, nil
	}
	embs, _, err := m.b.embedTexts(ctx, m.o.engine, texts)
	if err != nil {
		return nil, apierr.From(err)
	}
	return embs, nil
}

// EmbedImages embeds images given as the service takes them (data URI,
// base64, path, file:// or — with a fetcher — http(s) URL), L2-normalised.
// Decoding is chunked and parallel as in Embed.
func (m *Model) EmbedImages(ctx context.Context, images []string) ([][]float32, error) {
	out := make([][]float32, 0, len(images))
	idx := make([]int, len(images))
	for i := range idx {
		idx[i] = i
	}
	for lo := 0; lo < len(images); lo += m.o.imageBatch {
		hi := min(lo+m.o.imageBatch, len(images))
		imgs, err := m.loadImages(ctx, images[lo:hi], idx[lo:hi])
		if err != nil {
			return nil, err
		}
		embs, err := m.b.embedImages(ctx, m.o.engine, imgs)
		if err != nil {
			return nil, apierr.From(err)
		}
		out = append(out, embs...)
	}
	return out, nil
}

// LogitScale is the factor ZeroShot applies to cosine similarities
// (CLIP's exp(logit_scale)).
func (m *Model) LogitScale() float32 {
	if s := m.b.logitScale(); s > 0 {
		return s
	}
	return 100
}

// ZeroShot classifies an image among labels (texts such as "a photo of a
// cat"): softmax over LogitScale·cosine(image, label), as CLIP's
// logits_per_image.softmax(dim=1). The probabilities follow labels' order.
func (m *Model) ZeroShot(ctx context.Context, image string, labels []string) ([]float32, error) {
	if len(labels) == 0 {
		return nil, apierr.Invalid("multimodal: zero-shot needs at least one label")
	}
	ie, err := m.EmbedImages(ctx, []string{image})
	if err != nil {
		return nil, err
	}
	te, err := m.EmbedTexts(ctx, labels)
	if err != nil {
		return nil, err
	}
	return Softmax(ie[0], te, m.LogitScale()), nil
}

// Softmax returns softmax(scale·⟨image, text_j⟩) over j: CLIP's zero-shot
// probabilities from L2-normalised embeddings.
func Softmax(image []float32, texts [][]float32, scale float32) []float32 {
	p := make([]float32, len(texts))
	mx := math.Inf(-1)
	logits := make([]float64, len(texts))
	for j, t := range texts {
		logits[j] = float64(scale) * float64(kernels.Dot(image, t))
		mx = math.Max(mx, logits[j])
	}
	var s float64
	for j := range logits {
		logits[j] = math.Exp(logits[j] - mx)
		s += logits[j]
	}
	for j := range p {
		p[j] = float32(logits[j] / s)
	}
	return p
}
