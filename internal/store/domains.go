package store

import (
	"errors"
	"strings"
	"unicode"
)

// An organization's allowed email domains ("@example.com", lower case; none: any domain) say
// which email addresses its accounts may have. The rule is checked where an account comes
// into the organization: when a batch row's account is created (ClaimRows: the settings at
// that moment rule, not those at upload), a resend, a move into it; the dry run reports it
// ahead. Accounts identified by a phone number have no domain and are not affected.

// MaxAllowedDomains bounds an organization's list of allowed email domains.
const MaxAllowedDomains = 100

// NormalizeEmailDomain returns entry as an allowed email domain: "@" and a domain name with
// a dot, lower case ("Example.com" and "@EXAMPLE.COM" give "@example.com"). The error says
// what is wrong with it.
func NormalizeEmailDomain(entry string) (string, error) {
	d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(entry), "@"))
	switch {
	case d == "":
		return "", errors.New("is empty; write a domain such as @example.com")
	case len(d) > 253:
		return "", errors.New("is longer than a domain name can be (253 characters)")
	case strings.ContainsFunc(d, func(r rune) bool { return r == '@' || unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "", errors.New("is not a domain; write one domain such as @example.com, without a name before the @")
	case !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, ".."):
		return "", errors.New("is not a domain name; write it with its dot, such as @example.com")
	}
	return "@" + d, nil
}

// DomainAllowed reports whether an account identified by identifier (of kind "email" or
// "phone") may be in an organization whose allowed email domains are allowed.
func DomainAllowed(allowed []string, identifier, kind string) bool {
	if len(allowed) == 0 || kind != "email" {
		return true
	}
	d := EmailDomain(identifier)
	for _, a := range allowed {
		if a == d {
			return true
		}
	}
	return false
}

// EmailDomain is the domain of an email address as an allowed-domain entry: "@example.com";
// "" for a string without an @.
func EmailDomain(address string) string {
	i := strings.LastIndexByte(address, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(address[i:])
}

// DomainHint says what to do about an address that DomainNotAllowed refuses.
const DomainHint = "use an address of an allowed domain, or add this one to the organization's allowed_email_domains"

// DomainNotAllowed says why an address is refused by the allowed email domains of an
// organization, named by whose ("this organization", "the destination"): the detail of
// CodeDomainNotAllowed, and the reason of a resend, a move or a dry-run row that it refuses.
func DomainNotAllowed(identifier string, allowed []string, whose string) string {
	return "the email domain " + EmailDomain(identifier) + " is not one of " + whose + "'s allowed email domains (" +
		strings.Join(allowed, ", ") + ")"
}
