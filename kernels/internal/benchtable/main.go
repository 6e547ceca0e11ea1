// Command benchtable measures airvec's MatMul against OpenBLAS sgemm
// (refbench's gemm_bench, NT = PyTorch Linear layout) on the BERT shapes of
// issue 11, interleaved in one run, and prints the markdown table of
// kernels/README.md. Run from the module root:
//
//	go run ./kernels/internal/benchtable -rounds 3 > /tmp/table.md
//
// Each round visits every (M, N, K, threads) cell and runs gemm_bench and the
// kernels test binary back to back, alternating which goes first; the table
// holds the median over rounds.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	rounds    = flag.Int("rounds", 3, "rounds over all cells")
	gemmBench = flag.String("gemm_bench", filepath.Join(os.Getenv("HOME"), ".cache/airvec-refbench/bin/gemm_bench"), "refbench gemm_bench binary")
	benchtime = flag.String("benchtime", "1s", "go test -benchtime per cell")
	ms        = flag.String("m", "128,512,2048", "M values")
	implName  = flag.String("impl", "avx512", "airvec implementation (bench impl= name)")
)

var shapes = [][2]int{{1536, 384}, {384, 1536}, {3072, 768}, {768, 3072}, {2304, 768}}

type cell struct{ m, n, k, t int }

func main() {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "benchtable")
	check(err)
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "kernels.test")
	run("go", "test", "-c", "-o", bin, "./kernels")
	var cells []cell
	for _, m := range strings.Split(*ms, ",") {
		mi, err := strconv.Atoi(m)
		check(err)
		for _, s := range shapes {
			for _, t := range []int{1, 2} {
				cells = append(cells, cell{mi, s[0], s[1], t})
			}
		}
	}
	blas := map[cell][]float64{}
	f32 := map[cell][]float64{}
	bf := map[cell][]float64{}
	var core string
	gre := regexp.MustCompile(`prec=(fp32|bf16)/.*\s([0-9.]+) GFLOP/s`)
	for r := 0; r < *rounds; r++ {
		for i, c := range cells {
			ob := func() {
				out := run(*gemmBench, "--threads", strconv.Itoa(c.t), "--ops", "NT", "--reps", "3",
					strconv.Itoa(c.m), strconv.Itoa(c.n), strconv.Itoa(c.k))
				var rec struct {
					Core  string  `json:"core"`
					GFlop float64 `json:"median_gflops"`
				}
				check(json.Unmarshal(bytes.TrimSpace(out), &rec))
				core = rec.Core
				blas[c] = append(blas[c], rec.GFlop)
			}
			av := func() {
				pat := fmt.Sprintf("^BenchmarkMatMul$/^impl=%s$/prec=/^M=%d$/^N=%d$/^K=%d$/^threads=%d$", *implName, c.m, c.n, c.k, c.t)
				out := run(bin, "-test.run", "^$", "-test.bench", pat, "-test.benchtime", *benchtime)
				sc := bufio.NewScanner(bytes.NewReader(out))
				for sc.Scan() {
					if g := gre.FindStringSubmatch(sc.Text()); g != nil {
						v, _ := strconv.ParseFloat(g[2], 64)
						if g[1] == "fp32" {
							f32[c] = append(f32[c], v)
						} else {
							bf[c] = append(bf[c], v)
						}
					}
				}
			}
			if (r+i)%2 == 0 {
				ob()
				av()
			} else {
				av()
				ob()
			}
			fmt.Fprintf(os.Stderr, "round %d cell %+v: openblas %.1f fp32 %.1f bf16 %.1f\n", r, c, last(blas[c]), last(f32[c]), last(bf[c]))
		}
	}
	fmt.Printf("Median GFLOP/s over %d interleaved rounds; OpenBLAS core %s, NT layout; airvec impl %s.\n\n", *rounds, core, *implName)
	fmt.Println("| M | N | K | threads | OpenBLAS sgemm | airvec fp32 | fp32 / OpenBLAS | airvec bf16 | bf16 / fp32 |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, c := range cells {
		o, f, b := median(blas[c]), median(f32[c]), median(bf[c])
		fmt.Printf("| %d | %d | %d | %d | %.1f | %.1f | %.2f | %.1f | %.2f |\n", c.m, c.n, c.k, c.t, o, f, f/o, b, b/f)
	}
}

func last(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	s = append([]float64(nil), s...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func run(name string, args ...string) []byte {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %s %v: %v\n%s", name, args, err, out)
		os.Exit(1)
	}
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}
