package qwen2vl

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/airvec/airvec/internal/rope"
	"github.com/airvec/airvec/kernels"
	"github.com/airvec/airvec/weights"
)

// Vision is Qwen2VisionTransformerPretrainedModel (transformers v4.49,
// modeling_qwen2_vl.py). It is immutable after LoadVision and safe for
// concurrent use.
type Vision struct {
	Cfg  VisionConfig
	Prec kernels.Precision

	// Hook, when non-nil, receives ("patch_embed", -1, x), ("block", i, x)
	// and ("merger", -1, out) during Forward. For tests.
	Hook func(name string, layer int, t []float32)

	act    kernels.Act
	patch  *kernels.Packed // patch_embed.proj as (D, C·T·P·P), no bias
	rope   *rope.Table     // VisionRotaryEmbedding(head_dim/2, θ=10000)
	blocks []visionBlock
	lnQW   []float32 // merger.ln_q (D)
	lnQB   []float32
	mlp0   *kernels.Packed // merger.mlp.0 (4D, 4D)
	mlp0B  []float32
	mlp2   *kernels.Packed // merger.mlp.2 (H, 4D)
	mlp2B  []float32

	scratch sync.Pool // *visionScratch
}

type visionBlock struct {
	n1W, n1B []float32       // norm1 (D)
	qkv      *kernels.Packed // attn.qkv (3D, D)
	qkvB     []float32
	proj     *kernels.Packed // attn.proj (D, D)
	projB    []float32
	n2W, n2B []float32       // norm2 (D)
	fc1      *kernels.Packed // mlp.fc1 (M, D)
	fc1B     []float32
	fc2      *kernels.Packed // mlp.fc2 (D, M)
	fc2B     []float32
}

// VisionKnownUnused lists buffers a vision checkpoint may carry.
var VisionKnownUnused = []string{"rotary_pos_emb.inv_freq"}

const lnEps = 1e-6 // Qwen2VisionTransformer's LayerNorms (eps=1e-6)

