// Package sched cuts a request's token sequences into padded batches: sorted
// by length so that sequences of similar length share a batch, each batch
// under a token budget (rows × padded length), and builds the padded
// encoder.Batch for each. Used by embed, rerank and sparse.
package sched

import (
	"cmp"
	"slices"

	"github.com/airvec/airvec/internal/encoder"
)

// Group is one batch: indices into the caller's inputs, longest first, all
// padded to MaxLen.
type Group struct {
	Items  []int
	MaxLen int
}

// BatchOverhead is the fixed cost of one forward pass in token
// equivalents (streaming every weight once, small-M GEMM inefficiency): a
// group is split off only when that saves more padding than this.
const BatchOverhead = 64

// maxGroup caps the inputs per group when maxItems is 0.
const maxGroup = 1024

// Plan sorts the inputs by length (longest first, ties in input order) and
// cuts the sorted run into groups whose padded size len(Items)·MaxLen is at
// most maxTokens and which hold at most maxItems inputs (0 = no limit
// beyond 1024). Among such cuts it picks the one with the least padded
// tokens plus BatchOverhead per group (dynamic programming over the sorted
// lengths), so inputs of very different lengths do not share a batch when
// padding would cost more than another pass. A group always holds at least
// one input, so an input longer than maxTokens runs alone. Every index of
// lengths appears in exactly one group.
func Plan(lengths []int, maxTokens, maxItems int) []Group {
	n := len(lengths)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(lengths[b], lengths[a]) })
	if maxItems <= 0 || maxItems > maxGroup {
		maxItems = maxGroup
	}
	l := func(k int) int { return max(lengths[order[k]], 0) }
	// best[j]: least cost of the first j sorted inputs; from[j]: start of
	// the last group in that cut.
	best := make([]int, n+1)
	from := make([]int, n+1)
	for j := 1; j <= n; j++ {
		best[j] = -1
		// last group = sorted[i:j], padded to l(i) (the longest)
		for i := j - 1; i >= 0 && j-i <= maxItems; i-- {
			if j-i > 1 && (j-i)*l(i) > maxTokens {
				break // l(i) only grows as i decreases
			}
			c := best[i] + (j-i)*l(i) + BatchOverhead
			if best[j] < 0 || c < best[j] {
				best[j], from[j] = c, i
			}
		}
	}
	var groups []Group
	for j := n; j > 0; j = from[j] {
		i := from[j]
		groups = append(groups, Group{Items: order[i:j:j], MaxLen: l(i)})
	}
	slices.Reverse(groups)
	return groups
}

// PlanPacked is Plan for trunks that run sequences back to back without
// padding: the cost of a group is its real tokens, so groups are filled in
// sorted order up to maxTokens real tokens and maxItems inputs (0 = no
// limit beyond 1024). A group always holds at least one input. MaxLen is
// the group's longest input.
func PlanPacked(lengths []int, maxTokens, maxItems int) []Group {
	order := make([]int, len(lengths))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(lengths[b], lengths[a]) })
	if maxItems <= 0 || maxItems > maxGroup {
		maxItems = maxGroup
	}
	var groups []Group
	for i := 0; i < len(order); {
		sum := max(lengths[order[i]], 0)
		j := i + 1
		for j < len(order) && j-i < maxItems && sum+max(lengths[order[j]], 0) <= maxTokens {
			sum += max(lengths[order[j]], 0)
			j++
		}
		groups = append(groups, Group{Items: order[i:j:j], MaxLen: max(lengths[order[i]], 0)})
		i = j
	}
	return groups
}

// Side is where padding goes.
type Side int

const (
	Right Side = iota // tokens first, then padding (BERT)
	Left              // padding first (decoder-style embedders: Qwen3)
)

// Pad builds the padded batch of the sequences seqs[i] for i in items, padded
// to the longest with padID. types (may be nil) are the token type ids,
// parallel to seqs; padding gets type 0.
func Pad(seqs, types [][]int, items []int, padID int, side Side) *encoder.Batch {
	L := 0
	for _, i := range items {
		L = max(L, len(seqs[i]))
	}
	B := len(items)
	b := &encoder.Batch{B: B, L: L, IDs: make([]int, B*L), Mask: make([]float32, B*L)}
	if types != nil {
		b.TypeIDs = make([]int, B*L)
	}
	for r, i := range items {
		s := seqs[i]
		off := 0
		if side == Left {
			off = L - len(s)
		}
		row := b.IDs[r*L : (r+1)*L]
		for j := range row {
			row[j] = padID
		}
		copy(row[off:], s)
		m := b.Mask[r*L : (r+1)*L]
		for j := range s {
			m[off+j] = 1
		}
		if types != nil {
			copy(b.TypeIDs[r*L+off:], types[i])
		}
	}
	return b
}
