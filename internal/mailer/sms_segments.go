package mailer

import (
	"strings"
	"unicode/utf16"
)

// SMS encodings.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// SMSInfo is how a text travels as SMS: its encoding, its length in that encoding's units
// (septets, or UTF-16 code units), and the number of segments it is split into.
type SMSInfo struct {
	Encoding string `json:"encoding"`
	Units    int    `json:"characters"`
	Segments int    `json:"segments"`
}

// gsm7Basic is the GSM 03.38 default alphabet (one septet each); gsm7Extension is its
// extension table, whose characters take two (an escape and the character).
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extension = "\f^{}\\[~]|€"
)

// SMSSegments returns how text is sent: GSM-7 when every character is in the GSM alphabet
// (160 septets in one segment, 153 per segment of a longer message; an extension character
// such as € or [ counts two), else UCS-2 (70 code units in one segment, 67 per segment;
// a character outside the Basic Multilingual Plane, such as an emoji, counts two). A
// carrier does not split an extension character's two septets, which can cost a longer
// message one septet per segment: the count here leaves that out.
func SMSSegments(text string) SMSInfo {
	septets, gsm := 0, true
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			septets++
		case strings.ContainsRune(gsm7Extension, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		return SMSInfo{Encoding: EncodingGSM7, Units: septets, Segments: segments(septets, 160, 153)}
	}
	units := len(utf16.Encode([]rune(text)))
	return SMSInfo{Encoding: EncodingUCS2, Units: units, Segments: segments(units, 70, 67)}
}

func segments(n, single, multi int) int {
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	return (n + multi - 1) / multi
}