// LoadVision reads the tower from s, the scope holding "patch_embed.*",
// "blocks.*" and "merger.*" (a checkpoint's "visual."). Linear weights are
// packed for prec (bf16 weights are widened exactly for FP32).
func LoadVision(s *weights.Scope, cfg VisionConfig, prec kernels.Precision) (*Vision, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	D, M, H := cfg.EmbedDim, cfg.MLPDim(), cfg.HiddenSize
	K := cfg.RowLen()
	mw := cfg.SpatialMergeSize * cfg.SpatialMergeSize * D
	act, _ := activation(cfg.HiddenAct)
	v := &Vision{Cfg: cfg, Prec: prec, act: act}
	var err error
	get := func(s *weights.Scope, name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var t []float32
		if t, err = s.Tensor(name, shape...); err != nil {
			err = fmt.Errorf("qwen2vl: %w", err)
		}
		return t
	}
	pack := func(w []float32, n, k int) *kernels.Packed {
		if w == nil {
			return nil
		}
		return kernels.Pack(w, n, k, prec)
	}
	P, T := cfg.PatchSize, cfg.TemporalPatchSize
	// Conv3d(C, D, kernel=stride=(T, P, P), bias=False) on one patch is a
	// Linear over the row in (C, T, P, P) order.
	v.patch = pack(get(s, "patch_embed.proj.weight", D, cfg.InChannels, T, P, P), D, K)
	hd := D / cfg.NumHeads
	v.rope = rope.NewTable(rope.InvFreq(hd/2, 10000))
	for i := 0; i < cfg.Depth; i++ {
		bs := s.Sub(fmt.Sprintf("blocks.%d", i))
		var b visionBlock
		b.n1W, b.n1B = get(bs, "norm1.weight", D), get(bs, "norm1.bias", D)
		b.qkv, b.qkvB = pack(get(bs, "attn.qkv.weight", 3*D, D), 3*D, D), get(bs, "attn.qkv.bias", 3*D)
		b.proj, b.projB = pack(get(bs, "attn.proj.weight", D, D), D, D), get(bs, "attn.proj.bias", D)
		b.n2W, b.n2B = get(bs, "norm2.weight", D), get(bs, "norm2.bias", D)
		b.fc1, b.fc1B = pack(get(bs, "mlp.fc1.weight", M, D), M, D), get(bs, "mlp.fc1.bias", M)
		b.fc2, b.fc2B = pack(get(bs, "mlp.fc2.weight", D, M), D, M), get(bs, "mlp.fc2.bias", D)
		if err != nil {
			return nil, err
		}
		v.blocks = append(v.blocks, b)
	}
	ms := s.Sub("merger")
	v.lnQW, v.lnQB = get(ms, "ln_q.weight", D), get(ms, "ln_q.bias", D)
	v.mlp0, v.mlp0B = pack(get(ms, "mlp.0.weight", mw, mw), mw, mw), get(ms, "mlp.0.bias", mw)
	v.mlp2, v.mlp2B = pack(get(ms, "mlp.2.weight", H, mw), H, mw), get(ms, "mlp.2.bias", H)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Dim is the output width (the text hidden size).
func (v *Vision) Dim() int { return v.Cfg.HiddenSize }

// Tokens is the number of output rows for one grid: t·h·w / merge².
func (v *Vision) Tokens(grid [3]int) int {
	m := v.Cfg.SpatialMergeSize
	return grid[0] * grid[1] * grid[2] / (m * m)
}

type visionScratch struct {
	x, h, qkv, ctx, mlp, cos, sin []float32
}

// checkGrids validates grids against len(pixels).
func (v *Vision) checkGrids(pixels []float32, grids [][3]int) (int, error) {
	m := v.Cfg.SpatialMergeSize
	n := 0
	for i, g := range grids {
		if g[0] <= 0 || g[1] <= 0 || g[2] <= 0 || g[1]%m != 0 || g[2]%m != 0 {
			return 0, fmt.Errorf("qwen2vl: image %d: grid %v (h and w must be positive multiples of %d)", i, g, m)
		}
		n += g[0] * g[1] * g[2]
	}
	if len(pixels) != n*v.Cfg.RowLen() {
		return 0, fmt.Errorf("qwen2vl: pixel values hold %d values, the grids %v need %d×%d", len(pixels), grids, n, v.Cfg.RowLen())
	}
	return n, nil
}

// Forward runs the tower on pixel_values (Σ t·h·w rows of RowLen, the
// images' rows one after another, as Qwen2VLImageProcessor emits them)
// and returns the merger output, (Σ t·h·w/merge², Dim). Attention is
// block-diagonal: each frame of each image attends to itself only
// (cu_seqlens).
func (v *Vision) Forward(ctx context.Context, e *kernels.Engine, pixels []float32, grids [][3]int) ([]float32, error) {
	if e == nil {
		e = kernels.Default
	}
	N, err := v.checkGrids(pixels, grids)
	if err != nil {
		return nil, err
	}
	cfg := &v.Cfg
	D, M, nh := cfg.EmbedDim, cfg.MLPDim(), cfg.NumHeads
	hd := D / nh
	half := hd / 2
	if N == 0 {
		return []float32{}, nil
	}
	sc, _ := v.scratch.Get().(*visionScratch)
	if sc == nil {
		sc = &visionScratch{}
	}
	defer v.scratch.Put(sc)
	sc.x = grow(sc.x, N*D)
	sc.h = grow(sc.h, N*D)
	sc.qkv = grow(sc.qkv, N*3*D)
	sc.ctx = grow(sc.ctx, N*D)
	sc.mlp = grow(sc.mlp, N*M)
	sc.cos = grow(sc.cos, N*half)
	sc.sin = grow(sc.sin, N*half)
	x := sc.x // x: (N, D) residual stream

	// PatchEmbed: x = pixels · Wᵀ
	e.MatMul(x, pixels, N, v.patch, nil, kernels.ActNone)
	v.hook("patch_embed", -1, x)

	// rot_pos_emb: per row (h position, w position) in merge-window order;
	// cos/sin (N, hd/2) = [cos(hpos·inv) | cos(wpos·inv)] (inv: hd/4 values).
	v.rotary(sc.cos, sc.sin, grids)

	// Segments of cu_seqlens: one per frame of each image.
	type seg struct{ start, n, count int }
	var segs []seg
	off := 0
	for _, g := range grids {
		n := g[1] * g[2]
		for t := 0; t < g[0]; t++ {
			if k := len(segs) - 1; k >= 0 && segs[k].n == n && segs[k].start+segs[k].n*segs[k].count == off {
				segs[k].count++ // equal lengths side by side: one batched call
			} else {
				segs = append(segs, seg{start: off, n: n, count: 1})
			}
			off += n
		}
	}
	S := 3 * D
	scale := float32(1 / math.Sqrt(float64(hd)))
	for i := range v.blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &v.blocks[i]
		// Qwen2VLVisionBlock: x = x + attn(norm1(x))
		layerNormInto(e, sc.h, x, N, D, b.n1W, b.n1B)
		e.MatMul(sc.qkv, sc.h, N, b.qkv, b.qkvB, kernels.ActNone) // (N, 3D): q | k | v
		e.Parallel(N, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				r := sc.qkv[t*S : (t+1)*S]
				c, s := sc.cos[t*half:(t+1)*half], sc.sin[t*half:(t+1)*half]
				kernels.RoPE(r, 1, S, nh, hd, hd, c, s, false)
				kernels.RoPE(r[D:], 1, S, nh, hd, hd, c, s, false)
			}
		})
		for _, sg := range segs {
			o := sg.start
			e.Attention(sc.ctx[o*D:], sc.qkv[o*S:], sc.qkv[o*S+D:], sc.qkv[o*S+2*D:], kernels.AttnParams{
				Batch: sg.count, SeqQ: sg.n, SeqK: sg.n,
				Heads: nh, KVHeads: nh, HeadDim: hd,
				QStride: S, KStride: S, VStride: S, OStride: D,
				Scale: scale,
			})
		}
		e.MatMul(sc.h, sc.ctx, N, b.proj, b.projB, kernels.ActNone)
		addInto(e, x, sc.h)
		// x = x + mlp(norm2(x)); mlp = fc2(act(fc1(·)))
		layerNormInto(e, sc.h, x, N, D, b.n2W, b.n2B)
		e.MatMul(sc.mlp, sc.h, N, b.fc1, b.fc1B, v.act)
		e.MatMul(sc.h, sc.mlp, N, b.fc2, b.fc2B, kernels.ActNone)
		addInto(e, x, sc.h)
		v.hook("block", i, x)
	}
	// PatchMerger: ln_q, view(-1, merge²·D) (a merge window's rows are
	// consecutive), Linear, GELU, Linear.
	mm := cfg.SpatialMergeSize * cfg.SpatialMergeSize
	R := N / mm
	layerNormInto(e, sc.h, x, N, D, v.lnQW, v.lnQB)
	sc.mlp = grow(sc.mlp, max(N*M, R*mm*D))
	e.MatMul(sc.mlp[:R*mm*D], sc.h, R, v.mlp0, v.mlp0B, kernels.ActGELU)
	out := make([]float32, R*cfg.HiddenSize)
	e.MatMul(out, sc.mlp[:R*mm*D], R, v.mlp2, v.mlp2B, kernels.ActNone)
	v.hook("merger", -1, out)
	return out, nil
}

