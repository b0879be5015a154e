package csvfile

import (
	"bytes"
	"encoding/csv"
	"strings"
)

// NotePrefix starts the template's instruction line; Parse skips a line
// that starts with it (in any case, with ":" or "-" or nothing after).
const NotePrefix = "Note:"

// Template returns the CSV template for an organization: the header in the
// source page's order and one Note line of instructions, with CRLF line ends.
func Template(socialMessaging bool) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write(Columns(socialMessaging)) // a bytes.Buffer does not fail
	_ = w.Write([]string{noteText(socialMessaging)})
	w.Flush()
	return buf.Bytes()
}

// noteText is the instruction line's single cell.
func noteText(socialMessaging bool) string {
	parts := []string{
		NotePrefix + " DELETE THIS LINE BEFORE UPLOADING. One row per account, at most 1000 rows.",
		"Mandatory: " + ColIdentifier + " (an email address, or a phone number with country code such as +1 555 010 0001)" +
			"; " + ColSocialMessaging + " (Yes or No)" +
			"; " + ColMonitorCalls + " (auto or off)" +
			"; " + ColMonitorSMS + " (on or off).",
		"Optional: " + ColFirstname + " and " + ColLastname +
			"; " + ColMultilineNumber + " (an Available number of this organization, with country code; empty lets the user pick one)" +
			"; " + ColForwardingNumber + " (4 to 18 digits with country code)",
	}
	if socialMessaging {
		parts[2] += "; " + ColRestrictIncomingSocialMessaging + " (true or false; only when social_messaging is Yes)"
	}
	parts[2] += "; " + ColLanguage + " (English, Italian, German, French or Spanish; default English)."
	parts = append(parts, "Format phone number columns as Text so that the + and all digits are kept.")
	return strings.Join(parts, " ")
}
