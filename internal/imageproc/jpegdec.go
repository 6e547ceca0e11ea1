package imageproc

import (
	"encoding/binary"
	"errors"
	"image"
)

// A JPEG decoder that reproduces libjpeg-turbo's default decompression
// (what PIL returns): the entropy decoding is fully specified by the
// standard, so what must match is libjpeg's "islow" integer IDCT
// (jidctint.c), its range limiting, and — applied afterwards by
// jpegYCbCrToRGB — its fancy chroma upsampling and YCbCr→RGB tables.
//
// It handles baseline, extended-sequential and progressive Huffman JPEGs
// with 8-bit samples and 1 or 3 components. Anything else (arithmetic
// coding, 12-bit, lossless, CMYK/YCCK, unusual sampling factors) reports
// errJPEGFallback and Decode uses Go's image/jpeg instead.

var errJPEGFallback = errors.New("jpeg: not handled by the exact decoder")

// errJPEGData is any malformed-stream condition; Decode falls back to
// image/jpeg, which reports its own error.
var errJPEGData = errors.New("jpeg: malformed data")

// zigzag maps zig-zag order to natural (row-major) order.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

type huffTable struct {
	// lookahead: for the next 9 bits, (length<<8 | value), 0 when longer.
	look    [1 << 9]uint16
	maxcode [18]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index in vals of the first code of each length
	mincode [17]int32
	vals    []uint8
	ok      bool
}

func (h *huffTable) build(counts [16]int, vals []uint8) error {
	h.vals = vals
	code, k := int32(0), int32(0)
	for i := range h.look {
		h.look[i] = 0
	}
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		h.valptr[l] = k
		h.mincode[l] = code
		if code+n > 1<<l {
			return errJPEGData // more codes than the length allows
		}
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			for j := int32(0); j < n; j++ {
				if l <= 9 {
					c := code + j
					shift := 9 - l
					for f := int32(0); f < 1<<shift; f++ {
						h.look[c<<shift|f] = uint16(l)<<8 | uint16(vals[k+j])
					}
				}
			}
			code += n
			k += n
			h.maxcode[l] = code - 1
		}
		code <<= 1
	}
	h.maxcode[17] = 0x7fffffff
	h.ok = true
	return nil
}

type bitReader struct {
	d      []byte
	pos    int    // next byte to read
	acc    uint64 // bits, MSB first, left-aligned at bit 63
	n      int    // valid bits in acc
	marker bool   // hit a marker: feeding zeros
	over   int    // zero bits consumed past a marker
}

