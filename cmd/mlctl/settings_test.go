package main

import (
	"strings"
	"testing"
)

func TestSettingsCommand(t *testing.T) {
	_, org, group, mlctl := setup(t)

	code, out, errOut := mlctl("settings", "--org", org)
	if code != exitOK || !strings.Contains(out, "Allowed email domains:     any\n") || !strings.Contains(out, "Default permission group:  "+group+"\n") {
		t.Fatalf("settings: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant any domain and the default group %s", code, out, errOut, group)
	}
	code, out, errOut = mlctl("settings", "--org", org, "--allowed-domains", "Acme.example, @acme.example.org")
	if code != exitOK || !strings.Contains(out, "Allowed email domains:     @acme.example, @acme.example.org\n") {
		t.Errorf("settings --allowed-domains: got exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, _, errOut = mlctl("settings", "--org", org, "--allowed-domains", "ann@acme.example")
	if code != exitFailed || !strings.Contains(errOut, "invalid_domains") || !strings.Contains(errOut, "ann@acme.example") {
		t.Errorf("settings with a bad domain: got exit %d, stderr %q; want 1 naming the entry", code, errOut)
	}
	if code, out, _ := mlctl("settings", "--org", org, "--allowed-domains", ""); code != exitOK || !strings.Contains(out, "Allowed email domains:     any\n") {
		t.Errorf(`settings --allowed-domains "": got exit %d\n%s\nwant any domain again`, code, out)
	}
	if code, _, errOut := mlctl("settings"); code != exitUsage || !strings.Contains(errOut, "--org") {
		t.Errorf("settings without --org: got exit %d, stderr %q; want 2 naming --org", code, errOut)
	}
}
