package kernels

// ApplyAct applies act to x in place.
func ApplyAct(x []float32, act Act) { impl.act(x, act) }