func (br *bitReader) fill() {
	for br.n <= 56 {
		var b byte
		if br.marker || br.pos >= len(br.d) {
			br.marker = true
			b = 0
			br.over += 8
		} else {
			b = br.d[br.pos]
			if b == 0xFF {
				// skip fill bytes
				p := br.pos + 1
				for p < len(br.d) && br.d[p] == 0xFF {
					p++
				}
				if p < len(br.d) && br.d[p] == 0x00 {
					br.pos = p + 1
				} else {
					br.pos = p - 1 // at the marker's 0xFF
					br.marker = true
					b = 0
					br.over += 8
				}
			} else {
				br.pos++
			}
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

func (br *bitReader) bits(n int) int32 {
	if n == 0 {
		return 0
	}
	if br.n < n {
		br.fill()
	}
	v := int32(br.acc >> (64 - n))
	br.acc <<= n
	br.n -= n
	return v
}

func (br *bitReader) bit() bool { return br.bits(1) != 0 }

// consumedPastMarker: more bits were used than the scan had (the
// zero-padding libjpeg would warn about).
func (br *bitReader) consumedPastMarker() bool { return br.over-br.n > 7 }

func (br *bitReader) decode(h *huffTable) (uint8, error) {
	if !h.ok {
		return 0, errJPEGData
	}
	if br.n < 16 {
		br.fill()
	}
	if e := h.look[br.acc>>(64-9)]; e != 0 {
		l := int(e >> 8)
		br.acc <<= l
		br.n -= l
		return uint8(e), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(br.acc>>63)
		br.acc <<= 1
		br.n--
		if code <= h.maxcode[l] {
			return h.vals[h.valptr[l]+code-h.mincode[l]], nil
		}
	}
	return 0, errJPEGData
}

// reset drops buffered bits at a restart or scan boundary and returns the
// position of the next marker.
func (br *bitReader) reset() {
	br.acc, br.n, br.marker, br.over = 0, 0, false, 0
}

func extend(v int32, s int) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

type jpegComp struct {
	id, h, v, tq int
	qt           [64]int32 // latched at the component's first scan (natural order)
	latched      bool
	bw, bh       int     // blocks per line / column in storage (MCU padded)
	cbw, cbh     int     // blocks covering the component itself
	coef         []int16 // bw·bh·64 (JCOEF, as libjpeg stores them)
	dcPred       int32
	dcT, acT     int
	// coefBits[k] is the successive-approximation bit position still
	// missing for zig-zag coefficient k < 10 (-1: never sent, 0: complete),
	// as libjpeg's coef_bits: it decides block smoothing.
	coefBits [10]int
}

type jpegDecoder struct {
	d           []byte
	w, h        int
	progressive bool
	comps       []jpegComp
	hmax, vmax  int
	mcusX       int
	mcusY       int
	qt          [4][64]int32
	qtSet       [4]bool
	dc, ac      [4]huffTable
	restart     int
	adobe       bool
	adobeXform  int
	jfif        bool
	eobrun      int32
}

// decodeJPEGExact returns the decoded image (*image.Gray, *image.YCbCr or
// *RGB for Adobe RGB files) or errJPEGFallback / errJPEGData.
func decodeJPEGExact(data []byte, maxPixels int) (img any, err error) {
	defer func() {
		// Inner loops index by stream-derived values after validating them
		// (FuzzJPEG runs decodeJPEG without this guard); a missed case must
		// still end in the image/jpeg fallback.
		if p := recover(); p != nil {
			img, err = nil, errJPEGData
		}
	}()
	return decodeJPEG(data, maxPixels)
}

func decodeJPEG(data []byte, maxPixels int) (any, error) {
	dec := &jpegDecoder{d: data}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errJPEGData
	}
	pos := 2
	sawFrame := false
	for {
		// find the next marker
		for pos < len(data) && data[pos] != 0xFF {
			pos++
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return nil, errJPEGData
		}
		m := data[pos]
		pos++
		switch {
		case m == 0xD9: // EOI
			if !sawFrame {
				return nil, errJPEGData
			}
			return dec.output()
		case m >= 0xD0 && m <= 0xD7, m == 0x01:
			continue
		}
		if pos+2 > len(data) {
			return nil, errJPEGData
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		if n < 2 || pos+n > len(data) {
			return nil, errJPEGData
		}
		seg := data[pos+2 : pos+n]
		pos += n
		var err error
		switch {
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			if sawFrame {
				return nil, errJPEGData
			}
			sawFrame = true
			err = dec.frame(seg, m == 0xC2, maxPixels)
		case m == 0xC3 || (m >= 0xC5 && m <= 0xCF && m != 0xC8 && m != 0xCC):
			return nil, errJPEGFallback // lossless, hierarchical, arithmetic
		case m == 0xC4:
			err = dec.dht(seg)
		case m == 0xDB:
			err = dec.dqt(seg)
		case m == 0xDD:
			if len(seg) < 2 {
				return nil, errJPEGData
			}
			dec.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xDC: // DNL
			return nil, errJPEGFallback
		case m == 0xE0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				dec.jfif = true
			}
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				dec.adobe, dec.adobeXform = true, int(seg[11])
			}
		case m == 0xDA:
			if !sawFrame {
				return nil, errJPEGData
			}
			var end int
			end, err = dec.scan(seg, pos)
			pos = end
		}
		if err != nil {
			return nil, err
		}
	}
}

func (dec *jpegDecoder) frame(s []byte, progressive bool, maxPixels int) error {
	if len(s) < 6 || s[0] != 8 {
		return errJPEGFallback // 12-bit or 16-bit samples
	}
	dec.progressive = progressive
	dec.h = int(binary.BigEndian.Uint16(s[1:]))
	dec.w = int(binary.BigEndian.Uint16(s[3:]))
	nc := int(s[5])
	if dec.w == 0 || dec.h == 0 {
		return errJPEGFallback // DNL-defined height or empty
	}
	if dec.w > maxPixels/dec.h {
		return errJPEGData
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return errJPEGFallback
	}
	if len(s) < 6+3*nc {
		return errJPEGData
	}
	for i := 0; i < nc; i++ {
		c := jpegComp{id: int(s[6+3*i]), h: int(s[7+3*i] >> 4), v: int(s[7+3*i] & 15), tq: int(s[8+3*i])}
		for k := range c.coefBits {
			c.coefBits[k] = -1
		}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errJPEGData
		}
		dec.comps = append(dec.comps, c)
		dec.hmax, dec.vmax = max(dec.hmax, c.h), max(dec.vmax, c.v)
	}
	if nc == 1 { // a single component is never subsampled in effect
		dec.comps[0].h, dec.comps[0].v, dec.hmax, dec.vmax = 1, 1, 1, 1
	}
	dec.mcusX = (dec.w + 8*dec.hmax - 1) / (8 * dec.hmax)
	dec.mcusY = (dec.h + 8*dec.vmax - 1) / (8 * dec.vmax)
	for i := range dec.comps {
		c := &dec.comps[i]
		c.bw, c.bh = dec.mcusX*c.h, dec.mcusY*c.v
		cw := (dec.w*c.h + dec.hmax - 1) / dec.hmax
		ch := (dec.h*c.v + dec.vmax - 1) / dec.vmax
		c.cbw, c.cbh = (cw+7)/8, (ch+7)/8
		c.coef = make([]int16, c.bw*c.bh*64)
	}
	return nil
}

