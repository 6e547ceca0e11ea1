package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// Packed layout. The weight (N×K, PyTorch Linear) is cut into panels of
// nr = 32 output columns (the last one zero-padded). A panel is ksteps rows
// of 128 bytes, one row per k-step:
//
//	FP32: a k-step is one k; the row holds w[n0+0..31][k] (32 float32).
//	BF16: a k-step is a pair (2p, 2p+1); the row holds, for each of the 32
//	      columns n, the bf16 pair (w[n][2p], w[n][2p+1]) — the operand layout
//	      of VDPBF16PS and of AMX's TDPBF16PS B tiles (VNNI layout). K is
//	      zero-padded to a multiple of 32 (AMX tile depth).
//
// Both layouts advance 128 bytes of B and 4 bytes of A per k-step, so one
// cache-blocking driver (gemm) serves every micro-kernel.
const (
	nr        = 32
	stepBytes = 128
)

// Packed is a Linear weight (PyTorch layout N×K: out×in) packed once at load
// for MatMul. It is immutable and safe for concurrent use.
type Packed struct {
	N, K   int
	Prec   Precision
	ksteps int       // k-steps per panel (K, or K padded to 32 / 2 for BF16)
	f32    []float32 // FP32 panels
	b16    []uint16  // BF16 panels
}

// Pack packs w (row-major N×K, PyTorch Linear layout) for MatMul. It panics
// if w is shorter than n·k or n, k < 1 (a programming error in model code;
// loaders check shapes before packing).
func Pack(w []float32, n, k int, prec Precision) *Packed {
	return Default.packFor(w, n, k, prec)
}

func (e *Engine) packFor(w []float32, n, k int, prec Precision) *Packed {
	if n < 1 || k < 1 || len(w) < n*k {
		panic(fmt.Sprintf("kernels: Pack: weight of %d values for %d×%d", len(w), n, k))
	}
	np := (n + nr - 1) / nr
	p := &Packed{N: n, K: k, Prec: prec}
	switch prec {
	case BF16:
		kpad := (k + 31) &^ 31
		p.ksteps = kpad / 2
		p.b16 = make([]uint16, np*p.ksteps*2*nr)
		e.Parallel(np, func(lo, hi int) {
			for pi := lo; pi < hi; pi++ {
				pan := p.b16[pi*p.ksteps*2*nr : (pi+1)*p.ksteps*2*nr]
				for col := 0; col < nr && pi*nr+col < n; col++ {
					row := w[(pi*nr+col)*k : (pi*nr+col)*k+k]
					for q, v := range row {
						pan[(q/2)*2*nr+2*col+q%2] = bf16Bits(v)
					}
				}
			}
		})
	default:
		p.Prec = FP32
		p.ksteps = k
		p.f32 = make([]float32, np*k*nr)
		e.Parallel(np, func(lo, hi int) {
			for pi := lo; pi < hi; pi++ {
				pan := p.f32[pi*k*nr : (pi+1)*k*nr]
				for col := 0; col < nr && pi*nr+col < n; col++ {
					row := w[(pi*nr+col)*k : (pi*nr+col)*k+k]
					for q, v := range row {
						pan[q*nr+col] = v
					}
				}
			}
		})
	}
	return p
}

// panelBytes is the byte size of one packed panel.
func (w *Packed) panelBytes() int { return w.ksteps * stepBytes }

func (w *Packed) base() unsafe.Pointer {
	if w.Prec == BF16 {
		return unsafe.Pointer(&w.b16[0])
	}
	return unsafe.Pointer(&w.f32[0])
}

// tileKernel computes a mr×32 tile of C (row stride ldc bytes) from ksteps
// k-steps of A (row stride lda bytes, 4 bytes per k-step) and B (128 bytes
// per k-step, ldb bytes apart): C = A·B (+ bias[0:32] unless acc) (+ C if
// acc). All pointers are valid for the full mr×32 tile.
type tileKernel func(ksteps int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c *float32, ldc int, bias *float32, acc bool)

