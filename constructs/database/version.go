package database

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
)

// A Problem is a database setting that AWS would refuse, or that cannot do what it says.
// Setting is the props' Go field, and Reason names settings as {GoName} (package
// internal/fields), so that the app can report the same problem before synthesis in the
// words of its context keys.
type Problem struct {
	// Setting is "EngineVersion", "InstanceClass" or "MaxCapacity".
	Setting string
	// Value is the setting's value: a string, or a float64 for maxAcu.
	Value any
	// Reason says what is wrong, where AWS says so, and what to change.
	Reason string
}

// String is the problem as the constructs report it: `EngineVersion "12.9": reason`.
func (p Problem) String() string { return fields.Render(p.raw(), fields.Go) }

// raw is String with settings named {GoName}.
func (p Problem) raw() string {
	if s, ok := p.Value.(string); ok {
		return fmt.Sprintf("{%s} %q: %s", p.Setting, s, p.Reason)
	}
	return fmt.Sprintf("{%s} %v: %s", p.Setting, p.Value, p.Reason)
}

// CheckInstance reports what AWS would refuse in an RDS instance's engine version and
// instance class (see calendar.check and checkClass); version "" is the variant's
// DefaultVersion, and an invalid engine is left to the props' own check. NewInstance
// applies it, and the app's context layer calls it before synthesis.
func CheckInstance(e dbspec.Engine, version, class string) []Problem {
	c, ok := calendars[false][e]
	if !ok {
		return nil
	}
	if version == "" {
		version = DefaultVersion(false, e)
	}
	var problems []Problem
	versionOK := true
	if reason := c.check(version); reason != "" {
		problems = append(problems, Problem{"EngineVersion", version, reason})
		versionOK = false
	}
	if reason := checkClass(e, version, versionOK, class); reason != "" {
		problems = append(problems, Problem{"InstanceClass", class, reason})
	}
	return problems
}

// CheckServerless reports what AWS would refuse in an Aurora Serverless v2 cluster's
// engine version (see calendar.check) and capacity range: a version that runs no Aurora
// Serverless v2, cannot pause at a minimum of 0 ACU, or scales to 128 ACU at most, for a
// maximum above 128. version "" is the variant's DefaultVersion; an invalid engine and
// capacities out of range are left to the props' own checks. NewServerless applies it,
// and the app's context layer calls it before synthesis.
func CheckServerless(e dbspec.Engine, version string, minACU, maxACU float64) []Problem {
	c, ok := calendars[true][e]
	if !ok {
		return nil
	}
	if version == "" {
		version = DefaultVersion(true, e)
	}
	if reason := c.check(version); reason != "" {
		return []Problem{{"EngineVersion", version, reason}}
	}
	var problems []Problem
	if min, ok := supports(version, capacityMinimums[e].serverless); !ok {
		problems = append(problems, Problem{"EngineVersion", version,
			fmt.Sprintf("Aurora Serverless v2 needs %s %s or later (%s); choose a later {EngineVersion}", c.name, min, capacitySource)})
	}
	if min, ok := supports(version, capacityMinimums[e].autoPause); minACU == 0 && !ok {
		problems = append(problems, Problem{"EngineVersion", version,
			fmt.Sprintf("auto-pause (minimum capacity 0 ACU) needs %s %s or later; choose a later {EngineVersion} or a {MinCapacity} of 0.5 ACU or more", c.name, min)})
	}
	if min, ok := supports(version, capacityMinimums[e].upTo256); maxACU > olderMaxACU && maxACU <= maxACU256 && !ok {
		problems = append(problems, Problem{"MaxCapacity", maxACU,
			fmt.Sprintf("%s %s scales Aurora Serverless v2 to at most %d ACU, and more needs %s or later (%s); lower {MaxCapacity} to %d, or choose {EngineVersion} %q or later",
				c.name, version, olderMaxACU, min, capacitySource, olderMaxACU, min)})
	}
	return problems
}

// CheckDataAPI reports an Aurora engine version that offers no RDS Data API (version ""
// is the variant's DefaultVersion). The Data API needs Aurora PostgreSQL 13.11, 14.8,
// 15.3, 16.1 or 17.4 and later within each major version (Amazon Aurora User Guide,
// "Supported Regions and Aurora DB engines for RDS Data API", Aurora PostgreSQL
// Serverless v2 and provisioned), or Aurora MySQL 3.07.0 and later (../shared/docs/
// aws-facts.md, "RDS Data API": Aurora MySQL Serverless v2 and provisioned since
// September 2024). Some Regions offer it on no version at all, which synth cannot know.
func CheckDataAPI(e dbspec.Engine, version string) []Problem {
	c, ok := calendars[true][e]
	if !ok {
		return nil
	}
	if version == "" {
		version = DefaultVersion(true, e)
	}
	if c.check(version) != "" {
		return nil // CheckServerless reports the version itself
	}
	if min, ok := supports(version, dataAPIMinimums[e]); !ok {
		return []Problem{{"EngineVersion", version, fmt.Sprintf("the RDS Data API needs %s %s or later; choose a later {EngineVersion}, "+
			"or connect through a proxy or directly", c.name, min)}}
	}
	return nil
}

