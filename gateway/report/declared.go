package report

import (
	"fmt"
	"strconv"
	"strings"
)

// The names of the declarations as URL parameters and form fields.
const (
	paramUnits             = "units"
	paramPaperOutgoing     = "paperOutgoing"
	paramSharedDMS         = "sharedDms"
	paramSigningIntegrated = "signingIntegrated"
)

// DeclarationParams returns the names of the declarations as URL
// parameters and form fields, those ParseDeclarations reads, in a new
// slice the caller may change.
func DeclarationParams() []string {
	return []string{paramUnits, paramPaperOutgoing, paramSharedDMS, paramSigningIntegrated}
}

// ParseDeclarations reads declarations by name (get returns "" for one
// not given), as the API's query and the web form give them.
func ParseDeclarations(get func(name string) string) (Declarations, error) {
	var d Declarations
	count := func(name string) (*int, error) {
		v := strings.TrimSpace(get(name))
		if v == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(strings.ReplaceAll(v, ".", ""))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("report: %s %q: a whole number of at least 0", name, v)
		}
		return &n, nil
	}
	var err error
	if d.Units, err = count(paramUnits); err != nil {
		return d, err
	}
	if d.PaperOutgoing, err = count(paramPaperOutgoing); err != nil {
		return d, err
	}
	d.SharedDMS = strings.TrimSpace(get(paramSharedDMS))
	if v := strings.TrimSpace(get(paramSigningIntegrated)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return d, fmt.Errorf("report: %s %q: true or false", paramSigningIntegrated, v)
		}
		d.SigningIntegrated = &b
	}
	return d, d.Validate()
}
