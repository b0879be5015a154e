package csvfile

import (
	"fmt"
	"strings"
	"unicode"
)

// lookalikeScripts are the alphabets whose letters pass for one another: Cyrillic а, е, о, р,
// с, х and Greek ο, ν, ρ are drawn like Latin a, e, o, p, c, x and o, v, p. An address that
// mixes them in one part can look exactly like another person's address.
var lookalikeScripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin},
	{"Cyrillic", unicode.Cyrillic},
	{"Greek", unicode.Greek},
}

// mixedScripts returns a problem when one part of the email address addr mixes letters of
// two of lookalikeScripts, "" otherwise. The parts are the local part as a whole (a single
// Cyrillic "а." in front of a Latin name is the classic look-alike) and each label of the
// domain on its own (a Cyrillic label beside a Latin one, as in mail.пример.com, is a real
// internationalised domain). Digits, punctuation and other alphabets (Han, Arabic...) are
// not compared: they do not pass for Latin letters. The problem names the first letter that
// is not of the part's main alphabet, and its position in addr counted in characters from 1.
//
// Only mixing is refused. An address wholly in Cyrillic (or Greek) is accepted even when it
// could pass for a Latin one, and so are xn-- (Punycode) domains, which do not look like
// the name they encode.
func mixedScripts(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	pos := 0 // characters of addr before the current part
	check := func(part string) string {
		var count [3]int
		var first [3]struct {
			r   rune
			pos int
		}
		i := 0
		for _, r := range part {
			i++
			if !unicode.IsLetter(r) {
				continue
			}
			for s, ls := range lookalikeScripts {
				if unicode.Is(ls.table, r) {
					if count[s] == 0 {
						first[s].r, first[s].pos = r, pos+i
					}
					count[s]++
					break
				}
			}
		}
		pos += i + 1 // and the "@" or "." after the part
		main, other := -1, -1
		for s := range lookalikeScripts {
			if count[s] > 0 && (main < 0 || count[s] > count[main]) {
				main = s
			}
		}
		for s := range lookalikeScripts {
			if s != main && count[s] > 0 && (other < 0 || first[s].pos < first[other].pos) {
				other = s
			}
		}
		if other < 0 {
			return ""
		}
		names := [2]string{lookalikeScripts[main].name, lookalikeScripts[other].name}
		if other < main { // "Latin and Cyrillic", "Cyrillic and Greek", whichever is main
			names[0], names[1] = names[1], names[0]
		}
		f := first[other]
		return fmt.Sprintf("mixes %s and %s letters (%s %c, %U, at position %d), so it can look like another address; retype it",
			names[0], names[1], lookalikeScripts[other].name, f.r, f.r, f.pos)
	}
	if p := check(addr[:at]); p != "" {
		return p
	}
	for label := range strings.SplitSeq(addr[at+1:], ".") {
		if p := check(label); p != "" {
			return p
		}
	}
	return ""
}
