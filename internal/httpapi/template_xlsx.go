package httpapi

import (
	"net/http"

	"github.com/multiline/onboarding/internal/csvfile"
	"github.com/multiline/onboarding/internal/store"
)

// accountsTemplateXLSX serves the organization's template as an Excel workbook: the CSV
// template's columns with drop-down lists and Text cells (see csvfile.TemplateXLSX).
func (s *Server) accountsTemplateXLSX(w http.ResponseWriter, r *http.Request, admin store.Admin) error {
	org, err := s.scopedOrg(r, admin)
	if err != nil {
		return err
	}
	b, err := csvfile.TemplateXLSX(org.SocialMessaging)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Disposition", `attachment; filename="multiline-accounts-template.xlsx"`)
	_, err = w.Write(b)
	return err
}
