// Package synthetic builds deterministic in-memory weights of real model
// geometries (BERT / XLM-R trunks with their heads) for benchmarks and
// tests, so that no large file has to exist on disk.
package synthetic

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/airvec/airvec/weights"
)

// Store is an in-memory weights.Store of F32 tensors. It is safe for
// concurrent reads once built.
type Store struct {
	t     map[string][]float32
	shape map[string][]int
	rng   *rand.Rand
}

// New returns an empty store whose random tensors derive from seed.
func New(seed uint64) *Store {
	return &Store{t: map[string][]float32{}, shape: map[string][]int{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Names lists the tensor names, sorted.
func (s *Store) Names() []string {
	out := make([]string, 0, len(s.t))
	for k := range s.t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Info describes a tensor.
func (s *Store) Info(name string) (weights.TensorInfo, bool) {
	sh, ok := s.shape[name]
	if !ok {
		return weights.TensorInfo{}, false
	}
	return weights.TensorInfo{Name: name, DType: weights.F32, Shape: sh}, true
}

// Float32 returns the tensor (shared: do not write it).
func (s *Store) Float32(name string) ([]float32, error) {
	v, ok := s.t[name]
	if !ok {
		return nil, fmt.Errorf("synthetic: tensor %q not found", name)
	}
	return v, nil
}

// Close does nothing.
func (s *Store) Close() error { return nil }

// Put adds a tensor.
func (s *Store) Put(name string, v []float32, shape ...int) {
	s.t[name] = v
	s.shape[name] = shape
}

// Uniform adds a tensor of values uniform in [-scale, scale).
func (s *Store) Uniform(name string, scale float32, shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = (s.rng.Float32()*2 - 1) * scale
	}
	s.Put(name, v, shape...)
	return v
}

// Const adds a tensor filled with c.
func (s *Store) Const(name string, c float32, shape ...int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = c
	}
	s.Put(name, v, shape...)
}

// Geometry is a BERT-family encoder shape.
type Geometry struct {
	Hidden, Layers, Heads, Intermediate int
	Vocab, Positions, TypeVocab         int
}

// Linear adds prefix.weight (out, in) and prefix.bias (out), scaled so
// activations stay O(1).
func (s *Store) Linear(prefix string, out, in int) {
	s.Uniform(prefix+".weight", 1/float32(in)*1.7, out, in)
	s.Uniform(prefix+".bias", 0.02, out)
}

// LayerNorm adds prefix.weight (ones) and prefix.bias (zeros).
func (s *Store) LayerNorm(prefix string, n int) {
	s.Const(prefix+".weight", 1, n)
	s.Const(prefix+".bias", 0, n)
}

// BERT adds a BertModel / XLMRobertaModel trunk under prefix ("" for a bare
// model, "bert" or "roberta" for task checkpoints), HF tensor names.
func (s *Store) BERT(prefix string, g Geometry) {
	p := prefix
	if p != "" {
		p += "."
	}
	H := g.Hidden
	s.Uniform(p+"embeddings.word_embeddings.weight", 0.5, g.Vocab, H)
	s.Uniform(p+"embeddings.position_embeddings.weight", 0.1, g.Positions, H)
	if g.TypeVocab > 0 {
		s.Uniform(p+"embeddings.token_type_embeddings.weight", 0.1, g.TypeVocab, H)
	}
	s.LayerNorm(p+"embeddings.LayerNorm", H)
	for i := 0; i < g.Layers; i++ {
		l := fmt.Sprintf("%sencoder.layer.%d.", p, i)
		for _, n := range []string{"query", "key", "value"} {
			s.Linear(l+"attention.self."+n, H, H)
		}
		s.Linear(l+"attention.output.dense", H, H)
		s.LayerNorm(l+"attention.output.LayerNorm", H)
		s.Linear(l+"intermediate.dense", g.Intermediate, H)
		s.Linear(l+"output.dense", H, g.Intermediate)
		s.LayerNorm(l+"output.LayerNorm", H)
	}
}
