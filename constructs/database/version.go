package database

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// versionFormats are the shapes of the engine versions lambdards can build, by Aurora and
// engine: RDS PostgreSQL and Aurora PostgreSQL "17.7", RDS MySQL "8.4.7" (8.0 or 8.4),
// Aurora MySQL 3 "3.10.0" (written "8.0.mysql_aurora.3.10.0" in the RDS API).
var versionFormats = map[bool]map[Engine]struct {
	re      *regexp.Regexp
	example string
}{
	false: {
		Postgres: {regexp.MustCompile(`^[0-9]{2}\.[0-9]+$`), "17.7"},
		MySQL:    {regexp.MustCompile(`^8\.[04]\.[0-9]+$`), "8.4.7"},
	},
	true: {
		Postgres: {regexp.MustCompile(`^[0-9]{2}\.[0-9]+$`), "17.7"},
		MySQL:    {regexp.MustCompile(`^3\.[0-9]{2}\.[0-9]+$`), "3.10.0"},
	},
}

// serverlessMinimums are the first versions of each major version that run Aurora
// Serverless v2, and autoPauseMinimums those that can pause at 0 ACU; a major version not
// listed is newer than every listed one and supports the feature from its first release.
// Sources: Amazon Aurora User Guide, "Supported Regions and Aurora DB engines for Aurora
// Serverless v2" (Aurora MySQL 3.02.0, Aurora PostgreSQL 13.6 and 14.3), and "Scaling to
// Zero ACUs with automatic pause and resume for Aurora Serverless v2" (Aurora PostgreSQL
// 16.3, 15.7, 14.12, 13.15; Aurora MySQL 3.08.0).
var (
	serverlessMinimums = map[Engine][]string{
		Postgres: {"13.6", "14.3"},
		MySQL:    {"3.02.0"},
	}
	autoPauseMinimums = map[Engine][]string{
		Postgres: {"13.15", "14.12", "15.7", "16.3"},
		MySQL:    {"3.08.0"},
	}
)

// checkVersion reports what is wrong with an engine version for a variant, or nothing.
func checkVersion(aurora bool, e Engine, version string, autoPause bool) []string {
	f, ok := versionFormats[aurora][e]
	if !ok {
		return nil // the engine itself is reported invalid
	}
	name := engineName(aurora, e)
	if !f.re.MatchString(version) {
		return []string{fmt.Sprintf("engineVersion %q: %s versions are written like %q", version, name, f.example)}
	}
	if !aurora {
		return nil
	}
	var errs []string
	if min, ok := supports(version, serverlessMinimums[e]); !ok {
		errs = append(errs, fmt.Sprintf("engineVersion %q: Aurora Serverless v2 needs %s %s or later; choose a later engineVersion", version, name, min))
	}
	if min, ok := supports(version, autoPauseMinimums[e]); autoPause && !ok {
		errs = append(errs, fmt.Sprintf("engineVersion %q: auto-pause (minimum capacity 0 ACU) needs %s %s or later; "+
			"choose a later engineVersion or a minimum capacity of 0.5 ACU or more", version, name, min))
	}
	return errs
}

// supports reports whether version reaches the minimum listed for its major version (its
// first number: Aurora MySQL 3 is one major version); a version older than every listed
// major version does not, a newer one does. It returns the minimum that applies, for
// messages.
func supports(version string, minimums []string) (string, bool) {
	v := numbers(version)
	for _, m := range minimums {
		if mv := numbers(m); v[0] == mv[0] {
			return m, !less(v, mv)
		}
	}
	if less(v, numbers(minimums[0])) {
		return minimums[0], false
	}
	return minimums[len(minimums)-1], true
}

func numbers(version string) []int {
	var out []int
	for _, part := range strings.Split(version, ".") {
		n, _ := strconv.Atoi(part)
		out = append(out, n)
	}
	return out
}

func less(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func engineName(aurora bool, e Engine) string {
	names := map[Engine]string{Postgres: "PostgreSQL", MySQL: "MySQL"}
	if aurora {
		return "Aurora " + names[e]
	}
	return "RDS " + names[e]
}
