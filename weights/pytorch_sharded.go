package weights

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// PyTorchSharded is a sharded PyTorch checkpoint:
// pytorch_model.bin.index.json ({"weight_map": {tensor: shard file}}) and
// its shards, each read by OpenPyTorch. It is safe for concurrent use.
type PyTorchSharded struct {
	path   string
	shards []*PyTorchFile
	byName map[string]*PyTorchFile
	names  []string
}

// OpenPyTorchSharded opens an index file and all the shards it names
// (shard names must be plain file names beside the index).
func OpenPyTorchSharded(path string) (*PyTorchSharded, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: "reading index", Err: err}
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, &Error{Kind: ErrCorrupt, Path: path, Msg: "index JSON", Err: err}
	}
	if len(idx.WeightMap) == 0 {
		return nil, &Error{Kind: ErrCorrupt, Path: path, Msg: "index has an empty weight_map"}
	}
	s := &PyTorchSharded{path: path, byName: map[string]*PyTorchFile{}}
	open := map[string]*PyTorchFile{}
	dir := filepath.Dir(path)
	fail := func(err error) (*PyTorchSharded, error) {
		s.Close()
		return nil, err
	}
	for name, shard := range idx.WeightMap {
		if shard == "" || filepath.Base(shard) != shard || shard == "." || shard == ".." {
			return fail(&Error{Kind: ErrCorrupt, Path: path, Tensor: name, Msg: fmt.Sprintf("shard %q is not a plain file name", shard)})
		}
		f, ok := open[shard]
		if !ok {
			f, err = OpenPyTorch(filepath.Join(dir, shard))
			if err != nil {
				return fail(err)
			}
			open[shard] = f
			s.shards = append(s.shards, f)
		}
		if _, ok := f.Info(name); !ok {
			return fail(&Error{Kind: ErrCorrupt, Path: path, Tensor: name, Msg: fmt.Sprintf("not in its shard %s", shard)})
		}
		s.byName[name] = f
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	return s, nil
}

// Path returns the index file name.
func (s *PyTorchSharded) Path() string { return s.path }

// Names lists the tensor names, sorted.
func (s *PyTorchSharded) Names() []string { return s.names }

// Info describes a tensor.
func (s *PyTorchSharded) Info(name string) (TensorInfo, bool) {
	f, ok := s.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Float32 returns the tensor converted to float32.
func (s *PyTorchSharded) Float32(name string) ([]float32, error) {
	f, ok := s.byName[name]
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: s.path, Tensor: name, Msg: "not in checkpoint"}
	}
	return f.Float32(name)
}

// Raw returns the tensor's bytes (see PyTorchFile.Raw).
func (s *PyTorchSharded) Raw(name string) ([]byte, error) {
	f, ok := s.byName[name]
	if !ok {
		return nil, &Error{Kind: ErrNotFound, Path: s.path, Tensor: name, Msg: "not in checkpoint"}
	}
	return f.Raw(name)
}

// Close closes every shard.
func (s *PyTorchSharded) Close() error {
	var first error
	for _, f := range s.shards {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var _ RawStore = (*PyTorchSharded)(nil)
