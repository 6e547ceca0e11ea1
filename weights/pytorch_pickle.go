package weights

// A restricted unpickler for PyTorch state dicts.
//
// Why not github.com/nlpodyssey/gopickle: it is a general unpickler whose
// class resolver is the only barrier, and its object model (callables that
// get invoked on REDUCE) is more than a state dict needs. This VM has no
// callables at all: GLOBAL/STACK_GLOBAL resolve against a fixed table of
// torch/collections names; REDUCE is interpreted for exactly those names
// (building Go values, never calling anything); every other global is refused
// with an error naming it. A short list of inert classes that Lightning
// checkpoints carry outside the weights (AttributeDict, argparse.Namespace,
// numpy scalars) becomes opaque placeholders that can only be stored and
// skipped, never called.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// ErrUnsafePickle is wrapped by every error about a pickle that references a
// global or operation outside what a state dict needs.
var ErrUnsafePickle = errors.New("weights: pickle refused")

// Limits that keep a hostile pickle from exhausting memory.
const (
	pickleMaxStack = 1 << 20
	pickleMaxMemo  = 1 << 22
	pickleMaxItems = 1 << 24 // total items in containers
)

type pyTuple []any

type pyList struct{ items []any }

// pyDict is an insertion-ordered dict (OrderedDict and dict alike).
type pyDict struct {
	keys []any
	vals []any
	idx  map[any]int // hashable keys: string, int64, bool, nil, float64
}