// dataAPIMinimums are the first versions of each major version that offer the RDS Data
// API (sources at CheckDataAPI).
var dataAPIMinimums = map[dbspec.Engine][]string{
	dbspec.Postgres: {"13.11", "14.8", "15.3", "16.1", "17.4"},
	dbspec.MySQL:    {"3.07.0"},
}

// versionsChecked is the day lambdards's copy of AWS's release calendars (calendars) was
// last checked against them. A major version whose end of standard support falls before
// it is refused. It is a constant, not the clock, so that synth gives the same answer
// every day; when AWS moves a date or a major version leaves standard support, update the
// table and this date together.
const versionsChecked = "2026-12-06"

// A calendar is what lambdards keeps of AWS's release calendar for one variant: the major
// versions with their end of standard support, the oldest minor version of each that the
// calendar lists (and RDS creates databases on), and the minor versions it marks NO_CREATE.
//
// A major version past its end of standard support is refused: AWS still creates a
// database on one, but enrols it in RDS Extended Support, which bills per vCPU-hour or
// ACU-hour on top of the database (Amazon RDS User Guide, "Overview of Amazon RDS Extended
// Support": "You can create new databases with major engine versions that have reached
// the RDS end of standard support date. RDS automatically enrolls these new databases in
// RDS Extended Support and charges you for this offering";
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/extended-support-overview.html;
// the Amazon Aurora User Guide says the same of Aurora), and lambdards does not set
// EngineLifecycleSupport. A major version the table does not know is refused too: it is
// a typo, or newer than the table, which then needs a row.
//
// Minor versions are checked only against the oldest one each calendar lists and against
// the NO_CREATE marks, not one by one. AWS retires each minor version about a year after
// its release, a few every quarter, so a list of the versions on offer would be out of
// date within months; the oldest listed only ever rises, so a stale floor lets through
// some versions AWS has retired since (CloudFormation refuses those at deploy) but never
// refuses one AWS offers. Gaps between listed minor versions are not checked either.
//
// By the calendars' own dates, on versionsChecked the oldest minor versions still in
// standard support are higher than the floors below: RDS PostgreSQL 14.20, 15.15, 16.11,
// 17.7 and 18.1; RDS MySQL 8.4.8; Aurora MySQL 3.10 (3.11 left on 2026-11-13). The floors
// stay at the oldest versions listed, which never refuses a version AWS still creates;
// the defaults (DefaultVersion) are in standard support.
type calendar struct {
	name   string // "RDS PostgreSQL", for messages
	source string // the release calendar, for messages
	// format is the shape of a version, and majorParts how many of its numbers make
	// the major version (2 for RDS MySQL's "8.4", else 1).
	format     *regexp.Regexp
	majorParts int
	majors     []major // oldest first
	// example is a version in standard support on versionsChecked, for messages.
	example  string
	noCreate []string
}

type major struct {
	name                 string // "17", "8.4", "3"
	endOfStandardSupport string // yyyy-mm-dd
	// oldest is the oldest minor version the calendar lists for the major, leaving out
	// NO_CREATE ones; "" for a major out of standard support, where it does not matter,
	// and where the calendar read lists none.
	oldest string
}

