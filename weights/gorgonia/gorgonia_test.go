package gorgonia

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/internal/testdata"
	"github.com/airvec/airvec/weights"
)

// checkpoint writes a small safetensors file with tensors of every rank and
// a BF16 one, and opens it.
func checkpoint(t *testing.T) *weights.File {
	t.Helper()
	seq := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i)*0.5 - 3
		}
		return v
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	err := weights.WriteFile(path, []weights.WriteTensor{
		weights.F32Tensor("w2", []int{3, 4}, seq(12)),
		weights.F32Tensor("w1", []int{5}, seq(5)),
		weights.F32Tensor("w4", []int{2, 3, 2, 2}, seq(24)),
		weights.F32Tensor("s", []int{}, []float32{2.5}),
		weights.BF16Tensor("h", []int{2, 2}, []float32{1, -2, 0.5, 3}),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestTensor(t *testing.T) {
	f := checkpoint(t)
	for _, name := range []string{"w2", "w1", "w4", "s", "h"} {
		info, _ := f.Info(name)
		want, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Tensor(f, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := d.Data()
		if len(info.Shape) == 0 {
			if v, ok := got.(float32); !ok || v != want[0] {
				t.Errorf("%s: scalar %v, want %v", name, got, want[0])
			}
			continue
		}
		if !d.Shape().Eq(tensor.Shape(info.Shape)) {
			t.Errorf("%s: shape %v, want %v", name, d.Shape(), info.Shape)
		}
		v := got.([]float32)
		for i := range want {
			if v[i] != want[i] {
				t.Fatalf("%s[%d] = %g, want %g", name, i, v[i], want[i])
			}
		}
		// F32 tensors are views of the mapping: the Dense shares them.
		if info.DType == weights.F32 && &v[0] != &want[0] {
			t.Errorf("%s: copied, want shared memory", name)
		}
	}
	// Element access follows the row-major layout.
	d, _ := Tensor(f, "w4")
	if x, err := d.At(1, 2, 0, 1); err != nil || x.(float32) != float32(1*12+2*4+0*2+1)*0.5-3 {
		t.Errorf("w4[1,2,0,1] = %v, %v", x, err)
	}
	if _, err := Tensor(f, "nope"); err == nil || !strings.HasPrefix(err.Error(), "gorgonia: ") {
		t.Errorf("missing tensor: %v", err)
	}
	if _, err := FromFloat32(make([]float32, 5), 2, 3); err == nil {
		t.Error("5 values for 2×3 accepted")
	}
	if _, err := FromFloat32(nil, 0, 3); err == nil {
		t.Error("empty tensor accepted")
	}
}

func TestEmbeddings(t *testing.T) {
	buf := make([]float32, 12)
	for i := range buf {
		buf[i] = float32(i)
	}
	rows := [][]float32{buf[0:4], buf[4:8], buf[8:12]}
	d, shared, err := Embeddings(rows)
	if err != nil || !shared {
		t.Fatalf("contiguous rows: shared %v, %v", shared, err)
	}
	if &d.Data().([]float32)[0] != &buf[0] || !d.Shape().Eq(tensor.Shape{3, 4}) {
		t.Errorf("contiguous rows not shared as 3×4")
	}
	// Rows of separate arrays (or out of order) are copied.
	sep := [][]float32{append([]float32(nil), buf[0:4]...), append([]float32(nil), buf[4:8]...)}
	for _, rows := range [][][]float32{sep, {buf[4:8], buf[0:4]}, {buf[0:4:4], buf[4:8]}} {
		d, shared, err := Embeddings(rows)
		if err != nil || shared {
			t.Fatalf("separate rows: shared %v, %v", shared, err)
		}
		for i, r := range rows {
			for j, x := range r {
				if v, _ := d.At(i, j); v.(float32) != x {
					t.Fatalf("[%d,%d] = %v, want %v", i, j, v, x)
				}
			}
		}
	}
	for _, bad := range [][][]float32{nil, {{}}, {{1, 2}, {3}}} {
		if _, _, err := Embeddings(bad); err == nil || !strings.HasPrefix(err.Error(), "gorgonia: ") {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}

// TestEmbedSimilarity embeds texts with the bert-mini-embed fixture and
// computes the cosine-similarity matrix with gorgonia (E·Eᵀ of the
// normalized embeddings); it must equal the dot products computed directly.
func TestEmbedSimilarity(t *testing.T) {
	m, err := embed.Load(testdata.Path(t, "models/bert-mini-embed"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	vecs, err := m.EmbedTexts(context.Background(), "a cat sits on the mat", "a kitten on a rug", "stock markets fell")
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Embeddings(vecs)
	if err != nil {
		t.Fatal(err)
	}
	et := e.Clone().(*tensor.Dense)
	if err := et.T(); err != nil {
		t.Fatal(err)
	}
	sim, err := tensor.MatMul(e, et)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vecs {
		for j := range vecs {
			var dot float64
			for k := range vecs[i] {
				dot += float64(vecs[i][k]) * float64(vecs[j][k])
			}
			got, _ := sim.At(i, j)
			if math.Abs(float64(got.(float32))-dot) > 1e-5 {
				t.Errorf("sim[%d,%d] = %v, direct %v", i, j, got, dot)
			}
		}
	}
}

// TestCoreDoesNotLink checks that the core packages and the airvec binary
// depend on neither gorgonia nor spaGO (nor their dependencies), so adding
// the interop packages cannot grow them: the linker only includes imported
// packages, and `go version -m` lists every module linked into a binary,
// which must stay within the modules it links today.
func TestCoreDoesNotLink(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the airvec binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	banned := []string{"gorgonia.org/", "github.com/nlpodyssey/", "gonum.org/", "go4.org/", "github.com/chewxy/",
		"github.com/apache/arrow", "github.com/google/flatbuffers", "github.com/gogo/protobuf"}
	core := []string{"./embed", "./rerank", "./sparse", "./multimodal", "./weights", "./kernels", "./tokenizer", "./examples/airvec"}
	root := moduleRoot(t)
	cmd := exec.Command(goBin, append([]string{"list", "-deps"}, core...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	banned = append(banned, "github.com/airvec/airvec/weights/gorgonia", "github.com/airvec/airvec/weights/spago")
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 20 {
		t.Fatalf("go list -deps printed %d packages", len(pkgs))
	}
	for _, pkg := range pkgs {
		for _, b := range banned {
			if strings.HasPrefix(pkg, b) {
				t.Errorf("a core package depends on %s", pkg)
			}
		}
	}
	bin := filepath.Join(t.TempDir(), "airvec")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/airvec")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mods, err := exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	// The modules the airvec binary links today: a new one (an interop
	// dependency leaking in, or any other) grows every user's binary, so it
	// must be added here deliberately.
	allowed := map[string]bool{"github.com/dlclark/regexp2": true, "github.com/klauspost/cpuid/v2": true,
		"golang.org/x/image": true, "golang.org/x/sys": true, "golang.org/x/text": true}
	for _, line := range strings.Split(string(mods), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "dep" || f[0] == "=>") {
			for _, b := range banned {
				if strings.HasPrefix(f[1], b) {
					t.Errorf("the airvec binary links module %s", f[1])
				}
			}
			if !allowed[f[1]] {
				t.Errorf("the airvec binary links a new module %s (if intended, add it to the allowed list)", f[1])
			}
		}
	}
	if st, err := os.Stat(bin); err == nil {
		t.Logf("airvec binary: %d bytes; modules:\n%s", st.Size(), mods)
	}
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
