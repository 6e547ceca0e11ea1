package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"sort"
	"strings"
)

// PyTorchFile is a PyTorch checkpoint written by torch.save: the zip format
// (data.pkl + data/<key> storages; `.ckpt`, `.pt`, `pytorch_model.bin`) or
// the legacy pre-1.6 stream format. The pickle is read by a restricted
// unpickler that understands only what a state dict needs and refuses every
// other global (ErrUnsafePickle); nothing in the file is ever executed.
//
// The state dict is taken from the top-level dict, or from its "state_dict",
// "module" or "model" entry (checked in that order, as M2-Encoder's loader
// does). A "_forward_module." prefix (Lightning/DeepSpeed) is removed from
// names. Entries that are not tensors (epoch, optimizer states,
// hyper_parameters) are skipped; Skipped lists them.
//
// Tensors are read from the file on demand; strided views are copied to
// contiguous row-major order. A PyTorchFile is safe for concurrent use.
type PyTorchFile struct {
	path    string
	r       io.ReaderAt
	closer  io.Closer
	big     bool // byteorder "big"
	tensors map[string]*ptTensor
	names   []string
	skipped []string
	// zip: storage key -> entry; legacy: storage key -> byte offset.
	entries map[string]*zip.File
	offsets map[string]int64
}

// ptMagic is torch's legacy serialization magic number.
var ptMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// OpenPyTorch opens a PyTorch checkpoint file.
func OpenPyTorch(path string) (*PyTorchFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("weights: %w", err)
	}
	p, err := openPyTorch(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.closer = f
	return p, nil
}

// ReadPyTorch parses a PyTorch checkpoint held in memory.
func ReadPyTorch(data []byte, name string) (*PyTorchFile, error) {
	return openPyTorch(bytes.NewReader(data), int64(len(data)), name)
}

// IsPyTorch reports whether the file starts like a PyTorch checkpoint (a zip
// archive or a legacy pickle stream).
func IsPyTorch(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte{0x80, 0x02, 0x8a, 0x0a})
}

func openPyTorch(r io.ReaderAt, size int64, path string) (*PyTorchFile, error) {
	p := &PyTorchFile{path: path, r: r}
	head := make([]byte, 4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("%w: %s: too short for a PyTorch checkpoint", ErrCorrupt, path)
	}
	var root any
	var err error
	if bytes.Equal(head, []byte("PK\x03\x04")) {
		root, err = p.openZip(r, size)
	} else if head[0] == 0x80 {
		root, err = p.openLegacy(r, size)
	} else {
		return nil, fmt.Errorf("%w: %s: not a PyTorch checkpoint (neither zip nor pickle)", ErrCorrupt, path)
	}
	if err != nil {
		return nil, prefixPath(err, path)
	}
	if err := p.collect(root); err != nil {
		return nil, prefixPath(err, path)
	}
	return p, nil
}

func prefixPath(err error, path string) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "weights: ")
	var target error = ErrCorrupt
	if errors.Is(err, ErrUnsafePickle) {
		target = ErrUnsafePickle
		msg = strings.TrimPrefix(msg, "pickle refused: ")
	} else {
		msg = strings.TrimPrefix(msg, "corrupt file: ")
	}
	return &Error{Kind: target, Path: path, Msg: msg}
}

