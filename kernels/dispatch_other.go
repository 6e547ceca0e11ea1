//go:build !(amd64 && gc && !purego) && !(arm64 && gc && !purego)

package kernels

// impls lists the MatMul implementations usable on this CPU, best first.
var impls = []*gemmImpl{genericImpl}

var impl = impls[0]

func hasBF16Kernel() bool { return false }
