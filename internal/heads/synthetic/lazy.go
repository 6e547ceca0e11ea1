package synthetic

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"github.com/airvec/airvec/weights"
)

// Lazy is a weights.Store of F32 tensors whose values are generated on each
// Float32 call by its fill function (deterministically, e.g. from NameRand),
// so a real geometry costs only the packed copies a model keeps.
type Lazy struct {
	fill   func(name string, shape []int, v []float32)
	shapes map[string][]int
	names  []string
}

// NewLazy returns an empty Lazy store; fill writes a tensor's values.
func NewLazy(fill func(name string, shape []int, v []float32)) *Lazy {
	return &Lazy{fill: fill, shapes: map[string][]int{}}
}

// Add declares a tensor.
func (s *Lazy) Add(name string, shape ...int) {
	if _, ok := s.shapes[name]; !ok {
		s.names = append(s.names, name)
	}
	s.shapes[name] = shape
}

// Remove drops a tensor (tests of missing tensors).
func (s *Lazy) Remove(name string) {
	delete(s.shapes, name)
	s.names = slices.DeleteFunc(s.names, func(n string) bool { return n == name })
}

// Names lists the tensor names, sorted.
func (s *Lazy) Names() []string {
	n := slices.Clone(s.names)
	slices.Sort(n)
	return n
}

// Info describes a tensor.
func (s *Lazy) Info(name string) (weights.TensorInfo, bool) {
	sh, ok := s.shapes[name]
	return weights.TensorInfo{Name: name, DType: weights.F32, Shape: sh}, ok
}

// Float32 generates the tensor (a fresh slice on every call).
func (s *Lazy) Float32(name string) ([]float32, error) {
	sh, ok := s.shapes[name]
	if !ok {
		return nil, fmt.Errorf("synthetic: tensor %q not found: %w", name, weights.ErrNotFound)
	}
	n := 1
	for _, d := range sh {
		n *= d
	}
	v := make([]float32, n)
	s.fill(name, sh, v)
	return v, nil
}

// Close does nothing.
func (s *Lazy) Close() error { return nil }

// NameRand returns a generator seeded by the FNV-1a hash of name, so each
// tensor's values depend on its name only.
func NameRand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(h.Sum64(), 1))
}
