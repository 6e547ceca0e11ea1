//go:build amd64 && gc && !purego && linux

package kernels

import "syscall"

// amxPermit asks Linux for the AMX tile-data state (ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA = 18); without it the first tile instruction faults.
func amxPermit() bool {
	const archReqXcompPerm, xfeatureXtiledata = 0x1023, 18
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0)
	return errno == 0
}