func (dec *jpegDecoder) dht(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return errJPEGData
		}
		class, id := s[0]>>4, int(s[0]&15)
		if class > 1 || id > 3 {
			return errJPEGData
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(s[1+i])
			total += counts[i]
		}
		if total > 256 || len(s) < 17+total {
			return errJPEGData
		}
		vals := append([]uint8(nil), s[17:17+total]...)
		t := &dec.dc[id]
		if class == 1 {
			t = &dec.ac[id]
		}
		if err := t.build(counts, vals); err != nil {
			return err
		}
		s = s[17+total:]
	}
	return nil
}

func (dec *jpegDecoder) dqt(s []byte) error {
	for len(s) > 0 {
		pq, id := s[0]>>4, int(s[0]&15)
		if id > 3 || pq > 1 {
			return errJPEGData
		}
		n := 64 * (1 + int(pq))
		if len(s) < 1+n {
			return errJPEGData
		}
		for k := 0; k < 64; k++ {
			var v int32
			if pq == 0 {
				v = int32(s[1+k])
			} else {
				v = int32(binary.BigEndian.Uint16(s[1+2*k:]))
			}
			dec.qt[id][zigzag[k]] = v
		}
		dec.qtSet[id] = true
		s = s[1+n:]
	}
	return nil
}

