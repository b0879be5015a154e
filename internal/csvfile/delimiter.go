package csvfile

import "strings"

// headerLine finds the first line that is not blank and not a "sep=" hint
// and returns it (up to the end of its record: quoted line breaks are
// followed) together with the delimiter named by a "sep=" line, if any.
func headerLine(text string) (line string, sep rune) {
	for len(text) > 0 {
		end := recordEnd(text)
		l := text[:end]
		if end < len(text) {
			text = text[end+1:]
		} else {
			text = ""
		}
		if d, ok := sepHint(l); ok {
			sep = d
			continue
		}
		if strings.Trim(l, " \t,;\"\u00A0") == "" || looksLikeNote(firstCellGuess(l)) {
			continue
		}
		return l, sep
	}
	return "", sep
}

// recordEnd returns the index of the newline that ends the first record of
// text, skipping newlines inside double quotes, or len(text).
func recordEnd(text string) int {
	quoted := false
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '"':
			quoted = !quoted
		case '\n':
			if !quoted {
				return i
			}
		}
	}
	return len(text)
}

// sepHint recognises Excel's "sep=;" first line, which names the delimiter.
func sepHint(line string) (rune, bool) {
	l := strings.TrimSpace(line)
	if len(l) < 5 || !strings.EqualFold(l[:4], "sep=") {
		return 0, false
	}
	// Excel writes the hint bare; a spreadsheet may have re-saved it with
	// trailing delimiters, so only the first character after "=" counts.
	switch l[4] {
	case ',':
		return ',', true
	case ';':
		return ';', true
	case '\t':
		return '\t', true
	}
	if strings.HasPrefix(l[4:], `\t`) {
		return '\t', true
	}
	return 0, false
}

// detectDelimiter picks comma, semicolon or tab, whichever occurs most often
// outside double quotes in the header line. A header with none of them is
// read as comma separated (and then fails on its missing columns).
func detectDelimiter(line string) rune {
	var comma, semi, tab int
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				comma++
			}
		case ';':
			if !quoted {
				semi++
			}
		case '\t':
			if !quoted {
				tab++
			}
		}
	}
	switch {
	case tab > comma && tab > semi:
		return '\t'
	case semi > comma:
		return ';'
	}
	return ','
}

// firstCellGuess returns the first non-empty cell of a raw line, split on
// any of the three delimiters; good enough to spot a Note line before the
// delimiter is known.
func firstCellGuess(line string) string {
	for _, cell := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ';' || r == '\t' }) {
		cell = strings.TrimSpace(strings.Trim(strings.TrimSpace(cell), `"`))
		if cell != "" {
			return cell
		}
	}
	return ""
}
