package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/multiline/onboarding/internal/config"
	"github.com/multiline/onboarding/internal/httpapi"
	"github.com/multiline/onboarding/internal/store"
	"github.com/multiline/onboarding/internal/token"
)

const (
	demoOrganization = "Demo Organization"
	demoGroup        = "Default"
	demoAdmin        = "admin@demo.localhost"
	demoNumbers      = 1200 // enough for a full 1000-row file
)

// seedDemo creates the demo organization, its numbers, a permission group and an admin with
// every privilege, and prints their ids and a fresh admin token. Running it again keeps the
// data and prints a new token (only the hash of a token is stored, so the old one cannot be
// shown again).
func seedDemo(ctx context.Context, cfg config.Config, out io.Writer) error {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.CheckSchema(ctx, db.DB); err != nil {
		return err
	}
	st := store.New(db)

	plain, hash := token.New(httpapi.AdminTokenPrefix)
	admin, err := st.UpsertAdminToken(ctx, demoAdmin, hash)
	if err != nil {
		return err
	}
	org, err := findOrCreateOrganization(ctx, st, admin)
	if err != nil {
		return err
	}
	group, err := findOrCreateGroup(ctx, st, org.ID)
	if err != nil {
		return err
	}
	numbers := make([]string, demoNumbers)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+1555010%04d", i)
	}
	if _, err := st.AddNumbers(ctx, org.ID, numbers); err != nil {
		return fmt.Errorf("add demo numbers: %w", err)
	}
	return json.NewEncoder(out).Encode(map[string]string{
		"organization_id":     org.ID,
		"permission_group_id": group.ID,
		"admin_token":         plain,
	})
}

func findOrCreateOrganization(ctx context.Context, st *store.Store, admin store.Admin) (store.Organization, error) {
	orgs, err := st.Organizations(ctx, admin)
	if err != nil {
		return store.Organization{}, err
	}
	for _, o := range orgs {
		if o.Name == demoOrganization {
			return o, nil
		}
	}
	org, err := st.CreateOrganization(ctx, admin, store.NewOrganization{Name: demoOrganization, SocialMessaging: true})
	if errors.Is(err, store.ErrConflict) {
		return findOrCreateOrganization(ctx, st, admin)
	}
	return org, err
}

func findOrCreateGroup(ctx context.Context, st *store.Store, orgID string) (store.PermissionGroup, error) {
	groups, err := st.PermissionGroups(ctx, orgID)
	if err != nil {
		return store.PermissionGroup{}, err
	}
	for _, g := range groups {
		if g.Name == demoGroup {
			return g, nil
		}
	}
	g, err := st.CreatePermissionGroup(ctx, orgID, demoGroup)
	if errors.Is(err, store.ErrConflict) {
		return findOrCreateGroup(ctx, st, orgID)
	}
	return g, err
}