// scan decodes one scan whose header is h and whose entropy-coded data
// starts at pos; it returns the position after the data.
func (dec *jpegDecoder) scan(h []byte, pos int) (int, error) {
	if len(h) < 1 {
		return 0, errJPEGData
	}
	ns := int(h[0])
	if ns < 1 || ns > 4 || len(h) < 1+2*ns+3 {
		return 0, errJPEGData
	}
	var sc []*jpegComp
	for i := 0; i < ns; i++ {
		id := int(h[1+2*i])
		var c *jpegComp
		for j := range dec.comps {
			if dec.comps[j].id == id {
				c = &dec.comps[j]
			}
		}
		if c == nil {
			return 0, errJPEGData
		}
		c.dcT, c.acT = int(h[2+2*i]>>4), int(h[2+2*i]&15)
		if c.dcT > 3 || c.acT > 3 {
			return 0, errJPEGData
		}
		if !c.latched {
			if !dec.qtSet[c.tq] {
				return 0, errJPEGData
			}
			c.qt, c.latched = dec.qt[c.tq], true
		}
		c.dcPred = 0
		sc = append(sc, c)
	}
	ss, se := int(h[1+2*ns]), int(h[2+2*ns])
	ah, al := int(h[3+2*ns]>>4), int(h[3+2*ns]&15)
	if dec.progressive {
		if ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 || ah > 13 {
			return 0, errJPEGData
		}
	} else if ss != 0 || se != 63 || ah != 0 || al != 0 {
		return 0, errJPEGData
	}
	for _, c := range sc {
		for k := ss; k <= min(se, 9); k++ {
			c.coefBits[k] = al
		}
	}
	br := &bitReader{d: dec.d, pos: pos}
	dec.eobrun = 0

	// MCU geometry of this scan
	single := ns == 1
	var units, unitsX int
	if single {
		unitsX = sc[0].cbw
		units = sc[0].cbw * sc[0].cbh
	} else {
		unitsX = dec.mcusX
		units = dec.mcusX * dec.mcusY
	}
	block := func(c *jpegComp, bx, by int) []int16 {
		o := (by*c.bw + bx) * 64
		return c.coef[o : o+64]
	}
	decodeBlock := func(c *jpegComp, b []int16) error {
		if !dec.progressive {
			return dec.baselineBlock(br, c, b)
		}
		if ss == 0 {
			if ah == 0 {
				t, err := br.decode(&dec.dc[c.dcT])
				if err != nil || t > 16 {
					return errJPEGData
				}
				c.dcPred += extend(br.bits(int(t)), int(t))
				b[0] = int16(c.dcPred << al)
			} else if br.bit() {
				b[0] |= int16(1) << al
			}
			return nil
		}
		if ah == 0 {
			return dec.acFirst(br, c, b, ss, se, al)
		}
		return dec.acRefine(br, c, b, ss, se, al)
	}
	for u := 0; u < units; u++ {
		if dec.restart > 0 && u > 0 && u%dec.restart == 0 {
			// expect RSTn: resynchronise at the next marker
			p := br.pos
			for p+1 < len(dec.d) && !(dec.d[p] == 0xFF && dec.d[p+1] >= 0xD0 && dec.d[p+1] <= 0xD7) {
				if dec.d[p] == 0xFF && dec.d[p+1] != 0 && dec.d[p+1] != 0xFF {
					return 0, errJPEGData // another marker: missing RST
				}
				p++
			}
			if p+1 >= len(dec.d) {
				return 0, errJPEGData
			}
			br.reset()
			br.pos = p + 2
			for _, c := range sc {
				c.dcPred = 0
			}
			dec.eobrun = 0
		}
		if single {
			c := sc[0]
			if err := decodeBlock(c, block(c, u%unitsX, u/unitsX)); err != nil {
				return 0, err
			}
		} else {
			mx, my := u%unitsX, u/unitsX
			for _, c := range sc {
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						if err := decodeBlock(c, block(c, mx*c.h+bx, my*c.v+by)); err != nil {
							return 0, err
						}
					}
				}
			}
		}
		if br.consumedPastMarker() {
			return 0, errJPEGData // truncated scan (PIL refuses truncated files)
		}
	}
	// Position after the data: the marker the reader stopped at, or the next
	// one from where it got.
	p := br.pos
	for p+1 < len(dec.d) && !(dec.d[p] == 0xFF && dec.d[p+1] != 0 && !(dec.d[p+1] >= 0xD0 && dec.d[p+1] <= 0xD7) && dec.d[p+1] != 0xFF) {
		p++
	}
	return p, nil
}

func (dec *jpegDecoder) baselineBlock(br *bitReader, c *jpegComp, b []int16) error {
	t, err := br.decode(&dec.dc[c.dcT])
	if err != nil || t > 16 {
		return errJPEGData
	}
	c.dcPred += extend(br.bits(int(t)), int(t))
	b[0] = int16(c.dcPred)
	act := &dec.ac[c.acT]
	for k := 1; k < 64; {
		rs, err := br.decode(act)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return errJPEGData
		}
		b[zigzag[k]] = int16(extend(br.bits(s), s))
		k++
	}
	return nil
}

func (dec *jpegDecoder) acFirst(br *bitReader, c *jpegComp, b []int16, ss, se, al int) error {
	if dec.eobrun > 0 {
		dec.eobrun--
		return nil
	}
	act := &dec.ac[c.acT]
	for k := ss; k <= se; k++ {
		rs, err := br.decode(act)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), int(rs&15)
		if s != 0 {
			k += r
			if k > 63 {
				return errJPEGData
			}
			b[zigzag[k]] = int16(extend(br.bits(s), s) << al)
		} else if r == 15 {
			k += 15
		} else {
			dec.eobrun = 1 << r
			if r > 0 {
				dec.eobrun += br.bits(r)
			}
			dec.eobrun--
			break
		}
	}
	return nil
}

