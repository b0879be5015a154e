package csvfile

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPhoneFastPathAgrees checks that the fast path of normalizePhone gives
// what phonenumbers.Parse gives, over numbers of many countries and shapes.
func TestPhoneFastPathAgrees(t *testing.T) {
	var inputs []string
	for _, cc := range []string{"1", "7", "20", "27", "31", "33", "34", "39", "41", "44", "49", "52", "55", "61", "81", "86", "91", "234", "351", "353", "358", "420", "852", "971", "999", "800", "882"} {
		for _, n := range []string{"5550100", "2079460958", "612345678", "30123456", "0612345678", "15123456789", "9876543210", "12", "1234567890123456"} {
			inputs = append(inputs, "+"+cc+n, "+"+cc+" "+n, cc+n, "00"+cc+n, "+"+cc+" ("+n[:2]+") "+n[2:])
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := 4 + rnd.IntN(14)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rnd.IntN(10))
		}
		if b[0] == '0' {
			b[0] = '1'
		}
		inputs = append(inputs, "+"+string(b))
	}
	for _, in := range inputs {
		fastE, fastP := normalizePhone(in)
		slowE, slowP := slowPhone(in)
		if fastE != slowE || (fastP == "") != (slowP == "") {
			t.Errorf("%q: fast path got %q %q, Parse got %q %q", in, fastE, fastP, slowE, slowP)
		}
	}
}

func TestIsScientific(t *testing.T) {
	tests := map[string]bool{
		"1.555E+10": true, "4.4207946E+11": true, "4,4207946E+11": true, "1E10": true, "1.5e-3": true, "-2E5": true,
		"15550100001": false, "E10": false, "1.5E": false, "1.5E+": false, "+1 555": false, "1.555E+10x": false, "abcE1": false,
	}
	for in, want := range tests {
		if got := isScientific(in); got != want {
			t.Errorf("isScientific(%q): got %v, want %v", in, got, want)
		}
	}
}

func BenchmarkNormalizePhone(b *testing.B) {
	for _, in := range []string{"+1 555 010 0001", "+44 (0)20 7946 0958"} {
		b.Run(fmt.Sprintf("%q", in), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				normalizePhone(in)
			}
		})
	}
}