// storagePID interprets a persistent id:
// ('storage', storage_type, key, location, numel[, view_metadata]).
func storagePID(pid any) (*ptStorage, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) < 5 {
		return nil, fmt.Errorf("%w: persistent id is %s, not a storage tuple", ErrUnsafePickle, pyTypeName(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, fmt.Errorf("%w: persistent id of kind %v", ErrUnsafePickle, t[0])
	}
	g, ok := t[1].(*pyGlobal)
	if !ok || g.kind != gStorage {
		return nil, fmt.Errorf("%w: persistent id storage type is %s", ErrUnsafePickle, pyTypeName(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("%w: storage key is %s", ErrCorrupt, pyTypeName(t[2]))
	}
	n, ok := argInt(t[4])
	if !ok || n < 0 || n > 1<<40 {
		return nil, fmt.Errorf("%w: storage %q: bad element count", ErrCorrupt, key)
	}
	st := &ptStorage{key: key, dtype: g.dtype, numel: n}
	if len(t) >= 6 && t[5] != nil {
		return nil, fmt.Errorf("%w: storage %q: legacy storage views are not supported", ErrCorrupt, key)
	}
	return st, nil
}

func (p *PyTorchFile) openZip(r io.ReaderAt, size int64) (any, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: zip: %v", ErrCorrupt, err)
	}
	var pkl *zip.File
	prefix := ""
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/data.pkl") || f.Name == "data.pkl" {
			if pkl == nil || len(f.Name) < len(pkl.Name) {
				pkl = f
				prefix = strings.TrimSuffix(f.Name, "data.pkl")
			}
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w: zip archive has no data.pkl", ErrCorrupt)
	}
	p.entries = map[string]*zip.File{}
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		rest := f.Name[len(prefix):]
		switch {
		case strings.HasPrefix(rest, "data/"):
			p.entries[rest[len("data/"):]] = f
		case rest == "byteorder":
			b, err := readZipEntry(f, 16)
			if err != nil {
				return nil, err
			}
			switch strings.TrimSpace(string(b)) {
			case "little":
			case "big":
				p.big = true
			default:
				return nil, fmt.Errorf("%w: byteorder %q", ErrCorrupt, b)
			}
		}
	}
	if pkl.UncompressedSize64 > 1<<31 {
		return nil, fmt.Errorf("%w: data.pkl of %d bytes", ErrCorrupt, pkl.UncompressedSize64)
	}
	data, err := readZipEntry(pkl, int64(pkl.UncompressedSize64))
	if err != nil {
		return nil, err
	}
	u := &unpickler{data: data, persist: func(pid any) (any, error) {
		st, err := storagePID(pid)
		if err != nil {
			return nil, err
		}
		f, ok := p.entries[st.key]
		if !ok {
			return nil, fmt.Errorf("%w: storage %q missing from the archive", ErrCorrupt, st.key)
		}
		if need := st.numel * int64(dtypeSize(st.dtype)); uint64(need) > f.UncompressedSize64 {
			return nil, fmt.Errorf("%w: storage %q: %d bytes, need %d", ErrCorrupt, st.key, f.UncompressedSize64, need)
		}
		return st, nil
	}}
	return u.run()
}

func readZipEntry(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: %s: larger than expected", ErrCorrupt, f.Name)
	}
	return b, nil
}

// openLegacy reads torch's pre-1.6 format: pickles of the magic number, the
// protocol version, sys_info, the object, the storage key list, then each
// storage as int64 element count + raw data.
// legacyPrefix is the first read size of a legacy checkpoint (a variable
// for tests).
var legacyPrefix int64 = 16 << 20

func (p *PyTorchFile) openLegacy(r io.ReaderAt, size int64) (any, error) {
	// The pickles come first and are small next to the storages: read a
	// prefix and grow it while the pickles run past its end.
	for n := min(size, legacyPrefix); ; n = min(size, 4*n) {
		root, err := p.openLegacyPrefix(r, size, n)
		if err == nil || !errors.Is(err, errTruncated) || n >= size || n >= 1<<30 {
			return root, err
		}
	}
}

func (p *PyTorchFile) openLegacyPrefix(r io.ReaderAt, size, n int64) (any, error) {
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	u := &unpickler{data: buf}
	next := func() (any, error) {
		u.stack, u.marks, u.memo = nil, nil, nil
		return u.run()
	}
	magic, err := next()
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(ptMagic) != 0 {
		return nil, fmt.Errorf("%w: not a PyTorch checkpoint (bad magic number)", ErrCorrupt)
	}
	if v, err := next(); err != nil {
		return nil, err
	} else if pv, _ := v.(int64); pv != 1001 {
		return nil, fmt.Errorf("%w: legacy protocol version %v", ErrCorrupt, v)
	}
	sys, err := next()
	if err != nil {
		return nil, err
	}
	if d, ok := sys.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le == false {
			p.big = true
		}
	}
	storages := map[string]*ptStorage{}
	u.persist = func(pid any) (any, error) {
		st, err := storagePID(pid)
		if err != nil {
			return nil, err
		}
		if prev, ok := storages[st.key]; ok {
			return prev, nil
		}
		storages[st.key] = st
		return st, nil
	}
	root, err := next()
	if err != nil {
		return nil, err
	}
	u.persist = nil
	keysV, err := next()
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, fmt.Errorf("%w: legacy storage key list is %s", ErrCorrupt, pyTypeName(keysV))
	}
	p.offsets = map[string]int64{}
	off := int64(u.pos)
	for _, kv := range keys.items {
		k, ok := kv.(string)
		if !ok {
			return nil, fmt.Errorf("%w: legacy storage key is %s", ErrCorrupt, pyTypeName(kv))
		}
		st, ok := storages[k]
		if !ok {
			return nil, fmt.Errorf("%w: legacy storage %q not referenced", ErrCorrupt, k)
		}
		var hdr [8]byte
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("%w: legacy storage %q: truncated", ErrCorrupt, k)
		}
		cnt := int64(binary.LittleEndian.Uint64(hdr[:]))
		if p.big {
			cnt = int64(binary.BigEndian.Uint64(hdr[:]))
		}
		if cnt != st.numel {
			return nil, fmt.Errorf("%w: legacy storage %q: %d elements, pickle says %d", ErrCorrupt, k, cnt, st.numel)
		}
		off += 8
		p.offsets[k] = off
		off += cnt * int64(dtypeSize(st.dtype))
		if off > size || off < 0 {
			return nil, fmt.Errorf("%w: legacy storage %q: past end of file", ErrCorrupt, k)
		}
	}
	for k := range storages {
		if _, ok := p.offsets[k]; !ok {
			return nil, fmt.Errorf("%w: legacy storage %q has no data", ErrCorrupt, k)
		}
	}
	return root, nil
}