// gemmImpl is one implementation of MatMul: a micro-kernel per precision and
// its blocking.
type gemmImpl struct {
	name string
	mr   int        // rows per micro-tile
	f32  tileKernel // fp32 panels
	bf16 tileKernel // bf16 panels (nil: not supported)
	// bf16mr overrides mr for the bf16 kernel (AMX: 32).
	bf16mr int
	// f32rows / bf16rows, when set, hold r×32 kernels for r < mr (index r;
	// same contract as f32 / bf16 for r rows): the last row tile and short
	// inputs then compute and read only their real rows.
	f32rows, bf16rows []tileKernel
	// kAlign is the k-step multiple a bf16 k-block must have (AMX: 16).
	kAlign int
	// cvt converts n floats to bf16 (round to nearest even).
	cvt func(dst []uint16, src []float32)
	// act applies an activation to a row in place.
	act func(x []float32, act Act)
}

// MatMul computes c[m×N] = act(a[m×K] · wᵀ + bias). a and c are row-major
// with row strides K and N. bias may be nil (else it has N values).
func (e *Engine) MatMul(c, a []float32, m int, w *Packed, bias []float32, act Act) {
	e.MatMulStrided(c, w.N, a, w.K, m, w, bias, act)
}

// MatMulStrided is MatMul with explicit row strides (in elements): row i of
// a starts at a[i·lda], row i of c at c[i·ldc]. It lets callers read or write
// column slices of wider buffers (e.g. Q/K/V inside a fused QKV buffer).
func (e *Engine) MatMulStrided(c []float32, ldc int, a []float32, lda int, m int, w *Packed, bias []float32, act Act) {
	matmulWith(e, impl, c, ldc, a, lda, m, w, bias, act)
}

// MatMulStrided runs Default.MatMulStrided.
func MatMulStrided(c []float32, ldc int, a []float32, lda int, m int, w *Packed, bias []float32, act Act) {
	Default.MatMulStrided(c, ldc, a, lda, m, w, bias, act)
}

func checkMatMul(c []float32, ldc int, a []float32, lda int, m int, w *Packed, bias []float32) {
	switch {
	case m < 0 || lda < w.K || ldc < w.N:
		panic(fmt.Sprintf("kernels: MatMul: m=%d lda=%d ldc=%d for weight %d×%d", m, lda, ldc, w.N, w.K))
	case m > 0 && len(a) < (m-1)*lda+w.K:
		panic(fmt.Sprintf("kernels: MatMul: a has %d values, need %d", len(a), (m-1)*lda+w.K))
	case m > 0 && len(c) < (m-1)*ldc+w.N:
		panic(fmt.Sprintf("kernels: MatMul: c has %d values, need %d", len(c), (m-1)*ldc+w.N))
	case bias != nil && len(bias) < w.N:
		panic(fmt.Sprintf("kernels: MatMul: bias has %d values, need %d", len(bias), w.N))
	}
}

// Cache blocking. A k-block (≤ kcMaxSteps k-steps) of a 12-row A
// micro-panel (≤ 18 KiB) stays in L1 while the B panels of an N-block
// (ncPanels·32 columns, ≤ 400 KiB) stay in L2; a task covers up to
// mcMaxTiles micro-panels of rows. Variables only so benchmarks can tune
// them (see tune_test.go); never changed at run time.
var (
	kcMaxSteps = 384
	ncPanels   = 8
	mcMaxTiles = 8
)

var scratchPool sync.Pool // *[]byte

// copyBadStrides makes MatMul copy A to a padded stride when its rows alias
// L1 sets (a benchmark knob, see tune_test.go).
var copyBadStrides = true

func getScratch(n int) *[]byte {
	if p, ok := scratchPool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n+64)
	b = b[:n]
	return &b
}

// f32s views b as float32s.
func f32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// RowStride returns the row stride (in floats, ≥ n) to give an activation
// buffer with rows of n floats that a later MatMul reads as A: n itself,
// unless rows n floats apart would crowd L1 sets (n = 1024, 1536, 3072, …),
// then n plus a few cache lines. MatMul reads such rows in place at full
// speed instead of packing them per task (~8 % faster on the FFN down
// projection of BERT-base and MiniLM).
func RowStride(n int) int {
	if n < 1 {
		return n
	}
	return goodStride(n*4) / 4
}