// rotary fills cos, sin (N, hd/2) for the rows of grids.
func (v *Vision) rotary(cos, sin []float32, grids [][3]int) {
	hd := v.Cfg.EmbedDim / v.Cfg.NumHeads
	q := hd / 4 // frequencies per axis
	half := hd / 2
	mg := 0
	for _, g := range grids {
		mg = max(mg, g[1], g[2])
	}
	tc, ts := v.rope.Rows(mg) // (mg, q)
	m := v.Cfg.SpatialMergeSize
	r := 0
	for _, g := range grids {
		for t := 0; t < g[0]; t++ {
			for wy := 0; wy < g[1]/m; wy++ {
				for wx := 0; wx < g[2]/m; wx++ {
					for my := 0; my < m; my++ {
						for mx := 0; mx < m; mx++ {
							hp, wp := wy*m+my, wx*m+mx
							c, s := cos[r*half:(r+1)*half], sin[r*half:(r+1)*half]
							copy(c[:q], tc[hp*q:(hp+1)*q])
							copy(s[:q], ts[hp*q:(hp+1)*q])
							copy(c[q:], tc[wp*q:(wp+1)*q])
							copy(s[q:], ts[wp*q:(wp+1)*q])
							r++
						}
					}
				}
			}
		}
	}
}

func (v *Vision) hook(name string, layer int, t []float32) {
	if v.Hook != nil {
		v.Hook(name, layer, t)
	}
}

// layerNormInto sets dst = LayerNorm(src) row by row.
func layerNormInto(e *kernels.Engine, dst, src []float32, rows, dim int, w, b []float32) {
	e.Parallel(rows, func(lo, hi int) {
		copy(dst[lo*dim:hi*dim], src[lo*dim:hi*dim])
		kernels.LayerNorm(dst[lo*dim:hi*dim], hi-lo, dim, w, b, lnEps)
	})
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

const chunk = 4096

// addInto sets a[i] += b[i].
func addInto(e *kernels.Engine, a, b []float32) {
	e.Parallel((len(a)+chunk-1)/chunk, func(lo, hi int) {
		end := min(hi*chunk, len(a))
		kernels.Add(a[lo*chunk:end], b[lo*chunk:end])
	})
}

// mulInto sets a[i] *= b[i].
func mulInto(e *kernels.Engine, a, b []float32) {
	e.Parallel((len(a)+chunk-1)/chunk, func(lo, hi int) {
		end := min(hi*chunk, len(a))
		ar := a[lo*chunk : end]
		for i, v := range b[lo*chunk : end] {
			ar[i] *= v
		}
	})
}
