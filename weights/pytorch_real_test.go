package weights

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Checkpoints written by torch.save (Debian python3-torch 1.13,
// testdata/pytorch/gen.py): every dtype, non-contiguous and offset views,
// a stride-0 expanded tensor, the legacy (pre-1.6) format, a Lightning-style
// checkpoint and a module state dict with _metadata.
func TestPyTorchRealFiles(t *testing.T) {
	dir := filepath.Join("testdata", "pytorch")
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Values map[string][]float64 `json:"values"`
		Shapes map[string][]int     `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	check := func(f *PyTorchFile, name, want string) {
		t.Helper()
		info, ok := f.Info(name)
		if !ok {
			t.Errorf("%s: %q missing (have %v)", f.Path(), name, f.Names())
			return
		}
		if !slices.Equal(info.Shape, exp.Shapes[want]) {
			t.Errorf("%s: %q shape %v want %v", f.Path(), name, info.Shape, exp.Shapes[want])
		}
		got, err := f.Float32(name)
		if err != nil {
			t.Errorf("%s: %q: %v", f.Path(), name, err)
			return
		}
		w := exp.Values[want]
		if len(got) != len(w) {
			t.Errorf("%s: %q: %d values want %d", f.Path(), name, len(got), len(w))
			return
		}
		for i := range w {
			if got[i] != float32(w[i]) && !(math.IsNaN(float64(got[i])) && math.IsNaN(w[i])) {
				t.Errorf("%s: %q[%d] = %v want %v", f.Path(), name, i, got[i], float32(w[i]))
				return
			}
		}
	}
	for _, file := range []string{"dtypes.pt", "dtypes_legacy.pt"} {
		f, err := OpenPyTorch(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for name := range exp.Values {
			if !strings.HasPrefix(name, "lin.") {
				check(f, name, name)
				n++
			}
		}
		if len(f.Names()) != n {
			t.Errorf("%s: %d tensors, want %d", file, len(f.Names()), n)
		}
		info, _ := f.Info("bf16")
		if info.DType != BF16 {
			t.Errorf("%s: bf16 dtype %s", file, info.DType)
		}
		f.Close()
	}
	f, err := OpenPyTorch(filepath.Join(dir, "lightning.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	check(f, "lin.weight", "lin.weight")
	check(f, "lin.bias", "lin.bias")
	if len(f.Names()) != 2 {
		t.Errorf("lightning: names %v", f.Names())
	}
	t.Logf("lightning.ckpt skipped: %v", f.Skipped())
	f.Close()
	f, err = OpenPyTorch(filepath.Join(dir, "linear.bin"))
	if err != nil {
		t.Fatal(err)
	}
	check(f, "weight", "lin.weight")
	check(f, "bias", "lin.bias")
	f.Close()
}
