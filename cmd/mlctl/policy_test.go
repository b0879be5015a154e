package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/multiline/onboarding/internal/stacktest"
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
	// 20 numbers Available, under a threshold of 25: the alert is raised at once.
	code, out, errOut = mlctl("settings", "--org", org, "--pool-threshold", "25")
	if code != exitOK || !strings.Contains(out, "Pool alert threshold:      under 25 available\n") ||
		!strings.Contains(out, "Pool alert:                RAISED since ") {
		t.Errorf("settings --pool-threshold 25: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant the alert raised", code, out, errOut)
	}
	if code, out, _ := mlctl("settings", "--org", org, "--pool-threshold", "0"); code != exitOK || !strings.Contains(out, "Pool alert:                not raised (20 available)\n") {
		t.Errorf("settings --pool-threshold 0: got exit %d\n%s\nwant the alert cleared", code, out)
	}
	if code, _, errOut := mlctl("settings", "--org", org, "--pool-threshold", "-1"); code != exitFailed || !strings.Contains(errOut, "invalid_threshold") {
		t.Errorf("settings --pool-threshold -1: got exit %d, stderr %q; want 1 invalid_threshold", code, errOut)
	}
	if code, _, errOut := mlctl("settings"); code != exitUsage || !strings.Contains(errOut, "--org") {
		t.Errorf("settings without --org: got exit %d, stderr %q; want 2 naming --org", code, errOut)
	}
}

func TestResendBatchCommand(t *testing.T) {
	s, org, group, mlctl := setup(t)
	s.SMTP.RejectRecipient(func(rcpt string) *smtp.SMTPError {
		if strings.HasPrefix(rcpt, "user2@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}
		return nil
	})
	b := s.Invite(org, group, stacktest.CSV("acme.example", 1, 2))
	failed, sent := s.Accounts(org)["user2@acme.example"], s.Accounts(org)["user1@acme.example"]

	code, out, errOut := mlctl("accounts", "--org", org, "--status", "invitation_failed")
	if code != exitOK || !strings.Contains(out, failed.ID) || strings.Contains(out, "user1@") {
		t.Fatalf("accounts --status invitation_failed: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant user2 alone", code, out, errOut)
	}
	s.SMTP.RejectRecipient(nil)
	code, out, errOut = mlctl("resend", "--batch", b.ID)
	if code != exitOK || !strings.Contains(out, failed.ID+"\tqueued") || !strings.Contains(out, "1 invitation queued, 0 not sent") {
		t.Errorf("resend --batch: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant user2's invitation queued", code, out, errOut)
	}
	code, out, _ = mlctl("resend", "--batch", b.ID, "--status", "invited")
	if code != exitFailed || !strings.Contains(out, sent.ID+"\tnot_sent\tNot sent: this account was invited less than 60 seconds ago") ||
		!strings.Contains(out, "0 invitations queued") {
		t.Errorf("resend --batch --status invited: got exit %d\n%s\nwant user1 held back by the cooldown", code, out)
	}
	if code, _, errOut := mlctl("resend", "--batch", b.ID, "--status", "active"); code != exitUsage || !strings.Contains(errOut, "invitation_expired") {
		t.Errorf("resend --status active: got exit %d, stderr %q; want 2 listing the statuses", code, errOut)
	}
	if code, _, errOut := mlctl("resend", "--batch", b.ID, "--org", org); code != exitUsage {
		t.Errorf("resend --batch --org: got exit %d, stderr %q; want 2", code, errOut)
	}
}

func TestUndoCommand(t *testing.T) {
	s, org, group, mlctl := setup(t)
	b := s.Invite(org, group, stacktest.CSV("acme.example", 1, 2))
	s.SMTP.WaitForMessages(t, 2, 10*time.Second)
	if got := s.Do("POST", "/v1/activation/"+s.ActivationToken(s.MessagesTo("user1@acme.example")[0]), "", map[string]any{}); got.Status != 200 {
		t.Fatalf("activate user1: got %d %s", got.Status, got.Body)
	}
	code, out, errOut := mlctl("undo", b.ID)
	if code != exitOK || !strings.Contains(out, "\tremoved\tuser2@acme.example\t+1555") || !strings.Contains(out, "\tkept\tuser1@acme.example\tThe account is active") ||
		!strings.Contains(out, "1 account removed, 1 kept") {
		t.Errorf("undo: got exit %d\nstdout:\n%s\nstderr:\n%s\nwant user2 removed and user1 kept", code, out, errOut)
	}
	if code, out, _ := mlctl("undo", b.ID); code != exitOK || !strings.Contains(out, "0 accounts removed, 1 kept") {
		t.Errorf("undo again: got exit %d\n%s\nwant nothing more removed", code, out)
	}
	if code, _, errOut := mlctl("undo"); code != exitUsage {
		t.Errorf("undo without an ID: got exit %d, stderr %q; want 2", code, errOut)
	}
}
