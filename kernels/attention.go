package kernels

import (
	"math"
	"unsafe"
)

// Attention computes out = softmax(scale·q·kᵀ + bias + mask) · v per batch
// and head (see AttnParams). A query row whose keys are all masked gets
// zeros. The work is split over batch×heads on the engine's workers.
func (e *Engine) Attention(out, q, k, v []float32, p AttnParams) {
	attentionBlocked(e, impl, prim, out, q, k, v, p)
}

// Attention runs Default.Attention.
func Attention(out, q, k, v []float32, p AttnParams) { Default.Attention(out, q, k, v, p) }

// attentionBlocked runs attention with the GEMM micro-kernel of im: for each
// (batch, kv head) K is packed once into 32-key panels (attnOps.packK: an
// AVX-512 transpose with the AVX-512 primitives) and V copied into a
// contiguous block; for each block of mr query rows S = Q·Kᵀ (mr × keys) is
// computed by the micro-kernel reading Q in place, masked and soft-maxed row
// by row in L1/L2, O = P·V is computed by the micro-kernel into an L1 tile,
// and out = O/sum is written in one pass. Meanwhile the next head's Q, K
// and V rows are prefetched. Keys after the last unmasked one of a
// sequence, and (causal) keys after a block's last query, are skipped.
func attentionBlocked(e *Engine, im *gemmImpl, pi *primImpl, out, q, k, v []float32, p AttnParams) {
	kvh := p.KVHeads
	if kvh == 0 {
		kvh = p.Heads
	}
	if p.Batch == 0 || p.Heads == 0 || p.SeqQ == 0 {
		return
	}
	checkAttn(out, q, k, v, p, kvh)
	group := p.Heads / kvh
	d := p.HeadDim
	mr := im.mr
	kern := im.f32
	dpad := (d + nr - 1) &^ (nr - 1)
	// V is packed per (batch, kv head) into a contiguous [keys][dpad] block:
	// reading it in place (stride VStride) aliases L1/L2 sets badly for the
	// fused-QKV strides of real models.
	vInPlace := d%nr == 0 && !attnPackV
	negInf := float32(math.Inf(-1))
	qBad := badStride(p.QStride * 4)
	dq := goodStride(d*4) / 4 // row stride of copied Q blocks
	ops := attnOpsFor(pi)

	e.Parallel(p.Batch*p.Heads, func(lo, hi int) {
		nkMax := (p.SeqK + nr - 1) &^ (nr - 1)
		// S rows are read as the A operand of P·V: pad their stride so the
		// 12 rows do not share L1 sets (see badStride).
		sld := goodStride(nkMax*4) / 4
		floats := nkMax*d + mr*sld + mr*dq + 2*nkMax + mr*dpad + nr*d
		if !vInPlace {
			floats += p.SeqK * dpad
		}
		sb := getScratch(floats * 4)
		buf := f32s(*sb)
		kpack, buf := buf[:nkMax*d], buf[nkMax*d:]
		s, buf := buf[:mr*sld], buf[mr*sld:]
		qpad, buf := buf[:mr*dq], buf[mr*dq:]
		maskAdd, buf := buf[:nkMax], buf[nkMax:]
		comb, buf := buf[:nkMax], buf[nkMax:]
		tile, buf := buf[:mr*dpad], buf[mr*dpad:]
		kscr, buf := buf[:nr*d], buf[nr*d:]
		vpack := buf
		invSum := make([]float32, mr)
		lastB, lastKH := -1, -1
		var nk int
		for bh := lo; bh < hi; bh++ {
			b, h := bh/p.Heads, bh%p.Heads
			kh := h / group
			if b != lastB {
				// Additive key mask of this sequence; trailing masked keys dropped.
				nk = p.SeqK
				if p.KeyMask != nil {
					km := p.KeyMask[b*p.SeqK : b*p.SeqK+p.SeqK]
					for nk > 0 && km[nk-1] == 0 {
						nk--
					}
					for j := 0; j < nk; j++ {
						if km[j] == 0 {
							maskAdd[j] = negInf
						} else {
							maskAdd[j] = 0
						}
					}
				}
			}
			if nk == 0 {
				for i := 0; i < p.SeqQ; i++ {
					clear(out[(b*p.SeqQ+i)*p.OStride+h*d:][:d])
				}
				lastB = b
				continue
			}
			if b != lastB || kh != lastKH {
				// K panels: kpack[(j/32)·d·32 + t·32 + j%32] = k[j][t].
				ops.packK(kpack, k[(b*p.SeqK)*p.KStride+kh*d:], p.KStride, nk, d, kscr)
				if !vInPlace {
					ops.copyRows(vpack, dpad, v[(b*p.SeqK)*p.VStride+kh*d:], p.VStride, nk, d)
					for j := 0; j < nk && d < dpad; j++ {
						clear(vpack[j*dpad+d : j*dpad+dpad])
					}
				}
				lastB, lastKH = b, kh
			}
			var vbase unsafe.Pointer
			vld := p.VStride * 4
			if vInPlace {
				vbase = unsafe.Pointer(&v[(b*p.SeqK)*p.VStride+kh*d])
			} else {
				vbase, vld = unsafe.Pointer(&vpack[0]), dpad*4
			}
			// The next head's Q, K and V rows are fetched a slice per query
			// block: rows a page or more apart defeat the hardware
			// prefetchers, and the packing would wait for each line.
			nb := (p.SeqQ + mr - 1) / mr
			pfNext := ops.prefetch != nil && bh+1 < hi
			b2, h2 := (bh+1)/p.Heads, (bh+1)%p.Heads
			pfKV := b2 != b || h2/group != kh
			for i0, ib := 0, 0; i0 < p.SeqQ; i0, ib = i0+mr, ib+1 {
				rows := min(mr, p.SeqQ-i0)
				if pfNext {
					r0, r1 := ib*p.SeqQ/nb, (ib+1)*p.SeqQ/nb
					ops.prefetch(unsafe.Pointer(&q[(b2*p.SeqQ+r0)*p.QStride+h2*d]), p.QStride*4, r1-r0, d*4)
					if j0, j1 := ib*p.SeqK/nb, (ib+1)*p.SeqK/nb; pfKV && j1 > j0 {
						ops.prefetch(unsafe.Pointer(&k[(b2*p.SeqK+j0)*p.KStride+h2/group*d]), p.KStride*4, j1-j0, d*4)
						ops.prefetch(unsafe.Pointer(&v[(b2*p.SeqK+j0)*p.VStride+h2/group*d]), p.VStride*4, j1-j0, d*4)
					}
				}
				nkb := nk
				if p.Causal {
					nkb = min(nk, i0+rows)
				}
				nkp := (nkb + nr - 1) &^ (nr - 1)
				// S = Q·Kᵀ for rows i0..i0+mr.
				qbase := unsafe.Pointer(&q[(b*p.SeqQ+i0)*p.QStride+h*d])
				qld := p.QStride * 4
				if rows < mr || qBad {
					// Partial block, or Q rows that crowd L1 sets: copy.
					// (Rows ≥ rows only feed S rows that are cleared below.)
					clear(qpad[rows*dq:])
					ops.copyRows(qpad, dq, q[(b*p.SeqQ+i0)*p.QStride+h*d:], p.QStride, rows, d)
					qbase, qld = unsafe.Pointer(&qpad[0]), dq*4
				}
				for jp := 0; jp < nkp/nr; jp++ {
					kern(d, qbase, qld, unsafe.Pointer(&kpack[jp*d*nr]), nr*4, &s[jp*nr], sld*4, nil, false)
				}
				// Row softmax with scale, bias, key mask and causal mask.
				for r := 0; r < rows; r++ {
					i := i0 + r
					row := s[r*sld : r*sld+nkp]
					n := nkb
					if p.Causal {
						n = min(nkb, i+1)
					}
					var add []float32
					switch {
					case p.Bias != nil:
						copy(comb[:n], p.Bias[b*p.BiasBatchStride+(h*p.SeqQ+i)*p.SeqK:][:n])
						if p.KeyMask != nil {
							pi.add(comb[:n], maskAdd[:n])
						}
						add = comb[:n]
					case p.KeyMask != nil:
						add = maskAdd[:n]
					}
					mx := pi.scaleAddMax(row[:n], add, p.Scale)
					if mx == negInf || mx != mx {
						clear(row)
						invSum[r] = 0
						continue
					}
					// P stays unnormalised; O's row is scaled by 1/sum after P·V
					// (HeadDim values instead of n).
					invSum[r] = 1 / pi.expSum(row[:n], mx)
					clear(row[n:])
				}
				for r := rows; r < mr; r++ {
					clear(s[r*sld : r*sld+nkp])
				}
				// O = P·V, 32 head dims at a time, into the L1-resident tile;
				// then out = tile/sum row by row.
				for jd := 0; jd < dpad; jd += nr {
					kern(nkb, unsafe.Pointer(&s[0]), sld*4, unsafe.Add(vbase, jd*4), vld, &tile[jd], dpad*4, nil, false)
				}
				ops.scaleRows(out[(b*p.SeqQ+i0)*p.OStride+h*d:], p.OStride, tile, dpad, rows, d, invSum)
			}
		}
		scratchPool.Put(sb)
	})
}

