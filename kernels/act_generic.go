package kernels

import "math"

// applyActGeneric is the reference for ApplyAct (float64 math).
func applyActGeneric(x []float32, act Act) {
	switch act {
	case ActNone:
	case ActGELU:
		for i, v := range x {
			x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	case ActGELUTanh:
		for i, v := range x {
			f := float64(v)
			x[i] = float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
		}
	case ActQuickGELU:
		for i, v := range x {
			x[i] = float32(float64(v) / (1 + math.Exp(-1.702*float64(v))))
		}
	case ActSiLU:
		for i, v := range x {
			x[i] = float32(float64(v) / (1 + math.Exp(-float64(v))))
		}
	case ActReLU:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	}
}