// collect finds the state dict in root and indexes its tensors.
func (p *PyTorchFile) collect(root any) error {
	d, ok := root.(*pyDict)
	if !ok {
		return fmt.Errorf("%w: checkpoint holds a %s, not a state dict", ErrCorrupt, pyTypeName(root))
	}
	for _, k := range []string{"state_dict", "module", "model"} {
		if v, ok := d.get(k); ok {
			sd, ok := v.(*pyDict)
			if !ok {
				return fmt.Errorf("%w: checkpoint entry %q is a %s, not a state dict", ErrCorrupt, k, pyTypeName(v))
			}
			for i, kk := range d.keys {
				if kk != k {
					p.skipped = append(p.skipped, fmt.Sprint(kk)+" ("+pyTypeName(d.vals[i])+")")
				}
			}
			d = sd
			break
		}
	}
	p.tensors = map[string]*ptTensor{}
	for i, kv := range d.keys {
		k, ok := kv.(string)
		t, isT := d.vals[i].(*ptTensor)
		if !ok || !isT {
			p.skipped = append(p.skipped, fmt.Sprint(kv)+" ("+pyTypeName(d.vals[i])+")")
			continue
		}
		k = strings.TrimPrefix(k, "_forward_module.")
		if _, dup := p.tensors[k]; dup {
			return fmt.Errorf("%w: tensor %q appears twice", ErrCorrupt, k)
		}
		p.tensors[k] = t
		p.names = append(p.names, k)
	}
	sort.Strings(p.names)
	return nil
}

// Names lists the tensor names, sorted.
func (p *PyTorchFile) Names() []string { return p.names }

// Skipped lists the top-level entries that were not tensors (with their
// Python type), e.g. "epoch (int)".
func (p *PyTorchFile) Skipped() []string { return p.skipped }

// Info describes a tensor.
func (p *PyTorchFile) Info(name string) (TensorInfo, bool) {
	t, ok := p.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	return TensorInfo{Name: name, DType: t.storage.dtype, Shape: append([]int(nil), t.shape...)}, true
}

// Close releases the file.
func (p *PyTorchFile) Close() error {
	if p.closer != nil {
		return p.closer.Close()
	}
	return nil
}

func dtypeSize(dt DType) int {
	switch dt {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	}
	return 1
}

// Path returns the file name the checkpoint was opened from.
func (p *PyTorchFile) Path() string { return p.path }

