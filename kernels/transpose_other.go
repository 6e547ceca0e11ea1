//go:build !(amd64 && gc && !purego)

package kernels

// attnOpsFor returns the attention helpers going with the primitives pi:
// the generic ones on builds without the AVX-512 versions.
func attnOpsFor(pi *primImpl) *attnOps { return genericAttnOps }
