//go:build !amd64 || !gc || purego

package kernels

var prims = []*primImpl{genericPrims}

var prim = prims[0]