// Raw returns the tensor's bytes, contiguous row-major, little-endian, in
// its stored dtype (a fresh copy).
func (p *PyTorchFile) Raw(name string) ([]byte, error) {
	t, ok := p.tensors[name]
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: p.path, Tensor: name, Msg: "not in checkpoint"}
	}
	raw, first, err := p.span(t)
	if err != nil {
		return nil, &Error{Kind: ErrCorrupt, Path: p.path, Tensor: name, Msg: "reading storage", Err: err}
	}
	es := int64(dtypeSize(t.storage.dtype))
	n := int64(1)
	for _, d := range t.shape {
		n *= int64(d)
	}
	out := make([]byte, n*es)
	if n == 0 {
		return out, nil
	}
	if isContiguous(t) {
		copy(out, raw)
	} else {
		idx := make([]int, len(t.shape))
		for i := int64(0); i < n; i++ {
			off := t.offset - first
			for d, x := range idx {
				off += int64(x) * t.stride[d]
			}
			copy(out[i*es:(i+1)*es], raw[off*es:(off+1)*es])
			for d := len(idx) - 1; d >= 0; d-- {
				idx[d]++
				if idx[d] < t.shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	}
	if p.big && es > 1 {
		for i := int64(0); i < n; i++ {
			e := out[i*es : (i+1)*es]
			for a, b := 0, len(e)-1; a < b; a, b = a+1, b-1 {
				e[a], e[b] = e[b], e[a]
			}
		}
	}
	return out, nil
}

// Float32 returns the tensor converted to float32, contiguous row-major.
func (p *PyTorchFile) Float32(name string) ([]float32, error) {
	t, ok := p.tensors[name]
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: p.path, Tensor: name, Msg: "not in checkpoint"}
	}
	raw, first, err := p.span(t)
	if err != nil {
		return nil, &Error{Kind: ErrCorrupt, Path: p.path, Tensor: name, Msg: "reading storage", Err: err}
	}
	es := int64(dtypeSize(t.storage.dtype))
	n := int64(1)
	for _, d := range t.shape {
		n *= int64(d)
	}
	out := make([]float32, n)
	if n == 0 {
		return out, nil
	}
	if isContiguous(t) {
		convertToF32(out, raw, t.storage.dtype, p.big)
		return out, nil
	}
	// Strided view: walk the index space.
	idx := make([]int, len(t.shape))
	one := make([]float32, 1)
	for i := range out {
		off := t.offset - first
		for d, x := range idx {
			off += int64(x) * t.stride[d]
		}
		convertToF32(one, raw[off*es:(off+1)*es], t.storage.dtype, p.big)
		out[i] = one[0]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

func isContiguous(t *ptTensor) bool {
	want := int64(1)
	for d := len(t.shape) - 1; d >= 0; d-- {
		if t.shape[d] != 1 && t.stride[d] != want {
			return false
		}
		want *= int64(t.shape[d])
	}
	return true
}

// span reads the bytes of the storage elements [first, last] the view
// covers.
func (p *PyTorchFile) span(t *ptTensor) ([]byte, int64, error) {
	es := int64(dtypeSize(t.storage.dtype))
	first, last := t.offset, t.offset
	for d, n := range t.shape {
		if n == 0 {
			return nil, first, nil
		}
		last += int64(n-1) * t.stride[d]
	}
	nbytes := (last - first + 1) * es
	buf := make([]byte, nbytes)
	if p.entries != nil {
		f := p.entries[t.storage.key]
		if f.Method == zip.Store {
			off, err := f.DataOffset()
			if err != nil {
				return nil, 0, err
			}
			if _, err := p.r.ReadAt(buf, off+first*es); err != nil {
				return nil, 0, err
			}
			return buf, first, nil
		}
		rc, err := f.Open()
		if err != nil {
			return nil, 0, err
		}
		defer rc.Close()
		if _, err := io.CopyN(io.Discard, rc, first*es); err != nil {
			return nil, 0, err
		}
		if _, err := io.ReadFull(rc, buf); err != nil {
			return nil, 0, err
		}
		return buf, first, nil
	}
	off, ok := p.offsets[t.storage.key]
	if !ok {
		return nil, 0, fmt.Errorf("storage %q has no data", t.storage.key)
	}
	if _, err := p.r.ReadAt(buf, off+first*es); err != nil {
		return nil, 0, err
	}
	return buf, first, nil
}

// convertToF32 converts len(dst) elements of dtype dt from b.
func convertToF32(dst []float32, b []byte, dt DType, bigEndian bool) {
	var bo binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		bo = binary.BigEndian
	}
	switch dt {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(bo.Uint32(b[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(bo.Uint64(b[8*i:])))
		}
	case F16:
		for i := range dst {
			dst[i] = halfToF32(bo.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(bo.Uint16(b[2*i:])) << 16)
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(bo.Uint64(b[8*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(bo.Uint32(b[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(bo.Uint16(b[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(b[i]))
		}
	case U8:
		for i := range dst {
			dst[i] = float32(b[i])
		}
	case Bool:
		for i := range dst {
			if b[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	}
}

// halfToF32 converts an IEEE binary16 to float32 exactly.
func halfToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		man &= 0x3ff
		return math.Float32frombits(sign | e<<23 | man<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

var _ RawStore = (*PyTorchFile)(nil)

func init() {
	// The index comes first so that a sharded checkpoint is preferred over
	// extra heads (BGE-M3's sparse_linear.pt) that also match "*.pt".
	registerWeightFormat(weightFormat{"pytorch", []string{"pytorch_model.bin.index.json", "pytorch_model.bin", "*.ckpt", "*.pt", "*.pth"},
		func(p string) (Store, error) {
			if strings.HasSuffix(p, ".index.json") {
				return OpenPyTorchSharded(p)
			}
			return OpenPyTorch(p)
		}})
}

// ConvertToSafetensors writes every tensor of st (a PyTorch checkpoint or
// any RawStore) to w as a safetensors file, dtypes and shapes unchanged.
// Reading the result gives bit-identical tensors. All tensors are held in
// memory while writing.
func ConvertToSafetensors(w io.Writer, st RawStore, metadata map[string]string) error {
	names := st.Names()
	ts := make([]WriteTensor, 0, len(names))
	for _, n := range names {
		info, ok := st.Info(n)
		if !ok {
			return &Error{Kind: ErrNotFound, Path: storePath(st), Tensor: n, Msg: "listed but not found"}
		}
		raw, err := st.Raw(n)
		if err != nil {
			return err
		}
		ts = append(ts, WriteTensor{Name: n, DType: info.DType, Shape: info.Shape, Data: raw})
	}
	return WriteSafetensors(w, ts, metadata)
}
