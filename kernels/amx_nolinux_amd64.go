//go:build amd64 && gc && !purego && !linux

package kernels

// amxPermit: AMX is only enabled on Linux (arch_prctl permission).
func amxPermit() bool { return false }
