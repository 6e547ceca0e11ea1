//go:build !(amd64 && gc && !purego)

package kernels

// kPackerFor returns the K packer going with the primitives pi: the scalar
// one on builds without the AVX-512 transpose.
func kPackerFor(pi *primImpl) kPacker { return packKGeneric }