// kPacker packs the first nk keys of k (rows kld floats apart, d floats
// each) into 32-key panels, kpack[(j/32)·d·32 + t·32 + j%32] = k[j·kld+t],
// with keys nk ≤ j < nk rounded up to 32 zero. scratch holds 32·d floats
// the packer may overwrite.
type kPacker func(kpack, k []float32, kld, nk, d int, scratch []float32)

// attnOps are the data-movement helpers of attentionBlocked (attnOpsFor
// picks them for a primitive set); genericAttnOps are the reference ones.
type attnOps struct {
	packK kPacker
	// copyRows copies rows rows of n floats: dst[r·ldd+t] = src[r·lds+t].
	copyRows func(dst []float32, ldd int, src []float32, lds, rows, n int)
	// scaleRows sets dst[r·ldd+t] = src[r·lds+t]·s[r] for r < rows, t < n.
	scaleRows func(dst []float32, ldd int, src []float32, lds, rows, n int, s []float32)
	// prefetch, if not nil, hints that rows rows of n bytes, ld bytes apart
	// from p, will be read soon.
	prefetch func(p unsafe.Pointer, ld, rows, n int)
}

var genericAttnOps = &attnOps{packK: packKGeneric, copyRows: copyRowsGeneric, scaleRows: scaleRowsGeneric}

