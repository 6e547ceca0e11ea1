package clip

import (
	"context"
	"fmt"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"hash/fnv"
	"os"
	"strings"
	"testing"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// synthFill gives the synthetic CLIP towers deterministic pseudo-random
// values (LayerNorm weights 1, the rest small, from a generator seeded by
// the tensor's name).
func synthFill(name string, _ []int, v []float32) {
	if strings.HasSuffix(name, "norm1.weight") || strings.HasSuffix(name, "norm2.weight") || strings.HasSuffix(name, "layrnorm.weight") || strings.HasSuffix(name, "layernorm.weight") {
		for i := range v {
			v[i] = 1
		}
		return
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	x := h.Sum64() | 1
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[i] = (float32(x>>40)/float32(1<<24) - 0.5) * 0.04
	}
}

// synthVision declares a CLIPModel vision tower of cfg.
func synthVision(cfg VisionConfig, proj int) *synthetic.Lazy {
	s := synthetic.NewLazy(synthFill)
	H, I, p := cfg.HiddenSize, cfg.IntermediateSize, cfg.PatchSize
	T := 1 + cfg.Patches()*cfg.Patches()
	s.Add("vision_model.embeddings.patch_embedding.weight", H, 3, p, p)
	s.Add("vision_model.embeddings.class_embedding", H)
	s.Add("vision_model.embeddings.position_embedding.weight", T, H)
	for _, n := range []string{"pre_layrnorm", "post_layernorm"} {
		s.Add("vision_model."+n+".weight", H)
		s.Add("vision_model."+n+".bias", H)
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		pre := fmt.Sprintf("vision_model.encoder.layers.%d.", l)
		for _, n := range []string{"layer_norm1", "layer_norm2"} {
			s.Add(pre+n+".weight", H)
			s.Add(pre+n+".bias", H)
		}
		for _, n := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			s.Add(pre+"self_attn."+n+".weight", H, H)
			s.Add(pre+"self_attn."+n+".bias", H)
		}
		s.Add(pre+"mlp.fc1.weight", I, H)
		s.Add(pre+"mlp.fc1.bias", I)
		s.Add(pre+"mlp.fc2.weight", H, I)
		s.Add(pre+"mlp.fc2.bias", H)
	}
	s.Add("visual_projection.weight", proj, H)
	return s
}

// Real geometries: openai/clip-vit-base-patch16 and clip-vit-large-patch14.
var benchGeometries = []struct {
	name string
	cfg  VisionConfig
	proj int
}{
	{"ViT-B-16", VisionConfig{HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12, NumAttentionHeads: 12, NumChannels: 3, ImageSize: 224, PatchSize: 16, HiddenAct: "quick_gelu", LayerNormEps: 1e-5}, 512},
	{"ViT-L-14", VisionConfig{HiddenSize: 1024, IntermediateSize: 4096, NumHiddenLayers: 24, NumAttentionHeads: 16, NumChannels: 3, ImageSize: 224, PatchSize: 14, HiddenAct: "quick_gelu", LayerNormEps: 1e-5}, 768},
}

func TestSynthGeometry(t *testing.T) {
	g := benchGeometries[0]
	g.cfg.NumHiddenLayers = 1
	root := weights.NewScope(synthVision(g.cfg, g.proj))
	v, err := LoadVision(root, g.cfg, g.proj, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	if u := root.Unused(); len(u) != 0 {
		t.Errorf("unused tensors %v", u)
	}
	if v.Tokens() != 197 {
		t.Errorf("tokens %d, want 197", v.Tokens())
	}
	emb, err := v.Embed(context.Background(), nil, make([]float32, 2*v.PixelsPerImage()), 2)
	if err != nil || len(emb) != 2*512 {
		t.Fatalf("embed: %d values, %v", len(emb), err)
	}
	if _, err := v.Embed(context.Background(), nil, make([]float32, 5), 1); err == nil {
		t.Error("short pixels accepted")
	}
}

// BenchmarkVision measures images/s of the vision tower (embedding only,
// preprocessing excluded) on synthetic weights. ViT-L/14 and batch 16 run
// only with AIRVEC_BENCH_LARGE=1.
func BenchmarkVision(b *testing.B) {
	large := os.Getenv("AIRVEC_BENCH_LARGE") == "1"
	for gi, g := range benchGeometries {
		if gi > 0 && !large {
			continue
		}
		st := synthVision(g.cfg, g.proj)
		for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
			v, err := LoadVision(weights.NewScope(st), g.cfg, g.proj, prec)
			if err != nil {
				b.Fatal(err)
			}
			for _, batch := range []int{1, 16} {
				if batch > 1 && !large {
					continue
				}
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s/%s/batch%02d/threads%d", g.name, prec, batch, threads)
					b.Run(name, func(b *testing.B) {
						e := &kernels.Engine{Threads: threads}
						pix := make([]float32, batch*v.PixelsPerImage())
						for i := range pix {
							pix[i] = float32(i%255)/127 - 1
						}
						b.ReportAllocs()
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							if _, err := v.Embed(context.Background(), e, pix, batch); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
					})
				}
			}
		}
	}
}
