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

// Plan sorts the inputs by length (longest first, ties in input order) and
// cuts them into groups whose padded size len(Items)·MaxLen is at most
// maxTokens and which hold at most maxItems inputs (0 = no limit). A group
// always holds at least one input, so an input longer than maxTokens runs
// alone. Every index of lengths appears in exactly one group.
func Plan(lengths []int, maxTokens, maxItems int) []Group {
	order := make([]int, len(lengths))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(lengths[b], lengths[a]) })
	var groups []Group
	for i := 0; i < len(order); {
		g := Group{MaxLen: max(lengths[order[i]], 0)}
		j := i + 1
		for j < len(order) && (maxItems <= 0 || j-i < maxItems) && (j-i+1)*g.MaxLen <= maxTokens {
			j++
		}
		g.Items = order[i:j:j]
		groups = append(groups, g)
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
