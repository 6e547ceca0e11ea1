package weights

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Scope is a name prefix into a Store (candle's VarBuilder): weights are
// reached by nested scopes so that names equal the HF state dict,
//
//	s.Sub("encoder").Sub("layer.0").Tensor("attention.self.query.weight", 384, 384)
//
// Every successful Tensor/Optional/BF16/Int64 call (and Skip) marks the tensor
// consumed; Unused lists what no loader consumed. All scopes derived from
// one NewScope share that record. A Scope is safe for concurrent use.
type Scope struct {
	st     Store
	prefix string
	used   *usedSet
}

type usedSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (u *usedSet) mark(name string) {
	u.mu.Lock()
	u.m[name] = struct{}{}
	u.mu.Unlock()
}

// NewScope returns the root scope of st.
func NewScope(st Store) *Scope {
	return &Scope{st: st, used: &usedSet{m: map[string]struct{}{}}}
}

// Sub returns the scope prefix+name+"." (Sub("") returns s itself).
func (s *Scope) Sub(name string) *Scope {
	if name == "" {
		return s
	}
	return &Scope{st: s.st, prefix: s.prefix + name + ".", used: s.used}
}

// Subf is Sub(fmt.Sprintf(format, args...)), e.g. s.Subf("layer.%d", i).
func (s *Scope) Subf(format string, args ...any) *Scope {
	return s.Sub(fmt.Sprintf(format, args...))
}

// Prefix is the scope's name prefix ("" for the root, else ending in ".").
func (s *Scope) Prefix() string { return s.prefix }

// Store returns the underlying store.
func (s *Scope) Store() Store { return s.st }

// Path returns the full name of a tensor in this scope.
func (s *Scope) Path(name string) string { return s.prefix + name }

// Has reports whether the tensor exists.
func (s *Scope) Has(name string) bool {
	_, ok := s.st.Info(s.prefix + name)
	return ok
}

// Info describes a tensor of this scope.
func (s *Scope) Info(name string) (TensorInfo, bool) { return s.st.Info(s.prefix + name) }

// check finds the tensor and checks its shape against want (-1 matches any
// size in that dimension; no want at all means a scalar).
func (s *Scope) check(name string, want []int) (string, TensorInfo, error) {
	full := s.prefix + name
	info, ok := s.st.Info(full)
	if !ok {
		return full, info, &Error{Kind: ErrNotFound, Path: storePath(s.st), Tensor: full, Msg: "not found" + s.hint(name)}
	}
	if !shapeMatches(info.Shape, want) {
		return full, info, &Error{Kind: ErrShape, Path: storePath(s.st), Tensor: full,
			Msg: fmt.Sprintf("shape %v, want %v", info.Shape, fmtWant(want))}
	}
	return full, info, nil
}

// hint suggests names under the scope that end like the missing one.
func (s *Scope) hint(name string) string {
	last := name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		last = name[i:]
	}
	var near []string
	for _, n := range s.st.Names() {
		if strings.HasPrefix(n, s.prefix) && strings.HasSuffix(n, last) {
			near = append(near, n)
			if len(near) == 3 {
				break
			}
		}
	}
	if len(near) == 0 {
		return ""
	}
	return fmt.Sprintf(" (have e.g. %q)", near)
}

// Tensor returns the named tensor as float32 after checking its shape
// (-1 in shape matches any size). The slice may alias the file mapping:
// do not write it.
func (s *Scope) Tensor(name string, shape ...int) ([]float32, error) {
	full, _, err := s.check(name, shape)
	if err != nil {
		return nil, err
	}
	v, err := s.st.Float32(full)
	if err != nil {
		return nil, err
	}
	s.used.mark(full)
	return v, nil
}

// Optional is Tensor for a tensor that may be absent: it returns nil, nil
// when the tensor does not exist (and still fails on a wrong shape).
func (s *Scope) Optional(name string, shape ...int) ([]float32, error) {
	if !s.Has(name) {
		return nil, nil
	}
	return s.Tensor(name, shape...)
}

// BF16 returns the named tensor as bfloat16 bits after checking its shape.
// BF16 tensors come as stored (possibly a view of the file: do not write
// it); other float dtypes are rounded to nearest even.
func (s *Scope) BF16(name string, shape ...int) ([]uint16, error) {
	full, info, err := s.check(name, shape)
	if err != nil {
		return nil, err
	}
	var v []uint16
	switch st := s.st.(type) {
	case interface {
		BF16(string) ([]uint16, error)
	}:
		v, err = st.BF16(full)
	case RawStore:
		var b []byte
		if b, err = st.Raw(full); err == nil {
			v, err = bf16FromBytes(storePath(s.st), full, b, info.DType)
		}
	default:
		var f []float32
		if f, err = s.st.Float32(full); err == nil {
			v = make([]uint16, len(f))
			for i, x := range f {
				v[i] = Float32ToBF16(x)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	s.used.mark(full)
	return v, nil
}

// Int64 returns an integer or bool tensor as int64 after checking its
// shape.
func (s *Scope) Int64(name string, shape ...int) ([]int64, error) {
	full, info, err := s.check(name, shape)
	if err != nil {
		return nil, err
	}
	var v []int64
	if rs, ok := s.st.(RawStore); ok {
		var b []byte
		if b, err = rs.Raw(full); err == nil {
			v, err = int64FromBytes(storePath(s.st), full, b, info.DType)
		}
	} else if info.DType.IsFloat() {
		err = &Error{Kind: ErrDType, Path: storePath(s.st), Tensor: full, Msg: fmt.Sprintf("dtype %s is not an integer type", info.DType)}
	} else {
		var f []float32
		if f, err = s.st.Float32(full); err == nil {
			v = make([]int64, len(f))
			for i, x := range f {
				v[i] = int64(x)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	s.used.mark(full)
	return v, nil
}

// Skip marks tensors of this scope as consumed without reading them (known
// unused tensors: poolers a task does not use, buffers like position_ids).
// Missing names are ignored.
func (s *Scope) Skip(names ...string) {
	for _, n := range names {
		s.used.mark(s.prefix + n)
	}
}

// Unused lists the tensors under this scope's prefix that no call consumed,
// sorted.
func (s *Scope) Unused() []string {
	s.used.mu.Lock()
	defer s.used.mu.Unlock()
	var out []string
	for _, n := range s.st.Names() {
		if !strings.HasPrefix(n, s.prefix) {
			continue
		}
		if _, ok := s.used.m[n]; !ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func shapeMatches(have, want []int) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if want[i] != -1 && have[i] != want[i] {
			return false
		}
	}
	return true
}

func fmtWant(want []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range want {
		if i > 0 {
			b.WriteByte(' ')
		}
		if d == -1 {
			b.WriteByte('*')
		} else {
			fmt.Fprint(&b, d)
		}
	}
	b.WriteByte(']')
	return b.String()
}
