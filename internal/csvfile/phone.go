package csvfile

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// phoneExample shows the accepted form of a phone number.
const phoneExample = "a phone number with country code, e.g. +1 555 010 0001"

// normalizePhone turns a phone number into E.164, or says what is wrong.
//
// A number without "+" is taken to include its country code, because Excel
// strips the leading "+" from numbers; "00" before the country code works
// as "+". Numbers are checked with libphonenumber's IsPossibleNumber (the
// length is right for the country), not IsValidNumber, because fictional
// numbers such as +1 555 010 0001 are used in tests and demos.
//
// phonenumbers.Parse costs about 12 µs, too slow for 2000 numbers in a
// file, so plainly written numbers take a fast path that only looks up the
// country code and its possible lengths in the same metadata; anything
// unusual (a national prefix, a leading zero, letters, non-ASCII digits, a
// country whose prefix rules are patterns) goes to Parse.
// TestPhoneFastPathAgrees keeps the two in step.
func normalizePhone(s string) (e164, problem string) {
	s = trimApostrophe(s)
	if isScientific(s) {
		return "", msgScientific
	}
	var buf [24]byte
	digits, plus, ok := plainDigits(s, buf[:0])
	if !ok {
		return slowPhone(s)
	}
	if !plus && len(digits) > 2 && digits[0] == '0' && digits[1] == '0' {
		digits = digits[2:]
	}
	if len(digits) == 0 || digits[0] == '0' {
		return "", "is not " + phoneExample
	}
	cc, ccLen, info := countryCode(digits)
	if cc == 0 {
		return "", msgCountryCode
	}
	national := digits[ccLen:]
	if info == nil || len(national) == 0 || national[0] == '0' || len(national) > 17 || info.mayStripPrefix(national) {
		return slowPhone(s)
	}
	if p := possibleMessage(info.lengthResult(len(national)), cc); p != "" {
		return "", p
	}
	return "+" + string(digits), ""
}

// msgCountryCode is the problem of a number without a known country code.
const msgCountryCode = "does not start with a known country code; write it as " + phoneExample

// slowPhone normalises s with phonenumbers.Parse.
func slowPhone(s string) (string, string) {
	if strings.ContainsFunc(s, unicode.IsLetter) {
		return "", "is not " + phoneExample + "; letters and extensions are not allowed"
	}
	in := s
	if i := strings.IndexFunc(s, func(r rune) bool { return r == '+' || unicode.IsDigit(r) }); i >= 0 && s[i] != '+' {
		in = s[:i] + "+" + strings.TrimPrefix(s[i:], "00")
	}
	num, err := phonenumbers.Parse(in, "ZZ")
	switch {
	case err == phonenumbers.ErrInvalidCountryCode:
		return "", msgCountryCode
	case err == phonenumbers.ErrTooShortNSN || err == phonenumbers.ErrTooShortAfterIDD:
		return "", "is too short for a phone number; write the full number with country code, e.g. +1 555 010 0001"
	case err == phonenumbers.ErrNumTooLong:
		return "", "is too long for a phone number"
	case err != nil:
		return "", "is not " + phoneExample
	case num.GetExtension() != "":
		return "", "has an extension; give the number without it"
	}
	if p := possibleMessage(phonenumbers.IsPossibleNumberWithReason(num), int(num.GetCountryCode())); p != "" {
		return "", p
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}

// possibleMessage explains a length check that failed, or returns "".
// A number possible only for local dialling lacks its area code: too short.
func possibleMessage(r phonenumbers.ValidationResult, cc int) string {
	switch r {
	case phonenumbers.IS_POSSIBLE:
		return ""
	case phonenumbers.INVALID_COUNTRY_CODE:
		return msgCountryCode
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return fmt.Sprintf("is too short for a phone number with country code +%d; write the full number, e.g. +1 555 010 0001", cc)
	case phonenumbers.TOO_LONG:
		return fmt.Sprintf("is too long for a phone number with country code +%d", cc)
	}
	return fmt.Sprintf("does not have the length of a phone number with country code +%d", cc)
}