// calendars are the release calendars by Aurora and engine, as read in 2026:
//
//   - RDS PostgreSQL: Amazon RDS for PostgreSQL Release Notes, "Release calendars for
//     Amazon RDS for PostgreSQL"
//     (https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html),
//     2026 edition: RDS end of standard support 11 on 29 February 2024, 12 on 28 February
//     2025, 13 on 28 February 2026, 14 on 28 February 2027, 15 on 29 February 2028, 16 on
//     28 February 2029, 17 on 28 February 2030, 18 on 28 February 2031. Its minor-version
//     table marks 14.14, 14.16, 14.21, 15.9, 15.11, 15.16, 16.5, 16.7, 16.12, 17.1, 17.3,
//     17.8 and 18.2 "**": "set to NO_CREATE status. You won't be able to create new DB
//     instances using these versions"; the oldest it lists without the mark are 14.15,
//     15.10, 16.6, 17.2 and 18.1.
//   - RDS MySQL: Amazon RDS User Guide, "MySQL on Amazon RDS versions", sections
//     "Supported MySQL major versions on Amazon RDS" and "Supported MySQL minor versions on
//     Amazon RDS"
//     (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html),
//     2026 edition: RDS end of standard support 5.7 on 29 February 2024, 8.0 on 31 July
//     2026, 8.4 on 31 July 2029; the oldest 8.4 minor version listed is 8.4.3.
//   - Aurora PostgreSQL: Aurora PostgreSQL Release Notes, "Release calendars for Aurora
//     PostgreSQL"
//     (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/aurorapostgresql-release-calendar.html):
//     Aurora end of standard support on the same dates as RDS PostgreSQL for 11 to 17; the
//     minor-version table lists 14.6, 15.8, 16.4 and 17.4 as the oldest. PostgreSQL 18
//     (end of standard support 28 February 2031) postdates the edition read, so no 18
//     minor version is checked.
//   - Aurora MySQL: Aurora MySQL Release Notes, "Release calendars for Amazon Aurora MySQL"
//     (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraMySQLReleaseNotes/AuroraMySQL.release-calendars.html),
//     September 2026 edition: Aurora end of standard support for version 2 on 31 October
//     2024 and version 3 on 30 April 2028; the oldest version 3 minor version listed is
//     3.04. Aurora MySQL version 8.4 (first release 8.4.7, 21 May 2026) is not built by
//     lambdards: its versions are written like RDS MySQL's, and clusterEngine writes
//     Aurora MySQL 3's "8.0.mysql_aurora.3.x.y".
var calendars = map[bool]map[dbspec.Engine]calendar{
	false: {
		dbspec.Postgres: {
			name: "RDS PostgreSQL", source: "Amazon RDS for PostgreSQL Release Notes, release calendars",
			format: twoNumbers, majorParts: 1, example: "17.7",
			majors: postgresMajors("14.15", "15.10", "16.6", "17.2", "18.1"),
			noCreate: []string{"14.14", "14.16", "14.21", "15.9", "15.11", "15.16", "16.5", "16.7", "16.12",
				"17.1", "17.3", "17.8", "18.2"},
		},
		dbspec.MySQL: {
			name: "RDS MySQL", source: `Amazon RDS User Guide, "MySQL on Amazon RDS versions"`,
			format: regexp.MustCompile(`^[0-9]\.[0-9]\.[0-9]+$`), majorParts: 2, example: "8.4.8",
			majors: []major{{"5.7", "2024-02-29", ""}, {"8.0", "2026-07-31", ""}, {"8.4", "2029-07-31", "8.4.3"}},
		},
	},
	true: {
		dbspec.Postgres: {
			name: "Aurora PostgreSQL", source: "Aurora PostgreSQL Release Notes, release calendars",
			format: twoNumbers, majorParts: 1, example: "17.7",
			majors: postgresMajors("14.6", "15.8", "16.4", "17.4", ""),
		},
		dbspec.MySQL: {
			name: "Aurora MySQL", source: "Aurora MySQL Release Notes, release calendars",
			format: regexp.MustCompile(`^[0-9]\.[0-9]{2}\.[0-9]+$`), majorParts: 1, example: "3.10.0",
			majors: []major{{"2", "2024-10-31", ""}, {"3", "2028-04-30", "3.04.0"}},
		},
	},
}

var twoNumbers = regexp.MustCompile(`^[0-9]{2}\.[0-9]+$`)

// postgresMajors lists PostgreSQL 11 to 18 with the end of standard support that the RDS
// and Aurora calendars both give, and the oldest minor version of 14 to 18 that a
// variant's calendar lists (oldest, in that order).
func postgresMajors(oldest ...string) []major {
	ends := []string{"2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28"}
	majors := make([]major, len(ends))
	for i, end := range ends {
		majors[i] = major{name: strconv.Itoa(11 + i), endOfStandardSupport: end}
		if j := i - len(ends) + len(oldest); j >= 0 {
			majors[i].oldest = oldest[j]
		}
	}
	return majors
}