// acRefine is libjpeg's decode_mcu_AC_refine (jdphuff.c).
func (dec *jpegDecoder) acRefine(br *bitReader, c *jpegComp, b []int16, ss, se, al int) error {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	correct := func(k int) {
		v := &b[zigzag[k]]
		if br.bit() && *v&p1 == 0 {
			if *v >= 0 {
				*v += p1
			} else {
				*v += m1
			}
		}
	}
	k := ss
	act := &dec.ac[c.acT]
	if dec.eobrun == 0 {
		for ; k <= se; k++ {
			rs, err := br.decode(act)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int16(rs&15)
			if s != 0 {
				if br.bit() {
					s = p1
				} else {
					s = m1
				}
			} else if r != 15 {
				dec.eobrun = 1 << r
				if r > 0 {
					dec.eobrun += br.bits(r)
				}
				break
			}
			for k <= se {
				if b[zigzag[k]] != 0 {
					correct(k)
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if s != 0 {
				if k > 63 {
					return errJPEGData
				}
				b[zigzag[k]] = s
			}
		}
	}
	if dec.eobrun > 0 {
		for ; k <= se; k++ {
			if b[zigzag[k]] != 0 {
				correct(k)
			}
		}
		dec.eobrun--
	}
	return nil
}

// output runs the IDCT of every component and assembles the image.
func (dec *jpegDecoder) output() (any, error) {
	for _, c := range dec.comps {
		if !c.latched {
			return nil, errJPEGData // a component no scan carried
		}
	}
	smooth := dec.smoothingOK()
	planes := make([][]uint8, len(dec.comps))
	strides := make([]int, len(dec.comps))
	var ws [64]int16
	for i := range dec.comps {
		c := &dec.comps[i]
		stride := c.bw * 8
		p := make([]uint8, stride*c.bh*8)
		for by := 0; by < c.cbh; by++ {
			for bx := 0; bx < c.cbw; bx++ {
				o := (by*c.bw + bx) * 64
				blk := c.coef[o : o+64]
				if smooth {
					copy(ws[:], blk)
					dec.smoothBlock(c, bx, by, ws[:])
					blk = ws[:]
				}
				idctIslow(blk, &c.qt, p[by*8*stride+bx*8:], stride)
			}
		}
		planes[i], strides[i] = p, stride
	}
	r := image.Rect(0, 0, dec.w, dec.h)
	if len(dec.comps) == 1 {
		return &image.Gray{Pix: planes[0], Stride: strides[0], Rect: r}, nil
	}
	rgb := false
	switch {
	case dec.jfif:
	case dec.adobe:
		rgb = dec.adobeXform == 0
	default:
		rgb = dec.comps[0].id == 'R' && dec.comps[1].id == 'G' && dec.comps[2].id == 'B'
	}
	// Upsample every component to full resolution as libjpeg-turbo does,
	// then convert (or copy, for RGB files).
	nc := len(dec.comps)
	var ups [4]upsampler
	var cps [4]chromaPlane
	for i := range dec.comps {
		c := &dec.comps[i]
		if dec.hmax%c.h != 0 || dec.vmax%c.v != 0 {
			return nil, errJPEGFallback
		}
		pw := (dec.w*c.h + dec.hmax - 1) / dec.hmax
		ph := (dec.h*c.v + dec.vmax - 1) / dec.vmax
		cps[i] = chromaPlane{pix: planes[i], stride: strides[i], w: pw, h: ph}
		ups[i] = jpegUpsampler(dec.hmax/c.h, dec.vmax/c.v, pw)
	}
	var rows [4][]int
	for i := 0; i < nc; i++ {
		rows[i] = make([]int, dec.w)
	}
	if nc == 4 {
		return dec.cmyk(ups, cps, rows), nil
	}
	out := NewRGB(dec.w, dec.h)
	for yy := 0; yy < dec.h; yy++ {
		for i := 0; i < nc; i++ {
			ups[i](&cps[i], yy, dec.w, rows[i])
		}
		o := out.Pix[3*yy*dec.w : 3*(yy+1)*dec.w]
		if rgb {
			for x := 0; x < dec.w; x++ {
				o[3*x], o[3*x+1], o[3*x+2] = uint8(rows[0][x]), uint8(rows[1][x]), uint8(rows[2][x])
			}
			continue
		}
		for x := 0; x < dec.w; x++ {
			Y := rows[0][x]
			cbv, crv := rows[1][x]-128, rows[2][x]-128
			o[3*x] = clip8i(Y + ((91881*crv + 1<<15) >> 16))
			o[3*x+1] = clip8i(Y + ((-22554*cbv + 1<<15 - 46802*crv) >> 16))
			o[3*x+2] = clip8i(Y + ((116130*cbv + 1<<15) >> 16))
		}
	}
	return out, nil
}

// cmyk returns a 4-component image as PIL holds it: libjpeg's CMYK output
// (YCCK converted by ycck_cmyk_convert when the Adobe transform is 2), read
// with PIL's "CMYK;I" raw mode (Adobe's inverted convention, which PIL
// always assumes), as an image.CMYK for toRGB's cmyk2rgb.
func (dec *jpegDecoder) cmyk(ups [4]upsampler, cps [4]chromaPlane, rows [4][]int) *image.CMYK {
	w, h := dec.w, dec.h
	out := image.NewCMYK(image.Rect(0, 0, w, h))
	ycck := dec.adobe && dec.adobeXform == 2
	for yy := 0; yy < h; yy++ {
		for i := 0; i < 4; i++ {
			ups[i](&cps[i], yy, w, rows[i])
		}
		o := out.Pix[yy*out.Stride : yy*out.Stride+4*w]
		for x := 0; x < w; x++ {
			c, m, y, k := rows[0][x], rows[1][x], rows[2][x], rows[3][x]
			if ycck {
				Y, cbv, crv := c, m-128, y-128
				c = int(clip8i(255 - (Y + ((91881*crv + 1<<15) >> 16))))
				m = int(clip8i(255 - (Y + ((-22554*cbv + 1<<15 - 46802*crv) >> 16))))
				y = int(clip8i(255 - (Y + ((116130*cbv + 1<<15) >> 16))))
			}
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = uint8(255-c), uint8(255-m), uint8(255-y), uint8(255-k)
		}
	}
	return out
}

// smoothLegacyRows selects libjpeg-turbo < 3.0.1's neighbour rows (tests
// compare with djpeg 2.1.5).
var smoothLegacyRows = false

// smoothingOK is libjpeg's smoothing_ok (jdcoefct.c): block smoothing
// runs for progressive images whose DC is known for every component, whose
// first ten quantizers are nonzero, and where some of the first nine AC
// coefficients of some component are still inexact.
func (dec *jpegDecoder) smoothingOK() bool {
	if !dec.progressive {
		return false
	}
	useful := false
	for i := range dec.comps {
		c := &dec.comps[i]
		for _, pos := range []int{0, 1, 8, 16, 9, 2, 3, 10, 17, 24} {
			if c.qt[pos] == 0 {
				return false
			}
		}
		if c.coefBits[0] < 0 {
			return false
		}
		for _, b := range c.coefBits[1:] {
			if b != 0 {
				useful = true
			}
		}
	}
	return useful
}

// smoothBlock is the per-block part of libjpeg-turbo's
// decompress_smooth_data: estimates of the first nine AC coefficients (and,
// when no AC data arrived at all, the DC) from the DC values of the 5×5
// neighbouring blocks, applied to coefficients still zero and inexact.
// Neighbour rows follow libjpeg's iMCU-row bookkeeping, columns clamp.
func (dec *jpegDecoder) smoothBlock(c *jpegComp, bx, by int, w []int16) {
	v := c.v
	if len(dec.comps) == 1 {
		v = 1
	}
	totalRows := dec.mcusY
	if len(dec.comps) == 1 {
		totalRows = c.cbh
	}
	iMCU, br := by/v, by%v
	blockRows := v
	if iMCU == totalRows-1 {
		if blockRows = c.cbh % v; blockRows == 0 {
			blockRows = v
		}
	}
	ibr, ibrs := iMCU*blockRows+br, blockRows*totalRows
	cur := by
	prev, prev2, next, next2 := cur, cur, cur, cur
	if smoothLegacyRows {
		// libjpeg-turbo before 3.0.1 chose neighbour rows by iMCU row,
		// which differs for vertically subsampled components.
		lastRow := totalRows - 1
		if br > 0 || iMCU > 0 {
			prev = by - 1
		}
		prev2 = prev
		if br > 1 || iMCU > 1 {
			prev2 = by - 2
		}
		if br < blockRows-1 || iMCU < lastRow {
			next = by + 1
		}
		next2 = next
		if br < blockRows-2 || iMCU+1 < lastRow {
			next2 = by + 2
		}
	} else {
		if ibr > 0 {
			prev = by - 1
		}
		prev2 = prev
		if ibr > 1 {
			prev2 = by - 2
		}
		if ibr < ibrs-1 {
			next = by + 1
		}
		next2 = next
		if ibr < ibrs-2 {
			next2 = by + 2
		}
	}
	rows := [5]int{prev2, prev, cur, next, next2}
	last := c.cbw - 1
	var dc [26]int64 // dc[1..25] as libjpeg's DC01..DC25, row-major 5×5
	for r := 0; r < 5; r++ {
		for k := 0; k < 5; k++ {
			col := max(0, min(bx+k-2, last))
			dc[1+5*r+k] = int64(c.coef[(rows[r]*c.bw+col)*64])
		}
	}
	bits := &c.coefBits
	changeDC := true
	for _, b := range bits[1:] {
		if b != -1 {
			changeDC = false
		}
	}
	q := &c.qt
	q00 := int64(q[0])
	est := func(k, pos int, num int64) {
		al := bits[k]
		if al == 0 || w[pos] != 0 {
			return
		}
		qk := int64(q[pos])
		var pred int64
		if num >= 0 {
			pred = ((qk << 7) + num) / (qk << 8)
		} else {
			pred = ((qk << 7) - num) / (qk << 8)
		}
		if al > 0 && pred >= 1<<al {
			pred = 1<<al - 1
		}
		if num < 0 {
			pred = -pred
		}
		w[pos] = int16(pred)
	}
	d := dc
	if changeDC {
		est(1, 1, q00*(-d[1]-d[2]+d[4]+d[5]-3*d[6]+13*d[7]-13*d[9]+3*d[10]-3*d[11]+38*d[12]-38*d[14]+
			3*d[15]-3*d[16]+13*d[17]-13*d[19]+3*d[20]-d[21]-d[22]+d[24]+d[25]))
		est(2, 8, q00*(-d[1]-3*d[2]-3*d[3]-3*d[4]-d[5]-d[6]+13*d[7]+38*d[8]+13*d[9]-d[10]+d[16]-
			13*d[17]-38*d[18]-13*d[19]+d[20]+d[21]+3*d[22]+3*d[23]+3*d[24]+d[25]))
		est(3, 16, q00*(d[3]+2*d[7]+7*d[8]+2*d[9]-5*d[12]-14*d[13]-5*d[14]+2*d[17]+7*d[18]+2*d[19]+d[23]))
		est(4, 9, q00*(-d[1]+d[5]+9*d[7]-9*d[9]-9*d[17]+9*d[19]+d[21]-d[25]))
		est(5, 2, q00*(2*d[7]-5*d[8]+2*d[9]+d[11]+7*d[12]-14*d[13]+7*d[14]+d[15]+2*d[17]-5*d[18]+2*d[19]))
		est(6, 3, q00*(d[7]-d[9]+2*d[12]-2*d[14]+d[17]-d[19]))
		est(7, 10, q00*(d[7]-3*d[8]+d[9]-d[17]+3*d[18]-d[19]))
		est(8, 17, q00*(d[7]-d[9]-3*d[12]+3*d[14]+d[17]-d[19]))
		est(9, 24, q00*(d[7]+2*d[8]+d[9]-d[17]-2*d[18]-d[19]))
		num := q00 * (-2*d[1] - 6*d[2] - 8*d[3] - 6*d[4] - 2*d[5] - 6*d[6] + 6*d[7] + 42*d[8] + 6*d[9] - 6*d[10] -
			8*d[11] + 42*d[12] + 152*d[13] + 42*d[14] - 8*d[15] - 6*d[16] + 6*d[17] + 42*d[18] + 6*d[19] - 6*d[20] -
			2*d[21] - 6*d[22] - 8*d[23] - 6*d[24] - 2*d[25])
		var pred int64
		if num >= 0 {
			pred = ((q00 << 7) + num) / (q00 << 8)
		} else {
			pred = -(((q00 << 7) - num) / (q00 << 8))
		}
		w[0] = int16(pred)
		return
	}
	est(1, 1, q00*(-7*d[11]+50*d[12]-50*d[14]+7*d[15]))
	est(2, 8, q00*(-7*d[3]+50*d[8]-50*d[18]+7*d[23]))
	est(3, 16, q00*(-d[3]+13*d[8]-24*d[13]+13*d[18]-d[23]))
	est(4, 9, q00*(d[10]+d[16]-10*d[17]+10*d[19]-d[2]-d[20]+d[22]-d[24]+d[4]-d[6]+10*d[7]-10*d[9]))
	est(5, 2, q00*(-d[11]+13*d[12]-24*d[13]+13*d[14]-d[15]))
}

// idctIslow is libjpeg's jpeg_idct_islow (jidctint.c): the LL&M integer
// IDCT with 13-bit constants and 2 extra bits in the first pass, output
// level-shifted and range-limited (wrapping outside ±512 as the
// IDCT_range_limit table does).
func idctIslow(coef []int16, q *[64]int32, out []uint8, stride int) {
	const (
		constBits = 13
		pass1Bits = 2
		f0298     = 2446
		f0390     = 3196
		f0541     = 4433
		f0765     = 6270
		f0899     = 7373
		f1175     = 9633
		f1501     = 12299
		f1847     = 15137
		f1961     = 16069
		f2053     = 16819
		f2562     = 20995
		f3072     = 25172
	)
	var ws [64]int64
	// Pass 1: columns.
	for col := 0; col < 8; col++ {
		in := func(r int) int64 { return int64(coef[r*8+col]) * int64(q[r*8+col]) }
		if coef[8+col] == 0 && coef[16+col] == 0 && coef[24+col] == 0 && coef[32+col] == 0 &&
			coef[40+col] == 0 && coef[48+col] == 0 && coef[56+col] == 0 {
			dc := in(0) << pass1Bits
			for r := 0; r < 8; r++ {
				ws[r*8+col] = dc
			}
			continue
		}
		z2, z3 := in(2), in(6)
		z1 := (z2 + z3) * f0541
		tmp2 := z1 + z3*(-f1847)
		tmp3 := z1 + z2*f0765
		z2, z3 = in(0), in(4)
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = in(7), in(5), in(3), in(1)
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * f1175
		tmp0 *= f0298
		tmp1 *= f2053
		tmp2 *= f3072
		tmp3 *= f1501
		z1 *= -f0899
		z2 *= -f2562
		z3 *= -f1961
		z4 *= -f0390
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const sh = constBits - pass1Bits
		ws[0*8+col] = descale(tmp10+tmp3, sh)
		ws[7*8+col] = descale(tmp10-tmp3, sh)
		ws[1*8+col] = descale(tmp11+tmp2, sh)
		ws[6*8+col] = descale(tmp11-tmp2, sh)
		ws[2*8+col] = descale(tmp12+tmp1, sh)
		ws[5*8+col] = descale(tmp12-tmp1, sh)
		ws[3*8+col] = descale(tmp13+tmp0, sh)
		ws[4*8+col] = descale(tmp13-tmp0, sh)
	}
	// Pass 2: rows.
	for row := 0; row < 8; row++ {
		w := ws[row*8 : row*8+8]
		o := out[row*stride : row*stride+8]
		const sh = constBits + pass1Bits + 3
		// (libjpeg's zero-row shortcut gives the same values as the full
		// computation, so it is not special-cased here.)
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * f0541
		tmp2 := z1 + z3*(-f1847)
		tmp3 := z1 + z2*f0765
		tmp0 := (w[0] + w[4]) << constBits
		tmp1 := (w[0] - w[4]) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = w[7], w[5], w[3], w[1]
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * f1175
		tmp0 *= f0298
		tmp1 *= f2053
		tmp2 *= f3072
		tmp3 *= f1501
		z1 *= -f0899
		z2 *= -f2562
		z3 *= -f1961
		z4 *= -f0390
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		o[0] = rangeLimit(descale(tmp10+tmp3, sh))
		o[7] = rangeLimit(descale(tmp10-tmp3, sh))
		o[1] = rangeLimit(descale(tmp11+tmp2, sh))
		o[6] = rangeLimit(descale(tmp11-tmp2, sh))
		o[2] = rangeLimit(descale(tmp12+tmp1, sh))
		o[5] = rangeLimit(descale(tmp12-tmp1, sh))
		o[3] = rangeLimit(descale(tmp13+tmp0, sh))
		o[4] = rangeLimit(descale(tmp13-tmp0, sh))
	}
}

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is IDCT_range_limit[x & RANGE_MASK]: x+128 clamped to
// [0, 255] for |x| ≤ 512, wrapping (as the 1024-entry table does) beyond.
func rangeLimit(x int64) uint8 {
	i := x & 1023
	switch {
	case i < 128:
		return uint8(i + 128)
	case i < 512:
		return 255
	case i < 896:
		return 0
	}
	return uint8(i - 896)
}
