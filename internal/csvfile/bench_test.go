package csvfile

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile builds a realistic file of n valid rows: half email, half phone
// identifiers, every row with a multiline number and most with a forwarding
// number and a language, in Excel's CRLF comma-separated form.
func benchFile(n int) []byte {
	var b strings.Builder
	b.WriteString(strings.Join(Columns(true), ",") + "\r\n")
	langs := []string{"English", "it", "Deutsch", "French", "", "es"}
	for i := range n {
		id := fmt.Sprintf("User.%d@Example.com", i)
		if i%2 == 1 {
			id = fmt.Sprintf("+1 555 %03d %04d", 100+i/10000, i%10000)
		}
		fwd := ""
		if i%4 != 0 {
			fwd = fmt.Sprintf("+44 20 7946 %04d", i)
		}
		fmt.Fprintf(&b, "Zoë %d,\"Müller, Jr\",%s,%s,+1 555 %03d %04d,auto,on,%s,%s,%s\r\n",
			i, id, []string{"Yes", "No"}[i%2], 200+i/10000, i%10000, fwd, []string{"true", ""}[i%2], langs[i%len(langs)])
	}
	return []byte(b.String())
}

func benchParse(b *testing.B, n int) {
	data := benchFile(n)
	opts := Options{SocialMessaging: true}
	f, err := Parse(data, opts)
	if err != nil {
		b.Fatal(err)
	}
	if got := f.Valid(); got != n {
		b.Fatalf("valid rows: got %d, want %d (first error: %v)", got, n, f.Errors())
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Parse(data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse100(b *testing.B)  { benchParse(b, 100) }
func BenchmarkParse500(b *testing.B)  { benchParse(b, 500) }
func BenchmarkParse1000(b *testing.B) { benchParse(b, 1000) }