// check reports what is wrong with a version, or "": its form, a major version out of
// standard support or not on the calendar, a minor version older than the calendar lists
// or marked NO_CREATE. It reports the first of these only: each makes the next moot.
func (c calendar) check(version string) string {
	if !c.format.MatchString(version) {
		reason := fmt.Sprintf("%s versions are written like %q", c.name, c.example)
		if c.name == "Aurora MySQL" && strings.HasPrefix(version, "8.") {
			reason += " (Aurora MySQL version 3, compatible with MySQL 8.0); lambdards does not build Aurora MySQL version 8.4, whose versions read like RDS MySQL's"
		}
		return reason
	}
	var supported []string // the major versions in standard support on versionsChecked
	for _, m := range c.majors {
		if m.endOfStandardSupport >= versionsChecked {
			supported = append(supported, m.name)
		}
	}
	name := strings.Join(strings.Split(version, ".")[:c.majorParts], ".")
	i := slices.IndexFunc(c.majors, func(m major) bool { return m.name == name })
	switch oldest := c.majors[0]; {
	case i < 0 && less(numbers(name), numbers(oldest.name)):
		return fmt.Sprintf("%s %s is older than %s %s, which left standard support on %s (%s); use %s or later, e.g. %q",
			c.name, name, c.name, oldest.name, oldest.endOfStandardSupport, c.source, supported[0], c.example)
	case i < 0:
		return fmt.Sprintf("%s %s is not on lambdards's copy of AWS's release calendar (%s), checked on %s, when standard support covered %s; "+
			"use one of those, e.g. %q, or, if AWS now offers %s, add it to the calendar in constructs/database/version.go",
			c.name, name, c.source, versionsChecked, list(supported), c.example, name)
	}
	m := c.majors[i]
	switch {
	case m.endOfStandardSupport < versionsChecked:
		return fmt.Sprintf("%s %s left standard support on %s (%s), and AWS enrols a new database on it in paid RDS Extended Support; use %s or later, e.g. %q",
			c.name, m.name, m.endOfStandardSupport, c.source, supported[0], c.example)
	case m.oldest != "" && less(numbers(version), numbers(m.oldest)):
		return fmt.Sprintf("%s %s is older than %s, the oldest %s %s version on AWS's release calendar (%s), which lists the minor versions AWS still offers; "+
			"choose one of those, e.g. %q", c.name, version, m.oldest, c.name, m.name, c.source, c.example)
	case slices.Contains(c.noCreate, version):
		return fmt.Sprintf("%s %s is marked NO_CREATE on AWS's release calendar (%s): RDS creates no database on it; use another %s minor version, e.g. %q",
			c.name, version, c.source, m.name, c.example)
	}
	return ""
}

// Aurora Serverless v2 capacity by engine version. Source: Amazon Aurora User Guide, "How
// Aurora serverless works", section "Aurora serverless capacity"
// (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.how-it-works.html#aurora-serverless-v2.how-it-works.capacity),
// whose table gives the versions each capacity range needs:
//
//	0.5-128 ACU: Aurora MySQL 3.02.0; Aurora PostgreSQL 13.6, 14.3, 15.2, 16.1
//	0.5-256 ACU: Aurora MySQL 3.06.0; Aurora PostgreSQL 13.13, 14.10, 15.5, 16.1
//	0-256 ACU:   Aurora MySQL 3.08.0; Aurora PostgreSQL 13.15, 14.12, 15.7, 16.3
//
// each "and higher". A major version newer than every one listed supports each range from
// its first release (see supports). The range also depends on the cluster's Serverless v2
// platform version (platform version 1 stops at 128 ACU), but "All new clusters, database
// restores, and new clones launch with the latest platform version available in your AWS
// Region", so a cluster lambdards creates is limited by its engine version only. On
// today's calendar the oldest minor versions (calendars) are above most of these, so
// calendar.check refuses most older versions first.
var capacityMinimums = map[dbspec.Engine]struct{ serverless, upTo256, autoPause []string }{
	dbspec.Postgres: {
		serverless: []string{"13.6", "14.3", "15.2", "16.1"},
		upTo256:    []string{"13.13", "14.10", "15.5", "16.1"},
		autoPause:  []string{"13.15", "14.12", "15.7", "16.3"},
	},
	dbspec.MySQL: {serverless: []string{"3.02.0"}, upTo256: []string{"3.06.0"}, autoPause: []string{"3.08.0"}},
}

const capacitySource = `Amazon Aurora User Guide, "How Aurora serverless works", Aurora serverless capacity`

// olderMaxACU is the largest maximum capacity of the versions before capacityMinimums'
// upTo256, and maxACU256 that of the later ones (same source).
const (
	olderMaxACU = 128
	maxACU256   = 256
)

// supports reports whether version reaches the minimum listed for its major version (its
// first number: Aurora MySQL 3 is one major version, and "8.0.32 and higher" takes in
// MySQL 8.4); a version older than every listed major version does not, a newer one
// does. It returns the minimum that applies, for messages.
func supports(version string, minimums []string) (string, bool) {
	if len(minimums) == 0 {
		return "", true
	}
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

// list writes names as "a", "a and b" or "a, b and c".
func list(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
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
