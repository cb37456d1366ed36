package report

// The report's number formats, for pages that show parts of a report
// (the clerk's page): the Vietnamese way, as the report prints them.

// FormatInt writes n with "." between thousands: 1.234.
func FormatInt(n int) string { return viInt(n) }

// FormatPercent writes a percentage with one decimal and a comma: 56,7%.
func FormatPercent(p float64) string { return viPercent(p) }

// FormatRatio writes a ratio as "num/den (percent)".
func FormatRatio(r Ratio) string { return viRatio(r) }

// FormatDuration writes seconds for people: "2 giờ 15 phút".
func FormatDuration(seconds float64) string { return viDuration(seconds) }
