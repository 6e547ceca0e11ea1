package sched

import (
	"reflect"
	"testing"
)

func TestPlan(t *testing.T) {
	lengths := []int{3, 10, 5, 10, 1, 7}
	g := Plan(lengths, 20, 0)
	want := []Group{{[]int{1, 3}, 10}, {[]int{5, 2}, 7}, {[]int{0, 4}, 3}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("Plan = %v, want %v", g, want)
	}
	// maxItems caps groups; an input over the budget runs alone.
	g = Plan([]int{50, 2, 2, 2}, 10, 2)
	want = []Group{{[]int{0}, 50}, {[]int{1, 2}, 2}, {[]int{3}, 2}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("Plan = %v, want %v", g, want)
	}
	// Very different lengths split when padding costs more than a pass.
	g = Plan([]int{500, 10, 10, 10, 10}, 8192, 0)
	want = []Group{{[]int{0}, 500}, {[]int{1, 2, 3, 4}, 10}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("Plan = %v, want %v", g, want)
	}
	// ... and stay together when it does not.
	g = Plan([]int{100, 90, 95}, 8192, 0)
	want = []Group{{[]int{0, 2, 1}, 100}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("Plan = %v, want %v", g, want)
	}
	if g := Plan(nil, 10, 0); len(g) != 0 {
		t.Fatalf("empty: %v", g)
	}
	// every index exactly once, budget respected
	ls := make([]int, 100)
	for i := range ls {
		ls[i] = (i*37)%61 + 1
	}
	seen := map[int]bool{}
	for _, g := range Plan(ls, 256, 8) {
		if len(g.Items) > 1 && len(g.Items)*g.MaxLen > 256 || len(g.Items) > 8 {
			t.Errorf("group %v over budget", g)
		}
		for _, i := range g.Items {
			if seen[i] || ls[i] > g.MaxLen {
				t.Errorf("item %d repeated or longer than its group", i)
			}
			seen[i] = true
		}
	}
	if len(seen) != 100 {
		t.Errorf("%d items planned", len(seen))
	}
}

func TestPlanPacked(t *testing.T) {
	g := PlanPacked([]int{500, 10, 10, 10, 10}, 8192, 0)
	want := []Group{{[]int{0, 1, 2, 3, 4}, 500}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("PlanPacked = %v, want %v", g, want)
	}
	g = PlanPacked([]int{6, 5, 4, 3, 20}, 10, 2)
	want = []Group{{[]int{4}, 20}, {[]int{0}, 6}, {[]int{1, 2}, 5}, {[]int{3}, 3}}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("PlanPacked = %v, want %v", g, want)
	}
}

func TestPad(t *testing.T) {
	seqs := [][]int{{5, 6, 7}, {8}}
	types := [][]int{{0, 1, 1}, {1}}
	b := Pad(seqs, types, []int{0, 1}, 9, Right)
	if !reflect.DeepEqual(b.IDs, []int{5, 6, 7, 8, 9, 9}) || !reflect.DeepEqual(b.Mask, []float32{1, 1, 1, 1, 0, 0}) || !reflect.DeepEqual(b.TypeIDs, []int{0, 1, 1, 1, 0, 0}) {
		t.Errorf("right: %+v", b)
	}
	b = Pad(seqs, nil, []int{1, 0}, 9, Left)
	if b.B != 2 || b.L != 3 || !reflect.DeepEqual(b.IDs, []int{9, 9, 8, 5, 6, 7}) || !reflect.DeepEqual(b.Mask, []float32{0, 0, 1, 1, 1, 1}) || b.TypeIDs != nil {
		t.Errorf("left: %+v", b)
	}
}

func BenchmarkPlan(b *testing.B) {
	ls := make([]int, 4096)
	for i := range ls {
		ls[i] = (i*7919)%500 + 1
	}
	b.ReportAllocs()
	for b.Loop() {
		Plan(ls, 8192, 0)
	}
}
