package report

import (
	"fmt"
	"strconv"
	"strings"
)

// DeclarationParams are the names of the declarations as URL parameters
// and form fields.
var DeclarationParams = []string{"units", "paperOutgoing", "sharedDms", "signingIntegrated"}

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
	if d.Units, err = count("units"); err != nil {
		return d, err
	}
	if d.PaperOutgoing, err = count("paperOutgoing"); err != nil {
		return d, err
	}
	d.SharedDMS = strings.TrimSpace(get("sharedDms"))
	if v := strings.TrimSpace(get("signingIntegrated")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return d, fmt.Errorf("report: signingIntegrated %q: true or false", v)
		}
		d.SigningIntegrated = &b
	}
	return d, d.Validate()
}
