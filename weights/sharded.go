package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// IndexFile is the name of a sharded checkpoint's index.
const IndexFile = "model.safetensors.index.json"

// Sharded is a checkpoint split over several safetensors files, read
// through its index (model.safetensors.index.json: {"metadata": {...},
// "weight_map": {tensor: shard file}}). It is safe for concurrent use.
type Sharded struct {
	path   string
	shards []*File
	where  map[string]*File
	names  []string
	meta   map[string]any
}

// OpenSharded opens the index at path and every shard it names (shards are
// relative to the index's directory). Every tensor of the weight map must
// be in the shard it names; a tensor in two shards is an error.
func OpenSharded(path string) (*Sharded, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		e := &Error{Path: path, Msg: "cannot read index", Err: err}
		if errors.Is(err, fs.ErrNotExist) {
			e.Kind = ErrNotFound
		}
		return nil, e
	}
	var idx struct {
		Metadata  map[string]any    `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, &Error{Kind: ErrCorrupt, Path: path, Msg: "index is not {\"metadata\": {...}, \"weight_map\": {tensor: file}}", Err: err}
	}
	if len(idx.WeightMap) == 0 {
		return nil, corrupt(path, "", "index has an empty weight_map")
	}
	files := map[string]bool{}
	for name, shard := range idx.WeightMap {
		if !filepath.IsLocal(shard) {
			return nil, corrupt(path, name, "shard %q is not a file name inside the index's directory", shard)
		}
		files[shard] = true
	}
	order := make([]string, 0, len(files))
	for f := range files {
		order = append(order, f)
	}
	sort.Strings(order)
	s := &Sharded{path: path, where: map[string]*File{}, meta: idx.Metadata}
	byName := map[string]*File{}
	dir := filepath.Dir(path)
	for _, shard := range order {
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			s.Close()
			return nil, err
		}
		s.shards = append(s.shards, f)
		byName[shard] = f
		for _, n := range f.hdr.names {
			if other, dup := s.where[n]; dup {
				s.Close()
				return nil, corrupt(path, n, "in two shards: %s and %s", other.path, f.path)
			}
			s.where[n] = f
		}
	}
	for name, shard := range idx.WeightMap {
		if s.where[name] != byName[shard] {
			s.Close()
			return nil, &Error{Kind: ErrCorrupt, Path: path, Tensor: name, Msg: fmt.Sprintf("weight_map names shard %s, which does not hold it", shard)}
		}
	}
	for n := range s.where {
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	return s, nil
}

// Path is the index file's path.
func (s *Sharded) Path() string { return s.path }

// Shards lists the shard files, sorted by name.
func (s *Sharded) Shards() []*File { return slices.Clone(s.shards) }

// Metadata is the index's "metadata" object (e.g. total_size).
func (s *Sharded) Metadata() map[string]any { return s.meta }

// Names lists the tensor names of all shards, sorted.
func (s *Sharded) Names() []string { return slices.Clone(s.names) }

// Info describes a tensor.
func (s *Sharded) Info(name string) (TensorInfo, bool) {
	f, ok := s.where[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

func (s *Sharded) shard(name string) (*File, error) {
	f, ok := s.where[name]
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: s.path, Tensor: name, Msg: "not found"}
	}
	return f, nil
}

// Float32 is File.Float32 on the tensor's shard.
func (s *Sharded) Float32(name string) ([]float32, error) {
	f, err := s.shard(name)
	if err != nil {
		return nil, err
	}
	return f.Float32(name)
}

// BF16 is File.BF16 on the tensor's shard.
func (s *Sharded) BF16(name string) ([]uint16, error) {
	f, err := s.shard(name)
	if err != nil {
		return nil, err
	}
	return f.BF16(name)
}

// Raw is File.Raw on the tensor's shard.
func (s *Sharded) Raw(name string) ([]byte, error) {
	f, err := s.shard(name)
	if err != nil {
		return nil, err
	}
	return f.Raw(name)
}

// Int64 is File.Int64 on the tensor's shard.
func (s *Sharded) Int64(name string) ([]int64, error) {
	f, err := s.shard(name)
	if err != nil {
		return nil, err
	}
	return f.Int64(name)
}

// Close closes every shard.
func (s *Sharded) Close() error {
	var first error
	for _, f := range s.shards {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var (
	_ RawStore = (*File)(nil)
	_ RawStore = (*Sharded)(nil)
)
