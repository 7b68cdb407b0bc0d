package assert

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// formatValue writes a namespace value in human units.
func formatValue(v any) string {
	switch v := v.(type) {
	case time.Duration:
		return formatDuration(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return formatFloat(v)
	}
	return fmt.Sprint(v)
}

// formatDuration writes 850µs, 231.4ms, 1.234s, 2m3.5s: whole
// microseconds below a millisecond, one decimal of milliseconds below a
// second, milliseconds of seconds below a minute.
func formatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d == 0:
		return "0s"
	case d < time.Microsecond:
		return sign + strconv.FormatInt(int64(d), 10) + "ns"
	case d.Round(time.Microsecond) < time.Millisecond:
		return sign + strconv.FormatInt(int64(d.Round(time.Microsecond)/time.Microsecond), 10) + "µs"
	case d.Round(100*time.Microsecond) < time.Second:
		return sign + strconv.FormatFloat(float64(d.Round(100*time.Microsecond))/1e6, 'f', 1, 64) + "ms"
	case d.Round(time.Millisecond) < time.Minute:
		return sign + strconv.FormatFloat(float64(d.Round(time.Millisecond))/1e9, 'f', 3, 64) + "s"
	}
	return sign + d.Round(time.Millisecond).String()
}

// formatFloat writes rates and fractions: up to two decimals from 1 up
// (4.06, 950), three significant digits below 1 (0.0123).
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if math.Abs(f) >= 1 {
		return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(f))))
	return strconv.FormatFloat(math.Round(f*p)/p, 'f', -1, 64)
}
