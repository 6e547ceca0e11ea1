package beit3

import (
	"context"
	"fmt"
	"github.com/airvec/airvec/internal/heads/synthetic"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// newSynthStore declares M2's tensor names for a config in a
// synthetic.Lazy store: values are generated on each call, so only the
// packed copies stay resident.
func newSynthStore(cfg Config) *synthetic.Lazy {
	D, F, O := cfg.EncoderEmbedDim, cfg.FFNDim, cfg.OutEmbedDim
	s := synthetic.NewLazy(synthFill)
	add := s.Add
	add("logit_scale")
	add("logit_vl_scale")
	add("backbone.text_embed.weight", cfg.VocabSize, D)
	add("backbone.vision_embed.mask_token", 1, 1, D)
	add("backbone.vision_embed.cls_token", 1, 1, D)
	add("backbone.vision_embed.proj.weight", D, 3, cfg.PatchSize, cfg.PatchSize)
	add("backbone.vision_embed.proj.bias", D)
	add("backbone.encoder.embed_positions.A.weight", cfg.ImageTokens()+2, D)
	add("backbone.encoder.embed_positions.B.weight", cfg.MaxSourcePositions, D)
	stack := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			l := fmt.Sprintf("%s.layers.%d.", prefix, i)
			for _, x := range []string{"A", "B"} {
				for _, p := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
					add(l+"self_attn."+p+"."+x+".weight", D, D)
					add(l+"self_attn."+p+"."+x+".bias", D)
				}
				for _, n := range []string{"self_attn.inner_attn_ln." + x, "self_attn_layer_norm." + x, "final_layer_norm." + x} {
					add(l+n+".weight", D)
					add(l+n+".bias", D)
				}
				add(l+"ffn."+x+".fc1.weight", F, D)
				add(l+"ffn."+x+".fc1.bias", F)
				add(l+"ffn."+x+".fc2.weight", D, F)
				add(l+"ffn."+x+".fc2.bias", D)
				add(l+"ffn."+x+".ffn_layernorm.weight", F)
				add(l+"ffn."+x+".ffn_layernorm.bias", F)
			}
		}
		for _, x := range []string{"A", "B"} {
			add(prefix+".layer_norm."+x+".weight", D)
			add(prefix+".layer_norm."+x+".bias", D)
		}
	}
	stack("backbone.encoder", cfg.EncoderLayers)
	stack("backbone_vl", cfg.VLLayers)
	add("norm.weight", D)
	add("norm.bias", D)
	add("pooler.dense.weight", D, D)
	add("pooler.dense.bias", D)
	for _, p := range []string{"itc_text_proj", "itc_image_proj", "itc_vl_text_proj", "itc_vl_image_proj"} {
		add(p+".fc.weight", O, D)
	}
	return s
}

// synthFill fills a tensor with uniform values in ±0.02 from a generator
// seeded by its name.
func synthFill(name string, _ []int, v []float32) {
	var seed uint64
	for _, c := range name {
		seed = seed*31 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range v {
		v[i] = (r.Float32() - 0.5) * 0.04
	}
}

// largeConfig is configs/Encoder_1B.json (M2-Encoder-Large).
func largeConfig(t testing.TB) Config {
	cfg, err := ParseConfig([]byte(`{"beit_version": "large", "encoder_embed_dim": 1024, "out_embed_dim": 1024,
	  "encoder_layers": 21, "beit3_vl_layers": 3, "image_size": 224, "vocab_size": 115244,
	  "tokenizer_type": "GLMChineseTokenizer", "model_file": "m2_encoder_1B.ckpt"}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSynthStoreLoads(t *testing.T) {
	cfg := Config{BeitVersion: "base", EncoderEmbedDim: 32, EncoderAttentionHeads: 4, EncoderLayers: 2, VLLayers: 1,
		OutEmbedDim: 8, ImageSize: 32, PatchSize: 16, MaxTextLen: 8, VocabSize: 100}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := Load(weights.NewScope(newSynthStore(cfg)), cfg, kernels.FP32)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.EncodeImage(context.Background(), nil, make([]float32, 2*3*32*32), 2)
	if err != nil || len(out.Embeddings) != 16 {
		t.Fatalf("%v %d", err, len(out.Embeddings))
	}
}

// BenchmarkLarge measures images/s and texts/s at the M2-Encoder-Large
// geometry (1024 wide, 21+3 layers, 16 heads, FFN 4096; ~1B parameters) on
// synthetic weights. It needs ~3 GB; set AIRVEC_BENCH_M2_LARGE=1 to run.
//
//	AIRVEC_BENCH_M2_LARGE=1 go test ./internal/beit3 -run '^$' -bench Large -benchtime 2x -count 3 -cpu 2
func BenchmarkLarge(b *testing.B) {
	if os.Getenv("AIRVEC_BENCH_M2_LARGE") != "1" {
		b.Skip("set AIRVEC_BENCH_M2_LARGE=1 (needs ~3 GB)")
	}
	cfg := largeConfig(b)
	for _, prec := range []kernels.Precision{kernels.FP32, kernels.BF16} {
		t0 := time.Now()
		m, err := Load(weights.NewScope(newSynthStore(cfg)), cfg, prec)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: loaded in %v", prec, time.Since(t0))
		e := &kernels.Engine{Threads: 2}
		const nImg = 4
		pix := make([]float32, nImg*3*224*224)
		for i := range pix {
			pix[i] = float32(i%255)/127.5 - 1
		}
		b.Run(prec.String()+"/images", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := m.EncodeImage(context.Background(), e, pix, nImg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(nImg*b.N)/b.Elapsed().Seconds(), "images/s")
		})
		// 16 texts padded to the longest (24 tokens, typical short queries).
		const nTxt, L = 16, 24
		ids := make([]int, nTxt*L)
		mask := make([]float32, nTxt*L)
		for i := range ids {
			ids[i] = 100 + i%5000
			mask[i] = 1
		}
		b.Run(prec.String()+"/texts", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := m.EncodeText(context.Background(), e, ids, mask, nTxt, L); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(nTxt*b.N)/b.Elapsed().Seconds(), "texts/s")
		})
		m = nil
	}
}
