package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/envelope"
)

// Quarter is a calendar quarter, counted in Vietnam's time: a document
// created at 23:30 UTC on 30 June belongs to the third quarter, because
// it is 06:30 on 1 July in Hà Nội.
type Quarter struct {
	Year int
	N    int // 1 to 4
}

// ParseQuarter reads "2026-Q3" (also "2026Q3", "Q3-2026", "Q3/2026").
func ParseQuarter(s string) (Quarter, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	var year, n string
	switch {
	case strings.HasPrefix(t, "Q") && len(t) >= 7:
		n, year = t[1:2], strings.TrimLeft(t[2:], "-/ ")
	default:
		y, q, ok := strings.Cut(t, "Q")
		if !ok {
			return Quarter{}, fmt.Errorf("report: quarter %q: write it as 2026-Q3", s)
		}
		year, n = strings.TrimRight(y, "-/ "), q
	}
	y, err1 := strconv.Atoi(year)
	q, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil || q < 1 || q > 4 || y < 2000 || y > 2999 {
		return Quarter{}, fmt.Errorf("report: quarter %q: write it as 2026-Q3 (quarter 1 to 4)", s)
	}
	return Quarter{Year: y, N: q}, nil
}

// QuarterOf returns the quarter of t in Vietnam.
func QuarterOf(t time.Time) Quarter {
	v := t.In(envelope.VietnamTime())
	return Quarter{Year: v.Year(), N: (int(v.Month())-1)/3 + 1}
}

// String writes the quarter as "2026-Q3".
func (q Quarter) String() string { return fmt.Sprintf("%d-Q%d", q.Year, q.N) }

// Label writes it in Vietnamese: "Quý III năm 2026".
func (q Quarter) Label() string {
	return "Quý " + [...]string{"", "I", "II", "III", "IV"}[q.N] + " năm " + strconv.Itoa(q.Year)
}

// Start is midnight in Vietnam on the quarter's first day.
func (q Quarter) Start() time.Time {
	return time.Date(q.Year, time.Month(3*(q.N-1)+1), 1, 0, 0, 0, 0, envelope.VietnamTime())
}

// End is the start of the next quarter: the quarter is [Start, End).
func (q Quarter) End() time.Time { return q.Start().AddDate(0, 3, 0) }

// Month returns the start of the quarter's i-th month (0 to 2).
func (q Quarter) Month(i int) time.Time { return q.Start().AddDate(0, i, 0) }
