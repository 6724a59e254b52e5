package health

import (
	"math"
	"testing"
)

func ptr(v float64) *float64 { return &v }

// The expected figures are worked by hand from G.107's formulas; the comments
// carry the arithmetic so a reader can check them without this code.
func TestNetworkMOSWorkedFigures(t *testing.T) {
	cases := []struct {
		name              string
		in                MOSInput
		ta, idd, ieEff, r float64
		mos               float64
	}{
		{
			// Ta = 0/2 + 2*0 + 20 = 20 ms <= 100: Idd 0. Ie-eff 0. R = 93.2.
			// MOS = 1 + 0.035*93.2 + 93.2*33.2*6.8*7e-6 = 1 + 3.262 + 0.14729.
			name: "perfect opus", in: MOSInput{Codec: "opus", RTTMs: ptr(0)},
			ta: 20, idd: 0, ieEff: 0, r: 93.2, mos: 4.40929,
		},
		{
			// Ta = 200/2 + 2*10 + 20 = 140. X = log2(1.4) = 0.485427,
			// X^6 = 0.013084, (X/3)^6 = 1.7948e-5:
			// Idd = 25*(1.002169 - 3*1.000003 + 2) = 0.0540.
			// Ie-eff = 0 + 95*2/(2 + 25.1) = 7.0111. R = 93.2 - 0.054 - 7.0111 = 86.135.
			// MOS = 1 + 3.01472 + 86.135*26.135*13.865*7e-6 = 4.2332.
			name: "opus 2% loss, 200 ms rtt, 10 ms jitter",
			in:   MOSInput{Codec: "opus", LossRate: 0.02, JitterMs: 10, RTTMs: ptr(200)},
			ta:   140, idd: 0.0540, ieEff: 7.0111, r: 86.135, mos: 4.2332,
		},
		{
			// Ta = 400/2 + 2*30 + 20 = 280. X = log2(2.8) = 1.485427,
			// X^6 = 10.7424, (X/3)^6 = 0.014736:
			// Idd = 25*(1.50763 - 3*1.002441 + 2) = 12.5077.
			// Ie-eff = 11 + 84*5/(5 + 19) = 28.5. R = 93.2 - 12.508 - 28.5 = 52.192.
			// MOS = 1 + 1.82673 + 52.192*(-7.808)*47.808*7e-6 = 2.6903.
			name: "G.729 5% loss, 400 ms rtt, 30 ms jitter",
			in:   MOSInput{Codec: "G729", LossRate: 0.05, JitterMs: 30, RTTMs: ptr(400)},
			ta:   280, idd: 12.5077, ieEff: 28.5, r: 52.192, mos: 2.6903,
		},
		{
			// No rtt: Ta = 2*5 + 20 = 30, Idd 0. SILK takes the assumed
			// Ie 0, Bpl 25.1: Ie-eff = 95*10/(10+25.1) = 27.0655. R = 66.1345.
			// MOS = 1 + 2.31471 + 66.1345*6.1345*33.8655*7e-6 = 3.41089.
			name: "SILK 10% loss, rtt unknown",
			in:   MOSInput{Codec: "SILK", LossRate: 0.10, JitterMs: 5},
			ta:   30, idd: 0, ieEff: 27.0655, r: 66.1345, mos: 3.41089,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			near(t, "Ta", OneWayDelayMs(c.in), c.ta, 1e-9)
			near(t, "Idd", DelayImpairment(c.ta), c.idd, 1e-3)
			near(t, "Ie-eff", EffectiveEquipmentImpairment(c.in.Codec, c.in.LossRate*100), c.ieEff, 1e-3)
			near(t, "R", RFactor(c.in), c.r, 2e-3)
			near(t, "MOS", NetworkMOS(c.in), c.mos, 1e-3)
		})
	}
}

func TestMOSFromRBounds(t *testing.T) {
	for _, c := range []struct{ r, mos float64 }{{-5, 1}, {0, 1}, {100, 4.5}, {120, 4.5}, {50, 2.575}} {
		// R 50: 1 + 1.75 + 50*(-10)*50*7e-6 = 2.575.
		near(t, "MOS", MOSFromR(c.r), c.mos, 1e-9)
	}
}

func TestMOSDegradation(t *testing.T) {
	// A perfect network degrades nothing; G.729's own Ie is not network
	// degradation.
	near(t, "perfect", MOSDegradation(MOSInput{Codec: "G729"}), 0, 1e-9)
	// 10% loss on SILK (case above): 4.40929 - 3.41089 = 0.9984.
	near(t, "SILK 10%", MOSDegradation(MOSInput{Codec: "SILK", LossRate: 0.10, JitterMs: 5}), 0.9984, 1e-3)
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.5f, want %.5f (±%g)", what, got, want, tol)
	}
}
