//go:build purego || !gc

package kernels

// purego: the reference primitives only.
var prims = []*primImpl{genericPrims}

var prim = prims[0]
