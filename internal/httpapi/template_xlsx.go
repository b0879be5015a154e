package httpapi

import (
	"errors"
	"net/http"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/store"
)

// contentTypeXLSX is the media type of an .xlsx workbook.
const contentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// accountsTemplateXLSX serves the organization's template as an Excel workbook: the CSV
// template's columns with drop-down lists and Text cells (see csvfile.TemplateXLSX).
func (s *Server) accountsTemplateXLSX(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	orgID, err := orgInScope(r, admin)
	if err != nil {
		return err
	}
	org, err := s.store.Organization(r.Context(), orgID)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "organization_not_found", "no organization has id %q", orgID)
	} else if err != nil {
		return err
	}
	b, err := csvfile.TemplateXLSX(org.SocialMessaging)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentTypeXLSX)
	w.Header().Set("Content-Disposition", `attachment; filename="multiline-accounts-template.xlsx"`)
	_, err = w.Write(b)
	return err
}
