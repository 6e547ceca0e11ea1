package qwen2vl

import (
	"context"
	"fmt"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"github.com/airvec/airvec/internal/procstat"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// synthFill gives the synthetic Qwen2-VL checkpoints deterministic random
// values: norm scales 1 ± 0.1, matrices std 2/fan-in, embeddings and the
// rest std 0.05.
func synthFill(name string, sh []int, v []float32) {
	r := synthetic.NameRand(name)
	std := float32(0.05)
	switch {
	case strings.HasSuffix(name, "norm.weight") || strings.HasSuffix(name, "norm1.weight") ||
		strings.HasSuffix(name, "norm2.weight") || strings.HasSuffix(name, "ln_q.weight"):
		for i := range v {
			v[i] = 1 + 0.1*float32(r.NormFloat64())
		}
		return
	case len(sh) >= 2 && !strings.Contains(name, "embed_tokens"):
		k := len(v) / sh[0]
		std = 2 / float32(k)
	}
	for i := range v {
		v[i] = std * float32(r.NormFloat64())
	}
}

// synthCheckpoint builds a Qwen2VLForConditionalGeneration checkpoint of
// cfg's geometry ("visual.*", "model.*").
func synthCheckpoint(cfg Config) *synthetic.Lazy {
	s := synthetic.NewLazy(synthFill)
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh, kv, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim()
	s.Add("model.embed_tokens.weight", cfg.VocabSize, H)
	s.Add("model.norm.weight", H)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		s.Add(p+"input_layernorm.weight", H)
		s.Add(p+"post_attention_layernorm.weight", H)
		s.Add(p+"self_attn.q_proj.weight", nh*hd, H)
		s.Add(p+"self_attn.q_proj.bias", nh*hd)
		s.Add(p+"self_attn.k_proj.weight", kv*hd, H)
		s.Add(p+"self_attn.k_proj.bias", kv*hd)
		s.Add(p+"self_attn.v_proj.weight", kv*hd, H)
		s.Add(p+"self_attn.v_proj.bias", kv*hd)
		s.Add(p+"self_attn.o_proj.weight", H, nh*hd)
		s.Add(p+"mlp.gate_proj.weight", I, H)
		s.Add(p+"mlp.up_proj.weight", I, H)
		s.Add(p+"mlp.down_proj.weight", H, I)
	}
	v := cfg.Vision
	D, M := v.EmbedDim, v.MLPDim()
	mw := v.SpatialMergeSize * v.SpatialMergeSize * D
	s.Add("visual.patch_embed.proj.weight", D, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize)
	for i := 0; i < v.Depth; i++ {
		p := fmt.Sprintf("visual.blocks.%d.", i)
		for _, n := range []string{"norm1", "norm2"} {
			s.Add(p+n+".weight", D)
			s.Add(p+n+".bias", D)
		}
		s.Add(p+"attn.qkv.weight", 3*D, D)
		s.Add(p+"attn.qkv.bias", 3*D)
		s.Add(p+"attn.proj.weight", D, D)
		s.Add(p+"attn.proj.bias", D)
		s.Add(p+"mlp.fc1.weight", M, D)
		s.Add(p+"mlp.fc1.bias", M)
		s.Add(p+"mlp.fc2.weight", D, M)
		s.Add(p+"mlp.fc2.bias", D)
	}
	s.Add("visual.merger.ln_q.weight", D)
	s.Add("visual.merger.ln_q.bias", D)
	s.Add("visual.merger.mlp.0.weight", mw, mw)
	s.Add("visual.merger.mlp.0.bias", mw)
	s.Add("visual.merger.mlp.2.weight", H, mw)
	s.Add("visual.merger.mlp.2.bias", H)
	return s
}

// gme2B is gme-Qwen2-VL-2B-Instruct's geometry (Qwen2-VL-2B: text 1536 ×
// 28 layers, 12 heads / 2 KV heads, MLP 8960; vision 1280 × 32 layers, 16
// heads), with textLayers / visionLayers layers and a small vocabulary
// (the embedding lookup costs nothing; the real table is 151936 × 1536).
func gme2B(textLayers, visionLayers int) Config {
	c := DefaultConfig()
	c.VocabSize = 4096
	c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers = 1536, 8960, textLayers
	c.NumAttentionHeads, c.NumKeyValueHeads = 12, 2
	c.RMSNormEps = 1e-6
	c.ImageTokenID = 4000
	c.Vision.Depth, c.Vision.HiddenSize = visionLayers, 1536
	return c
}