func newDict() *pyDict { return &pyDict{idx: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64, pyTupleKey:
	case pyTuple:
		k = tupleKey(k.(pyTuple))
	default:
		return fmt.Errorf("%w: unhashable dict key of type %s", ErrUnsafePickle, pyTypeName(k))
	}
	if i, ok := d.idx[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.idx[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.idx[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// pyTupleKey is a tuple used as a dict key (rare: optimizer states).
type pyTupleKey string

func tupleKey(t pyTuple) pyTupleKey { return pyTupleKey(fmt.Sprint([]any(t))) }

type pySet struct{ items []any }

// pyGlobal is a resolved, allowed global.
type pyGlobal struct {
	module, name string
	kind         globalKind
	dtype        DType // for storage classes
}

type globalKind int

const (
	gOrderedDict globalKind = iota + 1
	gRebuildTensorV2
	gRebuildParameter
	gRebuildParameterWithState
	gRebuildFromTypeV2
	gTensorType // torch.Tensor / torch.nn.parameter.Parameter as a type argument
	gStorage
	gInert // an inert class/function of checkpoint metadata: only yields opaque values
)

// pyOpaque is a value built from an inert global. It carries nothing.
type pyOpaque struct{ what string }

// ptStorage is a storage referenced by persistent id.
type ptStorage struct {
	key   string
	dtype DType
	numel int64
}

// ptTensor is a rebuilt tensor: a strided view of a storage.
type ptTensor struct {
	storage *ptStorage
	offset  int64
	shape   []int
	stride  []int64
}

type pyMark struct{}

var storageDTypes = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     Bool,
}

// inertGlobals are classes found in checkpoint metadata (Lightning
// hyper_parameters, numpy scalars in callbacks) that only ever produce
// opaque placeholders here; they are never called.
var inertGlobals = map[string]bool{
	"pytorch_lightning.utilities.parsing.AttributeDict": true,
	"lightning_fabric.utilities.data.AttributeDict":     true,
	"lightning.fabric.utilities.data.AttributeDict":     true,
	"argparse.Namespace":                                true,
	"numpy.core.multiarray.scalar":                      true,
	"numpy._core.multiarray.scalar":                     true,
	"numpy.dtype":                                       true,
	"numpy.core.multiarray._reconstruct":                true,
	"numpy._core.multiarray._reconstruct":               true,
	"numpy.ndarray":                                     true,
	"_codecs.encode":                                    true, // bytes in protocol-2 numpy pickles
	"torch.device":                                      true,
	"torch.torch_version.TorchVersion":                  true,
	// sacred config containers (VLMo / M2 build their config with sacred
	// and save_hyperparameters() keeps it).
	"sacred.config.custom_containers.ReadOnlyDict": true,
	"sacred.config.custom_containers.ReadOnlyList": true,
	// Hydra/omegaconf hyper_parameters.
	"omegaconf.dictconfig.DictConfig":  true,
	"omegaconf.listconfig.ListConfig":  true,
	"omegaconf.base.ContainerMetadata": true,
	"omegaconf.base.Metadata":          true,
	"omegaconf.nodes.AnyNode":          true,
	"typing.Any":                       true,
	"pathlib.PosixPath":                true,
	"pathlib.WindowsPath":              true,
}

func resolveGlobal(module, name string) (*pyGlobal, error) {
	g := &pyGlobal{module: module, name: name}
	full := module + "." + name
	switch full {
	case "collections.OrderedDict":
		g.kind = gOrderedDict
	case "torch._utils._rebuild_tensor_v2":
		g.kind = gRebuildTensorV2
	case "torch._utils._rebuild_parameter":
		g.kind = gRebuildParameter
	case "torch._utils._rebuild_parameter_with_state":
		g.kind = gRebuildParameterWithState
	case "torch._tensor._rebuild_from_type_v2":
		g.kind = gRebuildFromTypeV2
	case "torch.Tensor", "torch.nn.parameter.Parameter", "torch._tensor.Tensor":
		g.kind = gTensorType
	default:
		if module == "torch" {
			if dt, ok := storageDTypes[name]; ok {
				g.kind, g.dtype = gStorage, dt
				return g, nil
			}
		}
		if inertGlobals[full] {
			g.kind = gInert
			return g, nil
		}
		return nil, fmt.Errorf("%w: global %s is not allowed in a state dict", ErrUnsafePickle, full)
	}
	return g, nil
}

func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case *pySet:
		return "set"
	case *pyGlobal:
		return "global " + x.module + "." + x.name
	case *pyOpaque:
		return "opaque " + x.what
	case *ptStorage:
		return "storage"
	case *ptTensor:
		return "tensor"
	case pyMark:
		return "mark"
	}
	return fmt.Sprintf("%T", v)
}

// unpickler runs the restricted VM over data. persistentLoad resolves
// persistent ids (storages).
type unpickler struct {
	data    []byte
	pos     int
	stack   []any
	marks   []int
	memo    map[int64]any
	items   int
	persist func(pid any) (any, error)
}

func (u *unpickler) errf(format string, a ...any) error {
	return fmt.Errorf("%w: pickle at byte %d: %s", ErrCorrupt, u.pos, fmt.Sprintf(format, a...))
}

// errTruncated marks a pickle that ends early (the legacy reader then
// retries with more of the file).
var errTruncated = errors.New("truncated")

func (u *unpickler) errTrunc() error {
	return fmt.Errorf("%w: pickle at byte %d: %w", ErrCorrupt, u.pos, errTruncated)
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, fmt.Errorf("%w (want %d bytes)", u.errTrunc(), n)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readLine() (string, error) {
	i := strings.IndexByte(string(u.data[u.pos:]), '\n')
	if i < 0 {
		return "", fmt.Errorf("%w (unterminated line)", u.errTrunc())
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= pickleMaxStack {
		return u.errf("stack too deep")
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	if _, ok := v.(pyMark); ok {
		return nil, u.errf("unexpected mark")
	}
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, u.errf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("no mark")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	if m > len(u.stack) {
		return nil, u.errf("mark past stack")
	}
	items := append([]any(nil), u.stack[m+1:]...)
	u.stack = u.stack[:m]
	for _, it := range items {
		if _, ok := it.(pyMark); ok {
			return nil, u.errf("nested mark")
		}
	}
	return items, nil
}

func (u *unpickler) count(n int) error {
	u.items += n
	if u.items > pickleMaxItems {
		return u.errf("too many items")
	}
	return nil
}

func (u *unpickler) memoPut(k int64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if k < 0 {
		return u.errf("negative memo key")
	}
	if _, ok := u.memo[k]; !ok && len(u.memo) >= pickleMaxMemo {
		return u.errf("memo too large")
	}
	u.memo[k] = v
	return nil
}

func (u *unpickler) memoGet(k int64) error {
	v, ok := u.memo[k]
	if !ok {
		return u.errf("memo key %d missing", k)
	}
	return u.push(v)
}

func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return int64(v<<shift) >> shift
	}
	// Big little-endian two's complement.
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

// run executes the pickle and returns the top value.
func (u *unpickler) run() (any, error) {
	if u.memo == nil {
		u.memo = map[int64]any{}
	}
	for {
		if u.pos >= len(u.data) {
			return nil, fmt.Errorf("%w (no STOP opcode)", u.errTrunc())
		}
		op := u.data[u.pos]
		u.pos++
		var err error
		switch op {
		case 0x80: // PROTO
			var b []byte
			if b, err = u.read(1); err == nil && b[0] > 5 {
				err = u.errf("protocol %d unsupported", b[0])
			}
		case 0x95: // FRAME
			_, err = u.read(8)
		case '.': // STOP
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case '(': // MARK
			u.marks = append(u.marks, len(u.stack))
			err = u.push(pyMark{})
		case '0': // POP
			if len(u.stack) > 0 {
				if _, ok := u.stack[len(u.stack)-1].(pyMark); ok {
					_, err = u.popMark()
					break
				}
			}
			_, err = u.pop()
		case '1': // POP_MARK
			_, err = u.popMark()
		case '2': // DUP
			var v any
			if v, err = u.top(); err == nil {
				err = u.push(v)
			}
		case 'N':
			err = u.push(nil)
		case 0x88:
			err = u.push(true)
		case 0x89:
			err = u.push(false)
		case 'J': // BININT
			var b []byte
			if b, err = u.read(4); err == nil {
				err = u.push(int64(int32(binary.LittleEndian.Uint32(b))))
			}
		case 'K': // BININT1
			var b []byte
			if b, err = u.read(1); err == nil {
				err = u.push(int64(b[0]))
			}
		case 'M': // BININT2
			var b []byte
			if b, err = u.read(2); err == nil {
				err = u.push(int64(binary.LittleEndian.Uint16(b)))
			}
		case 0x8a: // LONG1
			var b []byte
			if b, err = u.read(1); err == nil {
				if b, err = u.read(int(b[0])); err == nil {
					err = u.push(decodeLong(b))
				}
			}
		case 0x8b: // LONG4
			var b []byte
			if b, err = u.read(4); err == nil {
				n := int32(binary.LittleEndian.Uint32(b))
				if n < 0 || n > 1<<16 {
					err = u.errf("LONG4 length %d", n)
					break
				}
				if b, err = u.read(int(n)); err == nil {
					err = u.push(decodeLong(b))
				}
			}
		case 'I', 'L': // INT, LONG (text)
			var s string
			if s, err = u.readLine(); err == nil {
				s = strings.TrimSuffix(s, "L")
				switch s {
				case "00":
					err = u.push(false)
				case "01":
					err = u.push(true)
				default:
					v, perr := strconv.ParseInt(s, 10, 64)
					if perr != nil {
						err = u.errf("bad int %q", s)
						break
					}
					err = u.push(v)
				}
			}
		case 'G': // BINFLOAT (big-endian)
			var b []byte
			if b, err = u.read(8); err == nil {
				err = u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
			}
		case 'F': // FLOAT (text)
			var s string
			if s, err = u.readLine(); err == nil {
				v, perr := strconv.ParseFloat(s, 64)
				if perr != nil {
					err = u.errf("bad float %q", s)
					break
				}
				err = u.push(v)
			}
		case 'X': // BINUNICODE
			var b []byte
			if b, err = u.read(4); err == nil {
				if b, err = u.read(int(binary.LittleEndian.Uint32(b))); err == nil {
					err = u.push(string(b))
				}
			}
		case 0x8c: // SHORT_BINUNICODE
			var b []byte
			if b, err = u.read(1); err == nil {
				if b, err = u.read(int(b[0])); err == nil {
					err = u.push(string(b))
				}
			}
		case 0x8d: // BINUNICODE8
			var b []byte
			if b, err = u.read(8); err == nil {
				n := binary.LittleEndian.Uint64(b)
				if n > uint64(len(u.data)) {
					err = u.errf("string length %d", n)
					break
				}
				if b, err = u.read(int(n)); err == nil {
					err = u.push(string(b))
				}
			}
		case 'V': // UNICODE (raw-unicode-escape line; only plain ASCII accepted)
			var s string
			if s, err = u.readLine(); err == nil {
				if strings.Contains(s, `\`) {
					err = u.errf("escaped UNICODE opcode not supported")
					break
				}
				err = u.push(s)
			}
		case 'T', 'B': // BINSTRING, BINBYTES
			var b []byte
			if b, err = u.read(4); err == nil {
				if b, err = u.read(int(binary.LittleEndian.Uint32(b))); err == nil {
					if op == 'T' {
						err = u.push(string(b))
					} else {
						err = u.push(append([]byte(nil), b...))
					}
				}
			}
		case 'U', 'C': // SHORT_BINSTRING, SHORT_BINBYTES
			var b []byte
			if b, err = u.read(1); err == nil {
				if b, err = u.read(int(b[0])); err == nil {
					if op == 'U' {
						err = u.push(string(b))
					} else {
						err = u.push(append([]byte(nil), b...))
					}
				}
			}
		case 0x8e, 0x96: // BINBYTES8, BYTEARRAY8
			var b []byte
			if b, err = u.read(8); err == nil {
				n := binary.LittleEndian.Uint64(b)
				if n > uint64(len(u.data)) {
					err = u.errf("bytes length %d", n)
					break
				}
				if b, err = u.read(int(n)); err == nil {
					err = u.push(append([]byte(nil), b...))
				}
			}
		case '}': // EMPTY_DICT
			err = u.push(newDict())
		case ']': // EMPTY_LIST
			err = u.push(&pyList{})
		case ')': // EMPTY_TUPLE
			err = u.push(pyTuple{})
		case 0x8f: // EMPTY_SET
			err = u.push(&pySet{})
		case 't': // TUPLE
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.push(pyTuple(items))
			}
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(u.stack) < n {
				err = u.errf("stack underflow")
				break
			}
			items := append(pyTuple(nil), u.stack[len(u.stack)-n:]...)
			u.stack = u.stack[:len(u.stack)-n]
			for _, it := range items {
				if _, ok := it.(pyMark); ok {
					err = u.errf("unexpected mark")
				}
			}
			if err == nil {
				err = u.push(items)
			}
		case 'l': // LIST
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.push(&pyList{items: items})
			}
		case 'd': // DICT
			var items []any
			if items, err = u.popMark(); err == nil {
				d := newDict()
				if len(items)%2 != 0 {
					err = u.errf("odd DICT items")
					break
				}
				for i := 0; i < len(items) && err == nil; i += 2 {
					err = d.set(items[i], items[i+1])
				}
				if err == nil {
					err = u.push(d)
				}
			}
		case 0x91: // FROZENSET
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.push(&pySet{items: items})
			}
		case 'a': // APPEND
			var v, l any
			if v, err = u.pop(); err == nil {
				if l, err = u.top(); err == nil {
					err = u.appendTo(l, []any{v})
				}
			}
		case 'e': // APPENDS
			var items []any
			var l any
			if items, err = u.popMark(); err == nil {
				if l, err = u.top(); err == nil {
					err = u.appendTo(l, items)
				}
			}
		case 0x90: // ADDITEMS
			var items []any
			var s any
			if items, err = u.popMark(); err == nil {
				if s, err = u.top(); err == nil {
					set, ok := s.(*pySet)
					if !ok {
						err = u.errf("ADDITEMS on %s", pyTypeName(s))
						break
					}
					if err = u.count(len(items)); err == nil {
						set.items = append(set.items, items...)
					}
				}
			}
		case 's': // SETITEM
			var k, v, d any
			if v, err = u.pop(); err == nil {
				if k, err = u.pop(); err == nil {
					if d, err = u.top(); err == nil {
						err = u.setItems(d, []any{k, v})
					}
				}
			}
		case 'u': // SETITEMS
			var items []any
			var d any
			if items, err = u.popMark(); err == nil {
				if d, err = u.top(); err == nil {
					err = u.setItems(d, items)
				}
			}
		case 'q': // BINPUT
			var b []byte
			if b, err = u.read(1); err == nil {
				err = u.memoPut(int64(b[0]))
			}
		case 'r': // LONG_BINPUT
			var b []byte
			if b, err = u.read(4); err == nil {
				err = u.memoPut(int64(binary.LittleEndian.Uint32(b)))
			}
		case 'p': // PUT
			var s string
			if s, err = u.readLine(); err == nil {
				k, perr := strconv.ParseInt(s, 10, 64)
				if perr != nil {
					err = u.errf("bad PUT %q", s)
					break
				}
				err = u.memoPut(k)
			}
		case 0x94: // MEMOIZE
			err = u.memoPut(int64(len(u.memo)))
		case 'h': // BINGET
			var b []byte
			if b, err = u.read(1); err == nil {
				err = u.memoGet(int64(b[0]))
			}
		case 'j': // LONG_BINGET
			var b []byte
			if b, err = u.read(4); err == nil {
				err = u.memoGet(int64(binary.LittleEndian.Uint32(b)))
			}
		case 'g': // GET
			var s string
			if s, err = u.readLine(); err == nil {
				k, perr := strconv.ParseInt(s, 10, 64)
				if perr != nil {
					err = u.errf("bad GET %q", s)
					break
				}
				err = u.memoGet(k)
			}
		case 'c': // GLOBAL
			var mod, name string
			if mod, err = u.readLine(); err == nil {
				if name, err = u.readLine(); err == nil {
					var g *pyGlobal
					if g, err = resolveGlobal(mod, name); err == nil {
						err = u.push(g)
					}
				}
			}
		case 0x93: // STACK_GLOBAL
			var mv, nv any
			if nv, err = u.pop(); err == nil {
				if mv, err = u.pop(); err == nil {
					mod, ok1 := mv.(string)
					name, ok2 := nv.(string)
					if !ok1 || !ok2 {
						err = u.errf("STACK_GLOBAL on non-strings")
						break
					}
					var g *pyGlobal
					if g, err = resolveGlobal(mod, name); err == nil {
						err = u.push(g)
					}
				}
			}
		case 'R': // REDUCE
			var fn, args any
			if args, err = u.pop(); err == nil {
				if fn, err = u.pop(); err == nil {
					var v any
					if v, err = u.reduce(fn, args); err == nil {
						err = u.push(v)
					}
				}
			}
		case 0x81: // NEWOBJ
			var cls any
			if _, err = u.pop(); err == nil { // args
				if cls, err = u.pop(); err == nil {
					var v any
					if v, err = u.newObj(cls); err == nil {
						err = u.push(v)
					}
				}
			}
		case 0x92: // NEWOBJ_EX
			var cls any
			if _, err = u.pop(); err == nil { // kwargs
				if _, err = u.pop(); err == nil { // args
					if cls, err = u.pop(); err == nil {
						var v any
						if v, err = u.newObj(cls); err == nil {
							err = u.push(v)
						}
					}
				}
			}
		case 'b': // BUILD
			var state, obj any
			if state, err = u.pop(); err == nil {
				if obj, err = u.top(); err == nil {
					err = u.build(obj, state)
				}
			}
		case 'Q': // BINPERSID
			var pid any
			if pid, err = u.pop(); err == nil {
				err = u.persistent(pid)
			}
		case 'P': // PERSID
			var s string
			if s, err = u.readLine(); err == nil {
				err = u.persistent(s)
			}
		default:
			// INST, OBJ, EXT*, NEXT_BUFFER, READONLY_BUFFER and unknown bytes.
			return nil, fmt.Errorf("%w: opcode 0x%02x at byte %d is not allowed in a state dict", ErrUnsafePickle, op, u.pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (u *unpickler) persistent(pid any) error {
	if u.persist == nil {
		return fmt.Errorf("%w: persistent id without a storage resolver", ErrUnsafePickle)
	}
	v, err := u.persist(pid)
	if err != nil {
		return err
	}
	return u.push(v)
}

func (u *unpickler) appendTo(l any, items []any) error {
	list, ok := l.(*pyList)
	if !ok {
		return u.errf("APPEND on %s", pyTypeName(l))
	}
	if err := u.count(len(items)); err != nil {
		return err
	}
	list.items = append(list.items, items...)
	return nil
}

func (u *unpickler) setItems(d any, items []any) error {
	if len(items)%2 != 0 {
		return u.errf("odd SETITEMS")
	}
	if err := u.count(len(items) / 2); err != nil {
		return err
	}
	switch x := d.(type) {
	case *pyDict:
		for i := 0; i < len(items); i += 2 {
			if err := x.set(items[i], items[i+1]); err != nil {
				return err
			}
		}
		return nil
	case *pyOpaque:
		return nil // e.g. AttributeDict contents: dropped
	}
	return u.errf("SETITEM on %s", pyTypeName(d))
}

func (u *unpickler) newObj(cls any) (any, error) {
	g, ok := cls.(*pyGlobal)
	if !ok {
		return nil, u.errf("NEWOBJ on %s", pyTypeName(cls))
	}
	switch g.kind {
	case gOrderedDict:
		return newDict(), nil
	case gInert:
		return &pyOpaque{what: g.module + "." + g.name}, nil
	}
	return nil, fmt.Errorf("%w: NEWOBJ of %s.%s", ErrUnsafePickle, g.module, g.name)
}

func (u *unpickler) build(obj, state any) error {
	switch obj.(type) {
	case *pyDict:
		// OrderedDict state: the state dict's _metadata attribute (module
		// versions). Accepted and dropped.
		return nil
	case *pyOpaque:
		return nil
	case *ptTensor:
		// _rebuild_from_type_v2 state or Parameter __dict__: dropped.
		return nil
	}
	return fmt.Errorf("%w: BUILD on %s", ErrUnsafePickle, pyTypeName(obj))
}

func argInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (u *unpickler) reduce(fn, args any) (any, error) {
	g, ok := fn.(*pyGlobal)
	if !ok {
		return nil, fmt.Errorf("%w: REDUCE on %s", ErrUnsafePickle, pyTypeName(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, u.errf("REDUCE %s.%s: args are %s, not a tuple", g.module, g.name, pyTypeName(args))
	}
	switch g.kind {
	case gOrderedDict:
		d := newDict()
		if len(a) == 1 {
			// OrderedDict([(k, v), ...])
			l, ok := a[0].(*pyList)
			if !ok {
				return nil, u.errf("OrderedDict(%s)", pyTypeName(a[0]))
			}
			for _, it := range l.items {
				p, ok := it.(pyTuple)
				if !ok || len(p) != 2 {
					return nil, u.errf("OrderedDict item is not a pair")
				}
				if err := d.set(p[0], p[1]); err != nil {
					return nil, err
				}
			}
		} else if len(a) != 0 {
			return nil, u.errf("OrderedDict with %d args", len(a))
		}
		return d, nil
	case gRebuildTensorV2:
		return u.rebuildTensor(a)
	case gRebuildParameter, gRebuildParameterWithState:
		if len(a) < 1 {
			return nil, u.errf("_rebuild_parameter without data")
		}
		t, ok := a[0].(*ptTensor)
		if !ok {
			return nil, u.errf("_rebuild_parameter of %s", pyTypeName(a[0]))
		}
		return t, nil
	case gRebuildFromTypeV2:
		// (func, new_type, args, state): only func=_rebuild_tensor_v2 and a
		// Tensor/Parameter type are accepted.
		if len(a) != 4 {
			return nil, u.errf("_rebuild_from_type_v2 with %d args", len(a))
		}
		f, ok1 := a[0].(*pyGlobal)
		t, ok2 := a[1].(*pyGlobal)
		inner, ok3 := a[2].(pyTuple)
		if !ok1 || !ok2 || !ok3 || f.kind != gRebuildTensorV2 || t.kind != gTensorType {
			return nil, fmt.Errorf("%w: _rebuild_from_type_v2 of an unsupported type", ErrUnsafePickle)
		}
		return u.rebuildTensor(inner)
	case gInert:
		return &pyOpaque{what: g.module + "." + g.name}, nil
	}
	return nil, fmt.Errorf("%w: REDUCE of %s.%s", ErrUnsafePickle, g.module, g.name)
}

// rebuildTensor interprets _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
func (u *unpickler) rebuildTensor(a pyTuple) (any, error) {
	if len(a) < 4 {
		return nil, u.errf("_rebuild_tensor_v2 with %d args", len(a))
	}
	st, ok := a[0].(*ptStorage)
	if !ok {
		return nil, u.errf("_rebuild_tensor_v2 storage is %s", pyTypeName(a[0]))
	}
	off, ok := argInt(a[1])
	if !ok || off < 0 {
		return nil, u.errf("_rebuild_tensor_v2 bad storage offset")
	}
	size, ok1 := a[2].(pyTuple)
	stride, ok2 := a[3].(pyTuple)
	if !ok1 || !ok2 || len(size) != len(stride) {
		return nil, u.errf("_rebuild_tensor_v2 bad size/stride")
	}
	t := &ptTensor{storage: st, offset: off, shape: make([]int, len(size)), stride: make([]int64, len(size))}
	numel := int64(1)
	maxOff := off
	for i := range size {
		n, ok1 := argInt(size[i])
		s, ok2 := argInt(stride[i])
		if !ok1 || !ok2 || n < 0 || s < 0 || n > 1<<40 {
			return nil, u.errf("_rebuild_tensor_v2 bad size/stride entry")
		}
		t.shape[i], t.stride[i] = int(n), s
		numel *= n
		if numel > 1<<40 {
			return nil, u.errf("tensor too large")
		}
		if n > 0 && s > 0 {
			if n-1 > (math.MaxInt64-maxOff)/s {
				return nil, u.errf("_rebuild_tensor_v2 stride overflow")
			}
			maxOff += (n - 1) * s
		}
	}
	// Zero strides (expanded views) could make a tiny file claim a huge
	// tensor; state dicts do not hold such views beyond small broadcasts.
	if numel > 16*st.numel+4096 {
		return nil, u.errf("tensor view of %d elements over a storage of %d", numel, st.numel)
	}
	if numel > 0 && maxOff >= st.numel {
		return nil, u.errf("tensor view (offset %d, shape %v, stride %v) past its storage of %d elements", off, t.shape, t.stride, st.numel)
	}
	return t, nil
}
