package mailer

import (
	"fmt"
	"strings"
	"time"
)

// Languages lists the invitation languages by code, English first.
var Languages = []string{"en", "it", "de", "fr", "es"}

// DefaultLanguage is used when an account names no language or an unknown one.
const DefaultLanguage = "en"

// languageNames maps the CSV's Language values, English and native names,
// to codes; keys are lower case.
var languageNames = map[string]string{
	"en": "en", "english": "en", "inglese": "en", "englisch": "en", "anglais": "en", "inglés": "en", "ingles": "en",
	"it": "it", "italian": "it", "italiano": "it", "italienisch": "it", "italien": "it",
	"de": "de", "german": "de", "deutsch": "de", "tedesco": "de", "allemand": "de", "alemán": "de", "aleman": "de",
	"fr": "fr", "french": "fr", "français": "fr", "francais": "fr", "francese": "fr", "französisch": "fr", "francés": "fr", "frances": "fr",
	"es": "es", "spanish": "es", "español": "es", "espanol": "es", "spagnolo": "es", "spanisch": "es", "espagnol": "es",
}

// NormalizeLanguage turns a language code ("de", "de-CH") or name ("German",
// "Deutsch") into one of Languages, and anything else into DefaultLanguage.
func NormalizeLanguage(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if code, ok := languageNames[s]; ok {
		return code
	}
	if base, _, ok := strings.Cut(strings.ReplaceAll(s, "_", "-"), "-"); ok {
		if code, ok := languageNames[base]; ok {
			return code
		}
	}
	return DefaultLanguage
}

var monthNames = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"it": {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
}

// FormatDate writes t's date the way lang writes it in running text:
// "24 November 2026", "24 novembre 2026", "24. November 2026",
// "24 de noviembre de 2026"; French and Italian write the first of the
// month as an ordinal ("1er", "1º"). The zero time gives "".
func FormatDate(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	lang = NormalizeLanguage(lang)
	day, month, year := t.Day(), monthNames[lang][t.Month()-1], t.Year()
	switch lang {
	case "de":
		return fmt.Sprintf("%d. %s %d", day, month, year)
	case "es":
		return fmt.Sprintf("%d de %s de %d", day, month, year)
	case "fr":
		if day == 1 {
			return fmt.Sprintf("1er %s %d", month, year)
		}
	case "it":
		if day == 1 {
			return fmt.Sprintf("1º %s %d", month, year)
		}
	}
	return fmt.Sprintf("%d %s %d", day, month, year)
}
