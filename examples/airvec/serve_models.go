package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/multimodal"
	"github.com/airvec/airvec/rerank"
	"github.com/airvec/airvec/sparse"
	"github.com/airvec/airvec/weights"
)

// modelFlags are the load options shared by serve's models.
type modelFlags struct {
	precision *string
	threads   *int
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		precision: fs.String("precision", "fp32", "compute precision: fp32 or bf16"),
		threads:   fs.Int("threads", 0, "worker threads per model (0 = all cores)"),
	}
}

func (mf *modelFlags) prec() (kernels.Precision, error) {
	switch *mf.precision {
	case "fp32", "":
		return kernels.FP32, nil
	case "bf16":
		return kernels.BF16, nil
	}
	return 0, fmt.Errorf("-precision %q: want fp32 or bf16", *mf.precision)
}

// modelKinds says which service routes a model directory answers, from its
// config.json architectures and extra files:
// *ForSequenceClassification → ranker; *ForMaskedLM or idf.json → sparse;
// CLIP / Chinese-CLIP / Qwen2-VL (GME) / M2 (no config.json, an Encoder_*.json)
// → multimodal; any other encoder → text-embedding, plus sparse when it ships
// BGE-M3's sparse_linear head.
func modelKinds(d *weights.Dir) []string {
	arch := d.Config.Architecture()
	switch {
	case strings.HasSuffix(arch, "ForSequenceClassification"):
		return []string{kindRanker}
	case strings.HasSuffix(arch, "ForMaskedLM"), d.Has("idf.json"):
		return []string{kindSparse}
	case arch == "CLIPModel", arch == "ChineseCLIPModel", strings.HasPrefix(arch, "Qwen2VL"), arch == "GmeQwen2VL", d.Config.ModelType == "qwen2_vl", d.ConfigJSON == nil && len(d.JSONFiles()) > 0:
		return []string{kindMultimodal}
	}
	kinds := []string{kindEmbedding}
	if d.Has("sparse_linear.safetensors") || d.Has("sparse_linear.pt") {
		kinds = append(kinds, kindSparse)
	}
	return kinds
}

// loadService loads dir and attaches the route handlers its model kinds answer.
func loadService(id, dir string, mf *modelFlags) (*service, error) {
	prec, err := mf.prec()
	if err != nil {
		return nil, err
	}
	d, err := weights.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	svc := &service{id: id, dir: dir, handlers: map[string]handlerFunc{}}
	eng := &kernels.Engine{Threads: *mf.threads}
	for _, kind := range modelKinds(d) {
		switch kind {
		case kindEmbedding:
			m, err := embed.Load(d.Path, embed.WithPrecision(prec), embed.WithEngine(eng))
			if err != nil {
				return nil, err
			}
			svc.handlers[kind] = serviceHandler(embed.ParseRequest, m.Embed,
				func(r *embed.Response, rid string) int { r.RequestID = rid; return r.Usage.TokenCount })
			svc.openai = func(ctx context.Context, inputs []string, dimension int) ([][]float32, int, error) {
				resp, err := m.Embed(ctx, &embed.Request{Input: inputs, Dimension: dimension})
				if err != nil {
					return nil, 0, err
				}
				out := make([][]float32, len(inputs))
				for _, e := range resp.Result.Embeddings {
					out[e.Index] = e.Embedding
				}
				return out, resp.Usage.TokenCount, nil
			}
		case kindSparse:
			m, err := sparse.Load(d.Path, sparse.WithPrecision(prec), sparse.WithEngine(eng))
			if err != nil {
				return nil, err
			}
			svc.handlers[kind] = serviceHandler(sparse.ParseRequest, m.Encode,
				func(r *sparse.Response, rid string) int { r.RequestID = rid; return r.Usage.TokenCount })
		case kindRanker:
			m, err := rerank.Load(d.Path, rerank.WithPrecision(prec), rerank.WithEngine(eng))
			if err != nil {
				return nil, err
			}
			svc.handlers[kind] = serviceHandler(rerank.ParseRequest, m.Rerank,
				func(r *rerank.Response, rid string) int { r.RequestID = rid; return 0 })
		case kindMultimodal:
			// A server must not read its own disk on behalf of clients: images come
			// as data: URIs or base64 only (no local paths, no fetcher).
			m, err := multimodal.Load(d.Path, multimodal.WithPrecision(prec), multimodal.WithEngine(eng), multimodal.WithoutLocalFiles())
			if err != nil {
				return nil, err
			}
			svc.handlers[kind] = serviceHandler(multimodal.ParseRequest, m.Embed,
				func(r *multimodal.Response, rid string) int { r.RequestID = rid; return r.Usage.TokenCount })
		}
	}
	return svc, nil
}

// serviceHandler adapts a task package's parse + run pair to a route handler;
// meta sets the response's request id and returns its token count.
func serviceHandler[Req, Resp any](parse func([]byte) (*Req, error), run func(context.Context, *Req) (*Resp, error),
	meta func(resp *Resp, requestID string) int) handlerFunc {
	return func(ctx context.Context, rid string, body []byte) (any, int, error) {
		req, err := parse(body)
		if err != nil {
			return nil, 0, err
		}
		resp, err := run(ctx, req)
		if err != nil {
			return nil, 0, err
		}
		return resp, meta(resp, rid), nil
	}
}
