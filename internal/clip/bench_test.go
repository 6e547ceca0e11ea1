package clip

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// synthStore is an in-memory weights.Store of deterministic pseudo-random
// tensors (LayerNorm weights 1, biases small), for benchmarks and shape
// tests at real geometries without files.
type synthStore struct {
	infos map[string]weights.TensorInfo
	names []string
}

func newSynthStore() *synthStore { return &synthStore{infos: map[string]weights.TensorInfo{}} }

func (s *synthStore) add(name string, shape ...int) {
	s.infos[name] = weights.TensorInfo{Name: name, DType: weights.F32, Shape: shape}
	s.names = append(s.names, name)
}

func (s *synthStore) Names() []string {
	n := append([]string(nil), s.names...)
	sort.Strings(n)
	return n
}

func (s *synthStore) Info(name string) (weights.TensorInfo, bool) {
	i, ok := s.infos[name]
	return i, ok
}

func (s *synthStore) Float32(name string) ([]float32, error) {
	info, ok := s.infos[name]
	if !ok {
		return nil, fmt.Errorf("synth: %q not found", name)
	}
	n := 1
	for _, d := range info.Shape {
		n *= d
	}
	v := make([]float32, n)
	if strings.HasSuffix(name, "norm1.weight") || strings.HasSuffix(name, "norm2.weight") || strings.HasSuffix(name, "layrnorm.weight") || strings.HasSuffix(name, "layernorm.weight") {
		for i := range v {
			v[i] = 1
		}
		return v, nil
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
	return v, nil
}

func (s *synthStore) Close() error { return nil }

// synthVision declares a CLIPModel vision tower of cfg.
func synthVision(cfg VisionConfig, proj int) *synthStore {
	s := newSynthStore()
	H, I, p := cfg.HiddenSize, cfg.IntermediateSize, cfg.PatchSize
	T := 1 + cfg.Patches()*cfg.Patches()
	s.add("vision_model.embeddings.patch_embedding.weight", H, 3, p, p)
	s.add("vision_model.embeddings.class_embedding", H)
	s.add("vision_model.embeddings.position_embedding.weight", T, H)
	for _, n := range []string{"pre_layrnorm", "post_layernorm"} {
		s.add("vision_model."+n+".weight", H)
		s.add("vision_model."+n+".bias", H)
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		pre := fmt.Sprintf("vision_model.encoder.layers.%d.", l)
		for _, n := range []string{"layer_norm1", "layer_norm2"} {
			s.add(pre+n+".weight", H)
			s.add(pre+n+".bias", H)
		}
		for _, n := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			s.add(pre+"self_attn."+n+".weight", H, H)
			s.add(pre+"self_attn."+n+".bias", H)
		}
		s.add(pre+"mlp.fc1.weight", I, H)
		s.add(pre+"mlp.fc1.bias", I)
		s.add(pre+"mlp.fc2.weight", H, I)
		s.add(pre+"mlp.fc2.bias", H)
	}
	s.add("visual_projection.weight", proj, H)
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