func copyRowsGeneric(dst []float32, ldd int, src []float32, lds, rows, n int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*ldd:r*ldd+n], src[r*lds:][:n])
	}
}

func scaleRowsGeneric(dst []float32, ldd int, src []float32, lds, rows, n int, s []float32) {
	for r := 0; r < rows; r++ {
		sr, d := src[r*lds:][:n], dst[r*ldd:][:n]
		for t, x := range sr {
			d[t] = x * s[r]
		}
	}
}

// packKGeneric is the scalar kPacker (the reference of packKSIMD).
func packKGeneric(kpack, k []float32, kld, nk, d int, _ []float32) {
	nkp := (nk + nr - 1) &^ (nr - 1)
	if nkp == 0 {
		return
	}
	_ = kpack[nkp*d-1]
	for j := 0; j < nkp; j++ {
		// Scatter k[j][0:d] down column j%32 of panel j/32 (the bounds were
		// checked above).
		pan := unsafe.Pointer(&kpack[(j/nr)*d*nr+j%nr])
		if j >= nk {
			for t := 0; t < d; t++ {
				*(*float32)(unsafe.Add(pan, t*nr*4)) = 0
			}
			continue
		}
		for t, x := range k[j*kld:][:d] {
			*(*float32)(unsafe.Add(pan, t*nr*4)) = x
		}
	}
}

// attnPackV forces packing V (see above); a tuning knob for benchmarks.
var attnPackV = true

func checkAttn(out, q, k, v []float32, p AttnParams, kvh int) {
	bad := func(what string) {
		panic("kernels: Attention: " + what)
	}
	switch {
	case p.HeadDim < 1 || p.SeqK < 0 || kvh < 1 || p.Heads%kvh != 0:
		bad("bad HeadDim, SeqK or KVHeads")
	case p.QStride < p.Heads*p.HeadDim || p.OStride < p.Heads*p.HeadDim ||
		p.KStride < kvh*p.HeadDim || p.VStride < kvh*p.HeadDim:
		bad("row stride shorter than heads·HeadDim")
	}
	need := func(s []float32, rows, stride, width int, name string) {
		if rows > 0 && len(s) < (rows-1)*stride+width {
			bad(name + " too short")
		}
	}
	need(q, p.Batch*p.SeqQ, p.QStride, p.Heads*p.HeadDim, "q")
	need(out, p.Batch*p.SeqQ, p.OStride, p.Heads*p.HeadDim, "out")
	need(k, p.Batch*p.SeqK, p.KStride, kvh*p.HeadDim, "k")
	// v rows are read 32 floats at a time per head when HeadDim%32 == 0,
	// i.e. exactly the head's dims: no over-read.
	need(v, p.Batch*p.SeqK, p.VStride, kvh*p.HeadDim, "v")
	if p.KeyMask != nil && len(p.KeyMask) < p.Batch*p.SeqK {
		bad("KeyMask too short")
	}
	if p.Bias != nil {
		nb := 1
		if p.BiasBatchStride != 0 {
			nb = p.Batch
		}
		if len(p.Bias) < (nb-1)*p.BiasBatchStride+p.Heads*p.SeqQ*p.SeqK {
			bad("Bias too short")
		}
	}
}
