package envelope_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lienthong/lienthong/envelope"
)

func ExampleParse() {
	b, err := os.ReadFile(filepath.Join("testdata", "samples", "status_acceptance_03.edxml"))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, warnings, err := envelope.Parse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := p.Status
	fmt.Println(s.From.OrganID, "→", s.ResponseFor.OrganID)
	fmt.Println(s.StatusCode, s.StatusCode.Name())
	fmt.Println(len(warnings), "warnings")
	// Output:
	// 000.00.00.H41 → 000.00.00.G22
	// 03 Đã tiếp nhận
	// 0 warnings
}

func ExampleValidate() {
	p := &envelope.Packet{Status: &envelope.Status{
		From:        envelope.Organization{OrganID: "000.00.00.H41", OrganName: "UBND tỉnh Nghệ An"},
		ResponseFor: envelope.ResponseFor{OrganID: "000.00.00.G22", DocumentID: "000.00.00.G22,2025/11/20,7816/VPCP-TTĐT"},
		StatusCode:  envelope.StatusRejected,
		Timestamp:   "2025/11/20 09:30:00",
	}}
	errs, _ := envelope.IsValidationError(envelope.Validate(p, envelope.ProfileSend()))
	for _, e := range errs {
		fmt.Println(e.Path, e.Code)
		fmt.Println(e.MessageVI)
	}
	// Output:
	// MessageHeader/Description required
	// Thiếu Description (bắt buộc)
}

func ExampleParseAgencyCode() {
	for _, s := range []string{"000.00.00.G22", "000.00.12.H41", "002.00.20.H13", "H37.02.02"} {
		c, err := envelope.ParseAgencyCode(s, envelope.CodeStrict)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, "level", c.Level(), "subject lt.edoc."+c.Tokens())
	}
	// Output:
	// 000.00.00.G22 level 1 subject lt.edoc.G22
	// 000.00.12.H41 level 2 subject lt.edoc.H41.12
	// 002.00.20.H13 level 4 subject lt.edoc.H13.20.00.002
	// H37.02.02 level 3 subject lt.edoc.H37.02.02
}