// goodStride returns the smallest stride ≥ n bytes (a multiple of 64 when n
// is) that is not badStride.
func goodStride(n int) int {
	for badStride(n) {
		n += 64
	}
	return n
}

// badStride reports whether 12 rows lda bytes apart would crowd L1: at a
// given column, their cache lines fall into 64 sets; when 4 or more of them
// share a set, the streaming B panels keep evicting them (measured on Zen 5:
// stride 1536 floats runs the micro-kernel at 183 GFLOP/s, 1024 floats at
// 104, a stride padded by 16 floats at 265).
func badStride(lda int) bool {
	var sets [64]uint8
	for r := 0; r < 12; r++ {
		s := (r * lda / 64) & 63
		sets[s]++
		if sets[s] >= 4 {
			return true
		}
	}
	return false
}

func matmulWith(e *Engine, im *gemmImpl, c []float32, ldc int, a []float32, lda int, m int, w *Packed, bias []float32, act Act) {
	checkMatMul(c, ldc, a, lda, m, w, bias)
	if m == 0 {
		return
	}
	n, ks := w.N, w.ksteps
	kern, mr, rowKerns := im.f32, im.mr, im.f32rows
	if w.Prec == BF16 {
		kern, rowKerns = im.bf16, im.bf16rows
		if im.bf16mr > 0 {
			mr = im.bf16mr
		}
	}
	// Row tiles: mp tiles of tr rows (the last one may be shorter). With
	// r-row kernels the rows are spread evenly (16 rows: 2 × 8, not 12 + 4
	// padded); without, tiles are mr rows and the last one is zero-padded.
	mp := (m + mr - 1) / mr
	tr := mr
	if rowKerns != nil {
		tr = (m + mp - 1) / mp
		mp = (m + tr - 1) / tr
	}
	// A operand: base pointer and row stride in bytes, for the rows of mp
	// tiles (mp·mr rows when the last tile is padded).
	var (
		abase unsafe.Pointer
		aldb  int
		// tailBase, if set, holds the rows of the last (padded) tile
		// (stride tailLd bytes) when A is read in place.
		tailBase unsafe.Pointer
		tailLd   int
		sbuf     *[]byte
	)
	// Short inputs (≤ 12 row tiles, 144 rows) take the panel-outer order
	// below: each weight panel is streamed from memory once, start to end
	// (bge-base at 1×128: 128 → 115 ms on 1 thread, 80 → 64 ms on 2).
	short := rowKerns != nil && mp <= 12
	// packA: A rows crowd L1 sets (see badStride) and are copied per task,
	// one row tile and k-block at a time, into an L1-resident buffer.
	packA := false
	arows := m // rows of A the kernels read
	if rowKerns == nil {
		arows = mp * mr
	}
	threads := e.threads()
	if w.Prec == BF16 {
		// Convert once per call to bf16 pairs (zero rows up to arows, K
		// padded to 2·ksteps); stride padded against L1 aliasing.
		rowB := ks * 4
		rowB = goodStride(rowB)
		sbuf = getScratch(arows * rowB)
		buf := *sbuf
		conv := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst := unsafe.Slice((*uint16)(unsafe.Pointer(&buf[i*rowB])), rowB/2)
				if i < m {
					im.cvt(dst[:w.K], a[i*lda:i*lda+w.K])
					clear(dst[w.K : 2*ks])
				} else {
					clear(dst[:2*ks])
				}
			}
		}
		if m*w.K >= 1<<16 {
			e.Parallel(arows, conv)
		} else {
			conv(0, arows)
		}
		abase, aldb = unsafe.Pointer(&buf[0]), rowB
	} else if bad := copyBadStrides && badStride(lda*4); !bad || !short {
		// A in place; a padded last tile is copied, zero-padded.
		abase, aldb = unsafe.Pointer(&a[0]), lda*4
		packA = bad
		if rowKerns == nil && m%mr != 0 && !packA {
			rowF := RowStride(w.K)
			sbuf = getScratch(mr * rowF * 4)
			buf := f32s(*sbuf)
			for r := 0; r < mr; r++ {
				if i := (mp-1)*mr + r; i < m {
					copy(buf[r*rowF:r*rowF+w.K], a[i*lda:])
				} else {
					clear(buf[r*rowF : r*rowF+w.K])
				}
			}
			tailBase, tailLd = unsafe.Pointer(&buf[0]), rowF*4
		}
	} else {
		// Short input: copy A with a padded stride (and zero rows up to arows).
		rowF := RowStride(w.K)
		sbuf = getScratch(arows * rowF * 4)
		buf := f32s(*sbuf)
		cp := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if i < m {
					copy(buf[i*rowF:i*rowF+w.K], a[i*lda:])
				} else {
					clear(buf[i*rowF : i*rowF+w.K])
				}
			}
		}
		if threads > 1 && m*w.K >= 1<<15 {
			e.Parallel(arows, cp)
		} else {
			cp(0, arows)
		}
		abase, aldb = unsafe.Pointer(&buf[0]), rowF*4
	}

	np := (n + nr - 1) / nr
	flops := 2 * m * n * w.K
	if flops < 1<<21 {
		threads = 1
	}
	kb := (ks + kcMaxSteps - 1) / kcMaxSteps
	ncp := min(np, ncPanels)
	if short && threads > 1 {
		// Short inputs: the weight is streamed from memory once, so every
		// task takes all row tiles and the threads split N.
		ncp = max(1, (np+4*threads-1)/(4*threads))
	}
	nb := (np + ncp - 1) / ncp
	ncp = (np + nb - 1) / nb // balance the N-blocks
	kc := (ks + kb - 1) / kb
	kc = (kc + 3) &^ 3
	if w.Prec == BF16 && im.kAlign > 0 {
		kc = (kc + im.kAlign - 1) / im.kAlign * im.kAlign
	}
	// Rows per task: all row tiles for short inputs, else enough tasks for
	// dynamic balancing across threads.
	mcp := mp
	if !short {
		mcp = mcMaxTiles
		if threads > 1 {
			mcp = max(1, min(mcMaxTiles, (mp*nb+4*threads-1)/(4*threads)))
		}
	}
	mb := (mp + mcp - 1) / mcp
	mcp = (mp + mb - 1) / mb // balance the M-blocks
	wbase := w.base()
	pb := w.panelBytes()

	// aTile returns the A operand of row tile i at k-step k0 (packing it
	// into abuf when packA).
	kcPad := RowStride(kc)
	aTile := func(abuf []float32, i, k0, kk int) (unsafe.Pointer, int) {
		r0 := i * tr
		rows := min(tr, m-r0)
		if packA {
			for r := 0; r < rows; r++ {
				copy(abuf[r*kcPad:r*kcPad+kk], a[(r0+r)*lda+k0:])
			}
			if rowKerns == nil {
				for r := rows; r < mr; r++ {
					clear(abuf[r*kcPad : r*kcPad+kk])
				}
			}
			return unsafe.Pointer(&abuf[0]), kcPad * 4
		}
		if rows < mr && rowKerns == nil && tailBase != nil {
			return unsafe.Add(tailBase, k0*4), tailLd
		}
		return unsafe.Add(abase, r0*aldb+k0*4), aldb
	}
	// tileOp computes tile (i, j) over k-steps k0..k0+kk: C = A·B (+ bias)
	// on the first k-block, C += A·B after.
	tileOp := func(tile, btile []float32, ap unsafe.Pointer, ald int, i, j, k0, kk int) {
		acc := k0 > 0
		r0 := i * tr
		rows := min(tr, m-r0)
		kr := kern // kernel for this tile; it computes krows rows
		krows := mr
		if rows < mr && rowKerns != nil {
			kr, krows = rowKerns[rows], rows
		}
		bp := unsafe.Add(wbase, j*pb+k0*stepBytes)
		cols := min(nr, n-j*nr)
		var bptr *float32
		if !acc && bias != nil {
			if cols == nr {
				bptr = &bias[j*nr]
			} else {
				copy(btile[:], bias[j*nr:n])
				bptr = &btile[0]
			}
		}
		if rows == krows && cols == nr {
			kr(kk, ap, ald, bp, stepBytes, &c[r0*ldc+j*nr], ldc*4, bptr, acc)
			return
		}
		if acc {
			for r := 0; r < rows; r++ {
				copy(tile[r*nr:r*nr+cols], c[(r0+r)*ldc+j*nr:])
			}
		}
		kr(kk, ap, ald, bp, stepBytes, &tile[0], nr*4, bptr, acc)
		for r := 0; r < rows; r++ {
			copy(c[(r0+r)*ldc+j*nr:(r0+r)*ldc+j*nr+cols], tile[r*nr:])
		}
	}
	// actRows applies the epilogue activation to columns of panels j0..j1
	// of the rows of tiles i0..i1.
	actRows := func(i0, i1, j0, j1 int) {
		c0, c1 := j0*nr, min(n, j1*nr)
		for r := i0 * tr; r < min(m, i1*tr); r++ {
			im.act(c[r*ldc+c0:r*ldc+c1], act)
		}
	}
	task := func(t int) {
		jb, ib := t/mb, t%mb
		j0, j1 := jb*ncp, min(np, (jb+1)*ncp)
		i0, i1 := ib*mcp, min(mp, (ib+1)*mcp)
		tbFloats := (32 + 1) * nr
		if packA {
			tbFloats += mr * kcPad
		}
		tb := getScratch(tbFloats * 4)
		defer scratchPool.Put(tb)
		tbuf := f32s(*tb)
		tile := tbuf[:32*nr]         // edge tiles (mr ≤ 32)
		btile := tbuf[32*nr : 33*nr] // padded bias of the last panel
		abuf := tbuf[33*nr:]         // packed A tile (packA)
		if short {
			// Few rows: read each panel start to end once (a sequential
			// stream through the packed weight), all row tiles per k-block.
			for j := j0; j < j1; j++ {
				for k0 := 0; k0 < ks; k0 += kc {
					kk := min(kc, ks-k0)
					for i := i0; i < i1; i++ {
						ap, ald := aTile(abuf, i, k0, kk)
						tileOp(tile, btile, ap, ald, i, j, k0, kk)
					}
				}
				if act != ActNone {
					actRows(i0, i1, j, j+1)
				}
			}
			return
		}
		for k0 := 0; k0 < ks; k0 += kc {
			kk := min(kc, ks-k0)
			for i := i0; i < i1; i++ {
				ap, ald := aTile(abuf, i, k0, kk)
				for j := j0; j < j1; j++ {
					tileOp(tile, btile, ap, ald, i, j, k0, kk)
				}
				if k0+kk == ks && act != ActNone {
					actRows(i, i+1, j0, j1)
				}
			}
		}
	}
	tasks := nb * mb
	if threads <= 1 || tasks == 1 {
		for t := 0; t < tasks; t++ {
			task(t)
		}
	} else {
		parallelChunks(threads, tasks, 1, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				task(t)
			}
		})
	}
	if sbuf != nil {
		scratchPool.Put(sbuf)
	}
}

// MatMul runs Default.MatMul.
func MatMul(c, a []float32, m int, w *Packed, bias []float32, act Act) {
	Default.MatMul(c, a, m, w, bias, act)
}

// MatMulT computes c[m×n] = a[m×k] · b[n×k]ᵀ for an unpacked b (e.g. a
// similarity matrix between two sets of vectors). It packs b per call; for a
// weight used more than once, Pack it once and call MatMul.
func (e *Engine) MatMulT(c, a, b []float32, m, n, k int) {
	if m == 0 || n == 0 {
		return
	}
	e.MatMul(c, a, m, Pack(b, n, k, FP32), nil, ActNone)
}

// MatMulT runs Default.MatMulT.
func MatMulT(c, a, b []float32, m, n, k int) { Default.MatMulT(c, a, b, m, n, k) }