func TestSyntheticGME2BLoads(t *testing.T) {
	cfg := gme2B(1, 1)
	m, err := Load(weights.NewScope(synthCheckpoint(cfg)), cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	// A 56×56 image (grid 1×4×4, 4 tokens) and some text.
	ids := []int{1, 2, 3, cfg.ImageTokenID, cfg.ImageTokenID, cfg.ImageTokenID, cfg.ImageTokenID, 5}
	out, err := m.Embed(context.Background(), nil, []Input{{IDs: ids, Pixels: make([]float32, 16*1176), Grids: [][3]int{{1, 4, 4}}}, {IDs: []int{7, 8}}})
	if err != nil || len(out) != 2*1536 {
		t.Fatalf("%d values, %v", len(out), err)
	}
}

// BenchmarkGME2B measures a reduced-depth GME-2B (AIRVEC_GME_BENCH_LAYERS
// text and vision layers, default 2) and extrapolates to the full 28 text /
// 32 vision layers from the time of one layer (layer 1 minus layer 0, both
// measured through the hooks). Metrics: texts/s (8 queries of ~24 tokens
// incl. the prompt) and images/s (448×448: 1024 patches, 256 image
// tokens, a 276-token sequence) at the full depth, estimated.
func BenchmarkGME2B(b *testing.B) {
	layers := 2
	if s := os.Getenv("AIRVEC_GME_BENCH_LAYERS"); s != "" {
		layers, _ = strconv.Atoi(s)
	}
	threads := 2
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		cfg := gme2B(layers, layers)
		m, err := Load(weights.NewScope(synthCheckpoint(cfg)), cfg, prec)
		if err != nil {
			b.Fatal(err)
		}
		e := &kernels.Engine{Threads: threads}
		r := rand.New(rand.NewPCG(1, 2))
		text := make([]Input, 8)
		for i := range text {
			text[i].IDs = make([]int, 24)
			for j := range text[i].IDs {
				text[i].IDs[j] = r.IntN(3000)
			}
		}
		img := Input{Pixels: make([]float32, 1024*1176), Grids: [][3]int{{1, 32, 32}}}
		for i := range img.Pixels {
			img.Pixels[i] = float32(r.NormFloat64())
		}
		for j := 0; j < 20; j++ {
			img.IDs = append(img.IDs, r.IntN(3000))
		}
		for j := 0; j < 256; j++ {
			img.IDs = append(img.IDs, cfg.ImageTokenID)
		}
		for _, kind := range []string{"text", "image"} {
			b.Run(fmt.Sprintf("%s/%s/threads=%d", prec, kind, threads), func(b *testing.B) {
				ins, per := text, 8
				if kind == "image" {
					ins, per = []Input{img}, 1
				}
				var tv, tt [2]time.Duration // one vision / text layer, summed
				var mark time.Time
				hookV := func(name string, layer int, _ []float32) {
					switch {
					case name == "block" && layer == 0:
						mark = time.Now()
					case name == "block" && layer == 1:
						tv[0] += time.Since(mark)
					}
				}
				hookT := func(name string, layer int, _ []float32) {
					switch {
					case name == "layer" && layer == 0:
						mark = time.Now()
					case name == "layer" && layer == 1:
						tt[0] += time.Since(mark)
					}
				}
				m.Vision.Hook, m.Text.Hook = hookV, hookT
				defer func() { m.Vision.Hook, m.Text.Hook = nil, nil }()
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if _, err := m.Embed(context.Background(), e, ins); err != nil {
						b.Fatal(err)
					}
				}
				total := time.Since(start)
				n := float64(b.N)
				measured := total.Seconds() / n
				vl, tl := tv[0].Seconds()/n, tt[0].Seconds()/n
				full := measured
				if layers >= 2 {
					full += float64(28-layers)*tl + float64(32-layers)*vl*boolf(kind == "image")
				}
				b.ReportMetric(measured*1e3, "ms/call-reduced")
				b.ReportMetric(tl*1e3, "ms/text-layer")
				if kind == "image" {
					b.ReportMetric(vl*1e3, "ms/vision-layer")
				}
				b.ReportMetric(float64(per)/full, kind+"s/s-full-est")
				// Achieved rate of one layer (matmuls + attention scores/values).
				H, I, hd := cfg.HiddenSize, cfg.IntermediateSize, cfg.HeadDim()
				nh, kv := cfg.NumAttentionHeads, cfg.NumKeyValueHeads
				var toks, L float64
				for _, in := range ins {
					toks += float64(len(in.IDs))
					L = max(L, float64(len(in.IDs)))
				}
				tf := toks * (2*float64(H*(nh+2*kv)*hd+H*nh*hd+3*H*I) + 2*L*float64(nh*hd)) // causal: half of 4·L·nh·hd
				b.ReportMetric(tf/tl/1e9, "GFLOP/s-text-layer")
				if kind == "image" {
					D, M := float64(cfg.Vision.EmbedDim), float64(cfg.Vision.MLPDim())
					rows := 1024.0
					vf := rows * (2*(3*D*D+D*D+2*D*M) + 4*rows*D)
					b.ReportMetric(vf/vl/1e9, "GFLOP/s-vision-layer")
				}
				b.ReportMetric(float64(procstat.PeakRSS())/(1<<20), "peakRSS-MiB")
			})
		}
	}
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
