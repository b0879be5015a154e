package csvfile_test

import (
	"os"
	"testing"

	"github.com/multiline/onboarding/internal/csvfile"
)

// TestExampleFile: docs/example.csv, the file the README points to, has email and device
// rows that pass, and the one row with a bad value (social_messaging "Maybe").
func TestExampleFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/example.csv")
	if err != nil {
		t.Fatal(err)
	}
	f, err := csvfile.Parse(data, csvfile.Options{SocialMessaging: true})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range f.Rows {
		if len(r.Errors) == 0 {
			kinds[r.IdentifierKind]++
		}
	}
	if len(f.Rows) != 9 || f.Valid() != 8 || kinds["email"] != 5 || kinds["phone"] != 3 {
		t.Errorf("got %d rows, %d valid (%v), want 9 rows, 8 valid: 5 emails and 3 device numbers", len(f.Rows), f.Valid(), kinds)
	}
	offload, err := csvfile.Parse(data, csvfile.Options{SocialMessaging: true, SMTPDataOffload: true})
	if err != nil {
		t.Fatal(err)
	}
	if offload.Valid() != 5 {
		t.Errorf("with SMTP data offload: got %d valid rows, want the 5 emails", offload.Valid())
	}
}
