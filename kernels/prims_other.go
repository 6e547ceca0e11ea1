//go:build !amd64 && gc && !purego

package kernels

// Without SIMD primitives, the portable float32 versions (prims_fast.go).
var prims = []*primImpl{fastPrims, genericPrims}

var prim = prims[0]
