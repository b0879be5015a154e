package csvfile

import (
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// countryInfo is what the fast path of normalizePhone needs to know about a
// country calling code, read once from libphonenumber's metadata.
type countryInfo struct {
	prefixes  []string // national prefixes for parsing, as digit strings
	lengths   []int32  // possible lengths of the national number, ascending
	localOnly []int32  // lengths possible only for local dialling
	anyLength bool     // no length data: 2 to 17 digits, as in IsPossibleNumberWithReason
}

// countries maps a country calling code to its countryInfo; a code is
// absent when its national prefix for parsing is a regular expression
// (AR, AU, BR, CN, JP...), since only Parse can apply it.
var countries = sync.OnceValue(func() map[int]*countryInfo {
	m := map[int]*countryInfo{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return m
	}
	for _, md := range coll.GetMetadata() {
		cc := int(md.GetCountryCode())
		if md.GetId() != phonenumbers.GetRegionCodeForCountryCode(cc) {
			continue // the country's main region decides, as in Parse
		}
		info := &countryInfo{}
		if p := md.GetNationalPrefixForParsing(); p != "" {
			info.prefixes = strings.Split(p, "|")
			if strings.Trim(strings.ReplaceAll(p, "|", ""), "0123456789") != "" || strings.Contains(p, "||") {
				continue
			}
		}
		gd := md.GetGeneralDesc()
		if gd.GetNationalNumberPattern() == "" {
			info.anyLength = true
		} else {
			info.lengths, info.localOnly = gd.GetPossibleLength(), gd.GetPossibleLengthLocalOnly()
			if len(info.lengths) == 0 {
				continue
			}
		}
		m[cc] = info
	}
	return m
})

// countryCode finds the country calling code at the start of digits; info
// is nil when the fast path cannot handle the country.
func countryCode(digits []byte) (cc, n int, info *countryInfo) {
	for n = 1; n <= 3 && n <= len(digits); n++ {
		cc = cc*10 + int(digits[n-1]-'0')
		if len(phonenumbers.GetRegionCodesForCountryCode(cc)) > 0 {
			return cc, n, countries()[cc]
		}
	}
	return 0, 0, nil
}

// mayStripPrefix reports whether Parse might strip a national prefix from
// the start of national (the "0" of "+44 020...", the "1" of "+1 1 555...").
func (c *countryInfo) mayStripPrefix(national []byte) bool {
	for _, p := range c.prefixes {
		if strings.HasPrefix(string(national), p) {
			return true
		}
	}
	return false
}

// lengthResult judges a national number of n digits the way
// phonenumbers.IsPossibleNumberWithReason does for an unknown number type.
func (c *countryInfo) lengthResult(n int) phonenumbers.ValidationResult {
	if c.anyLength {
		switch {
		case n < 2:
			return phonenumbers.TOO_SHORT
		case n > 17:
			return phonenumbers.TOO_LONG
		}
		return phonenumbers.IS_POSSIBLE
	}
	if c.lengths[0] == -1 {
		return phonenumbers.INVALID_LENGTH
	}
	l := int32(n)
	for _, x := range c.localOnly {
		if x == l {
			return phonenumbers.IS_POSSIBLE_LOCAL_ONLY
		}
	}
	switch {
	case l < c.lengths[0]:
		return phonenumbers.TOO_SHORT
	case l > c.lengths[len(c.lengths)-1]:
		return phonenumbers.TOO_LONG
	}
	for _, x := range c.lengths {
		if x == l {
			return phonenumbers.IS_POSSIBLE
		}
	}
	return phonenumbers.INVALID_LENGTH
}
