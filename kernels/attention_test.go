package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveAttention is the float64 reference of AttnParams' semantics.
func naiveAttention(out, q, k, v []float32, p AttnParams) {
	kvh := p.KVHeads
	if kvh == 0 {
		kvh = p.Heads
	}
	g := p.Heads / kvh
	for b := 0; b < p.Batch; b++ {
		for h := 0; h < p.Heads; h++ {
			kh := h / g
			for i := 0; i < p.SeqQ; i++ {
				sc := make([]float64, p.SeqK)
				mx := math.Inf(-1)
				for j := range sc {
					if (p.KeyMask != nil && p.KeyMask[b*p.SeqK+j] == 0) || (p.Causal && j > i) {
						sc[j] = math.Inf(-1)
						continue
					}
					var s float64
					for t := 0; t < p.HeadDim; t++ {
						s += float64(q[(b*p.SeqQ+i)*p.QStride+h*p.HeadDim+t]) * float64(k[(b*p.SeqK+j)*p.KStride+kh*p.HeadDim+t])
					}
					s *= float64(p.Scale)
					if p.Bias != nil {
						s += float64(p.Bias[b*p.BiasBatchStride+(h*p.SeqQ+i)*p.SeqK+j])
					}
					sc[j] = s
					mx = math.Max(mx, s)
				}
				o := out[(b*p.SeqQ+i)*p.OStride+h*p.HeadDim:][:p.HeadDim]
				if math.IsInf(mx, -1) {
					clear(o)
					continue
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for t := range o {
					var acc float64
					for j, w := range sc {
						acc += w / sum * float64(v[(b*p.SeqK+j)*p.VStride+kh*p.HeadDim+t])
					}
					o[t] = float32(acc)
				}
			}
		}
	}
}

type attnCase struct {
	batch, seqQ, seqK, heads, kvHeads, dim int
	causal, mask, bias, sharedBias         bool
}

func runAttnCase(t *testing.T, name string, fn func(out, q, k, v []float32, p AttnParams), c attnCase, r *rand.Rand) {
	t.Helper()
	kvh := c.kvHeads
	p := AttnParams{Batch: c.batch, SeqQ: c.seqQ, SeqK: c.seqK, Heads: c.heads, KVHeads: kvh, HeadDim: c.dim,
		Scale: float32(1 / math.Sqrt(float64(c.dim))), Causal: c.causal}
	if kvh == 0 {
		kvh = c.heads
	}
	p.QStride = c.heads*c.dim + r.IntN(3)
	p.OStride = c.heads*c.dim + r.IntN(3)
	p.KStride = kvh*c.dim + r.IntN(3)
	p.VStride = kvh*c.dim + r.IntN(3)
	q := randSlice(r, c.batch*c.seqQ*p.QStride)
	k := randSlice(r, c.batch*c.seqK*p.KStride)
	v := randSlice(r, c.batch*c.seqK*p.VStride)
	for i := range q {
		q[i] *= 2
	}
	if c.mask {
		p.KeyMask = make([]float32, c.batch*c.seqK)
		for b := 0; b < c.batch; b++ {
			// alternate left padding, right padding, holes, fully masked
			n := r.IntN(c.seqK + 1)
			for j := 0; j < c.seqK; j++ {
				var keep bool
				switch b % 4 {
				case 0:
					keep = j >= c.seqK-n // left padding
				case 1:
					keep = j < n // right padding
				case 2:
					keep = r.IntN(3) != 0
				case 3:
					keep = false
				}
				if keep {
					p.KeyMask[b*c.seqK+j] = 1
				}
			}
		}
	}
	if c.bias {
		nb := c.batch
		if c.sharedBias {
			nb = 1
		} else {
			p.BiasBatchStride = c.heads * c.seqQ * c.seqK
		}
		p.Bias = randSlice(r, nb*c.heads*c.seqQ*c.seqK)
	}
	want := make([]float32, c.batch*c.seqQ*p.OStride)
	got := make([]float32, len(want)+3)
	for i := range got {
		got[i] = guard
	}
	naiveAttention(want, q, k, v, p)
	fn(got, q, k, v, p)
	for row := 0; row < c.batch*c.seqQ; row++ {
		for col := 0; col < p.OStride; col++ {
			i := row*p.OStride + col
			if col >= c.heads*c.dim {
				if got[i] != guard {
					t.Fatalf("%s %+v: wrote outside heads at row %d col %d", name, c, row, col)
				}
				continue
			}
			if g := float64(got[i]); math.IsNaN(g) || math.Abs(g-float64(want[i])) > 2e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s %+v: out[%d,%d] = %v, want %v", name, c, row, col, got[i], want[i])
			}
		}
	}
	for i := len(want); i < len(got); i++ {
		if got[i] != guard {
			t.Fatalf("%s: wrote past out", name)
		}
	}
}

func TestAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type variant struct {
		name string
		fn   func(out, q, k, v []float32, p AttnParams)
	}
	var vs []variant
	for _, im := range impls {
		for _, th := range []int{1, 2} {
			e := &Engine{Threads: th}
			vs = append(vs, variant{fmt.Sprintf("%s/t%d", im.name, th), func(out, q, k, v []float32, p AttnParams) {
				attentionBlocked(e, im, primFor(im), out, q, k, v, p)
			}})
		}
	}
	vs = append(vs, variant{"generic-loop", func(out, q, k, v []float32, p AttnParams) { attentionGeneric(Default, out, q, k, v, p) }})
	cases := []attnCase{
		{1, 1, 1, 1, 0, 1, false, false, false, false},
		{2, 7, 7, 2, 0, 8, false, true, false, false},
		{4, 13, 13, 4, 2, 32, true, true, false, false},
		{4, 40, 40, 4, 1, 64, true, true, false, false},
		{4, 33, 70, 3, 0, 64, false, true, true, false},
		{2, 25, 25, 4, 2, 20, true, false, true, true},
		{4, 64, 64, 2, 0, 128, false, true, false, false},
		{1, 100, 100, 2, 0, 32, true, false, false, false},
		{4, 17, 9, 2, 2, 48, false, true, true, false},
	}
	if !testing.Short() {
		cases = append(cases, attnCase{2, 257, 257, 4, 2, 64, true, true, false, false}, attnCase{4, 130, 130, 2, 0, 96, false, true, true, true})
	}
	for _, v := range vs {
		for _, c := range cases {
			runAttnCase(t, v.name, v.fn, c, r)
		}
	}
}

// primFor returns the primitives that go with a GEMM implementation.
func primFor(im *gemmImpl) *primImpl {
	for _, p := range prims {
		if p.name == im.name || (im.name == "amx" && p.name == "avx512") {
			return p
		}
	}
	return genericPrims
}

// TestAttentionBadStride covers the copied-Q path (row stride a multiple of
// 4 KiB) against the naive reference.
func TestAttentionBadStride(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	p := AttnParams{Batch: 2, SeqQ: 30, SeqK: 30, Heads: 2, HeadDim: 64, QStride: 1024, KStride: 128, VStride: 128, OStride: 128, Scale: 0.125, Causal: true}
	q, k, v := randSlice(r, 2*30*1024), randSlice(r, 2*30*128), randSlice(r, 2*30*128)
	want, got := make([]float32, 2*30*128), make([]float32, 2*30*128)
	naiveAttention(want, q, k, v, p)
	Attention(got, q, k, v, p)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 2e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("out[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestPackK checks every K packer (the scalar one and, where the CPU has it,
// the AVX-512 transpose) against the definition of the panel layout, with
// odd row strides, partial last panels and guard values around kpack.
func TestPackK(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	type packer struct {
		name string
		fn   kPacker
	}
	ps := []packer{{"generic", packKGeneric}, {prim.name, attnOpsFor(prim).packK}}
	nks := []int{64, 100, 128, 200}
	for nk := 1; nk <= 33; nk++ {
		nks = append(nks, nk)
	}
	const pad = 40
	nan := float32(math.NaN())
	for _, pk := range ps {
		for _, d := range []int{16, 32, 48, 64, 80, 96, 128, 8, 20, 40} {
			for _, nk := range nks {
				kld := d + 1 + 2*r.IntN(40) // odd strides, ≥ d
				off := r.IntN(d + 1)        // the head's first float in a row
				k := randSlice(r, off+(nk-1)*kld+d)
				nkp := (nk + nr - 1) &^ (nr - 1)
				buf := make([]float32, nkp*d+2*pad)
				for i := range buf {
					buf[i] = guard
				}
				kpack := buf[pad : pad+nkp*d]
				scratch := make([]float32, nr*d)
				for i := range scratch {
					scratch[i] = nan
				}
				pk.fn(kpack, k[off:], kld, nk, d, scratch)
				for i := range buf {
					if i < pad || i >= pad+nkp*d {
						if buf[i] != guard {
							t.Fatalf("%s d=%d nk=%d: wrote outside kpack at %d", pk.name, d, nk, i-pad)
						}
						continue
					}
					e := i - pad
					pan, rem := e/(nr*d), e%(nr*d)
					tt, j := rem/nr, pan*nr+rem%nr
					var want float32
					if j < nk {
						want = k[off+j*kld+tt]
					}
					if kpack[e] != want || math.Signbit(float64(kpack[e])) != math.Signbit(float64(want)) {
						t.Fatalf("%s d=%d nk=%d kld=%d: kpack[%d] (key %d, dim %d) = %v, want %v", pk.name, d, nk, kld, e, j, tt, kpack[e], want)
					}
				}
			}
		}
	}
}

// TestAttnRowOps checks the row copy and scale helpers of attnOpsFor(prim)
// against the generic ones over tails, odd strides and guard values.
func TestAttnRowOps(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	ops := attnOpsFor(prim)
	const pad = 20
	for n := 1; n <= 70; n += 1 + n/16 {
		for rows := 1; rows <= 13; rows += 3 {
			lds, ldd := n+r.IntN(5), n+r.IntN(5)
			src := randSlice(r, (rows-1)*lds+n)
			s := randSlice(r, rows)
			for op := 0; op < 2; op++ {
				want := make([]float32, (rows-1)*ldd+n+2*pad)
				got := make([]float32, len(want))
				for i := range got {
					got[i], want[i] = guard, guard
				}
				wd, gd := want[pad:len(want)-pad], got[pad:len(got)-pad]
				if op == 0 {
					copyRowsGeneric(wd, ldd, src, lds, rows, n)
					ops.copyRows(gd, ldd, src, lds, rows, n)
				} else {
					scaleRowsGeneric(wd, ldd, src, lds, rows, n, s)
					ops.scaleRows(gd, ldd, src, lds, rows, n, s)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s op %d n=%d rows=%d ldd=%d: dst[%d] = %v, want %v", prim.name, op, n, rows, ldd, i-pad, got[i], want[i])
					}
				}
			}
		}
	}
}
