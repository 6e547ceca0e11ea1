package embed

import (
	"math"
	"testing"
)

func TestPool(t *testing.T) {
	// Two dims, four positions; position 0 is left padding.
	h := []float32{9, 9, 1, 2, 3, 6, 5, 1}
	mask := []float32{0, 1, 1, 1}
	for _, tc := range []struct {
		p    Pooling
		skip int
		want []float32
	}{
		{PoolCLS, 0, []float32{1, 2}},
		{PoolLast, 0, []float32{5, 1}},
		{PoolMean, 0, []float32{3, 3}},
		{PoolMean, 1, []float32{4, 3.5}}, // include_prompt=false, 1 prompt token
		{PoolMax, 0, []float32{5, 6}},
		{PoolMeanSqrtLen, 0, []float32{9 / float32(math.Sqrt(3)), 9 / float32(math.Sqrt(3))}},
	} {
		v := make([]float32, 2)
		pool(v, h, mask, 2, tc.p, tc.skip)
		for i := range v {
			if math.Abs(float64(v[i]-tc.want[i])) > 1e-6 {
				t.Errorf("%v skip %d: got %v, want %v", tc.p, tc.skip, v, tc.want)
				break
			}
		}
	}
	// An all-padding row pools to zeros, never NaN.
	v := []float32{7, 7}
	pool(v, h, []float32{0, 0, 0, 0}, 2, PoolMean, 0)
	if v[0] != 0 || v[1] != 0 {
		t.Errorf("all-padding row: %v", v)
	}
}
