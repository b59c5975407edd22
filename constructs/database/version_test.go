package database

import (
	"slices"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/dbspec"
)

// TestCheckVersion checks each rule of the release calendars with a version it takes and
// one it refuses, for every variant.
func TestCheckVersion(t *testing.T) {
	tests := []struct {
		aurora  bool
		engine  dbspec.Engine
		version string
		want    string // "" for a version the calendar takes
	}{
		// RDS PostgreSQL.
		{false, dbspec.Postgres, "17.7", ""},
		{false, dbspec.Postgres, "18.1", ""},
		{false, dbspec.Postgres, "16", `RDS PostgreSQL versions are written like "17.7"`},
		{false, dbspec.Postgres, "14.15", ""}, // the oldest listed without NO_CREATE
		{false, dbspec.Postgres, "14.3", `RDS PostgreSQL 14.3 is older than 14.15, the oldest RDS PostgreSQL 14 version on AWS's release calendar (Amazon RDS for PostgreSQL Release Notes, release calendars), which lists the minor versions AWS still offers; choose one of those, e.g. "17.7"`},
		{false, dbspec.Postgres, "12.9", `RDS PostgreSQL 12 left standard support on 2025-02-28 (Amazon RDS for PostgreSQL Release Notes, release calendars), and AWS enrols a new database on it in paid RDS Extended Support; use 14 or later, e.g. "17.7"`},
		{false, dbspec.Postgres, "13.23", "RDS PostgreSQL 13 left standard support on 2026-02-28"},
		{false, dbspec.Postgres, "10.23", "RDS PostgreSQL 10 is older than RDS PostgreSQL 11, which left standard support on 2024-02-29 (Amazon RDS for PostgreSQL Release Notes, release calendars); use 14 or later"},
		{false, dbspec.Postgres, "19.1", `RDS PostgreSQL 19 is not on lambdards's copy of AWS's release calendar (Amazon RDS for PostgreSQL Release Notes, release calendars), checked on 2026-12-06, when standard support covered 14, 15, 16, 17 and 18; use one of those, e.g. "17.7", or, if AWS now offers 19, add it to the calendar in constructs/database/version.go`},
		{false, dbspec.Postgres, "17.9", ""},
		{false, dbspec.Postgres, "17.8", `RDS PostgreSQL 17.8 is marked NO_CREATE on AWS's release calendar (Amazon RDS for PostgreSQL Release Notes, release calendars): RDS creates no database on it; use another 17 minor version, e.g. "17.7"`},
		// RDS MySQL.
		{false, dbspec.MySQL, "8.4.8", ""},
		{false, dbspec.MySQL, "8.4.3", ""},
		{false, dbspec.MySQL, "8.4.2", "RDS MySQL 8.4.2 is older than 8.4.3, the oldest RDS MySQL 8.4 version on AWS's release calendar"},
		{false, dbspec.MySQL, "8.0.45", `RDS MySQL 8.0 left standard support on 2026-07-31 (Amazon RDS User Guide, "MySQL on Amazon RDS versions"), and AWS enrols a new database on it in paid RDS Extended Support; use 8.4 or later, e.g. "8.4.8"`},
		{false, dbspec.MySQL, "5.7.44", "RDS MySQL 5.7 left standard support on 2024-02-29"},
		{false, dbspec.MySQL, "9.1.0", "RDS MySQL 9.1 is not on lambdards's copy of AWS's release calendar"},
		{false, dbspec.MySQL, "3.10.0", `RDS MySQL versions are written like "8.4.8"`},
		// Aurora PostgreSQL.
		{true, dbspec.Postgres, "17.7", ""},
		{true, dbspec.Postgres, "17.4", ""},
		{true, dbspec.Postgres, "17.3", "Aurora PostgreSQL 17.3 is older than 17.4, the oldest Aurora PostgreSQL 17 version on AWS's release calendar (Aurora PostgreSQL Release Notes, release calendars)"},
		{true, dbspec.Postgres, "18.3", ""}, // no 18 minor version is checked
		{true, dbspec.Postgres, "13.15", `Aurora PostgreSQL 13 left standard support on 2026-02-28 (Aurora PostgreSQL Release Notes, release calendars), and AWS enrols a new database on it in paid RDS Extended Support; use 14 or later, e.g. "17.7"`},
		// Aurora MySQL.
		{true, dbspec.MySQL, "3.10.0", ""},
		{true, dbspec.MySQL, "3.04.0", ""},
		{true, dbspec.MySQL, "3.03.1", "Aurora MySQL 3.03.1 is older than 3.04.0, the oldest Aurora MySQL 3 version on AWS's release calendar"},
		{true, dbspec.MySQL, "2.12.1", `Aurora MySQL 2 left standard support on 2024-10-31 (Aurora MySQL Release Notes, release calendars), and AWS enrols a new database on it in paid RDS Extended Support; use 3 or later, e.g. "3.10.0"`},
		{true, dbspec.MySQL, "4.01.0", "Aurora MySQL 4 is not on lambdards's copy of AWS's release calendar"},
		{true, dbspec.MySQL, "8.4.7", `Aurora MySQL versions are written like "3.10.0" (Aurora MySQL version 3, compatible with MySQL 8.0); lambdards does not build Aurora MySQL version 8.4, whose versions read like RDS MySQL's`},
	}
	for _, tt := range tests {
		got := calendars[tt.aurora][tt.engine].check(tt.version)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("calendars[%v][%s].check(%q) = %q, want %q", tt.aurora, tt.engine, tt.version, got, tt.want)
		}
	}
}

// TestCalendars checks the tables themselves: majors in order, the ones in standard support
// on versionsChecked, and that lambdards's defaults and the messages' examples pass.
func TestCalendars(t *testing.T) {
	supported := map[bool]map[dbspec.Engine]string{
		false: {dbspec.Postgres: "14 15 16 17 18", dbspec.MySQL: "8.4"},
		true:  {dbspec.Postgres: "14 15 16 17 18", dbspec.MySQL: "3"},
	}
	for aurora, byEngine := range calendars {
		for e, c := range byEngine {
			var names []string
			for i, m := range c.majors {
				if i > 0 && (!less(numbers(c.majors[i-1].name), numbers(m.name)) || c.majors[i-1].endOfStandardSupport > m.endOfStandardSupport) {
					t.Errorf("%s: major %s is out of order", c.name, m.name)
				}
				if m.endOfStandardSupport >= versionsChecked {
					names = append(names, m.name)
				}
				if m.oldest != "" && (!c.format.MatchString(m.oldest) || !strings.HasPrefix(m.oldest, m.name+".")) {
					t.Errorf("%s %s: oldest %q is not a version of it", c.name, m.name, m.oldest)
				}
			}
			if got := strings.Join(names, " "); got != supported[aurora][e] {
				t.Errorf("%s: in standard support on %s: %s, want %s", c.name, versionsChecked, got, supported[aurora][e])
			}
			for _, v := range []string{DefaultVersion(aurora, e), c.example} {
				if reason := c.check(v); reason != "" {
					t.Errorf("%s: check(%q) = %q, want it taken", c.name, v, reason)
				}
			}
			for _, v := range c.noCreate {
				if !c.format.MatchString(v) {
					t.Errorf("%s: NO_CREATE %q is not a version", c.name, v)
				}
			}
		}
	}
}

// TestCheckServerless checks the capacity rules: auto-pause at 0 ACU and a maximum above
// 128 ACU, each with a version that has it and one that has not, and that a version the
// calendar refuses is the only problem reported.
func TestCheckServerless(t *testing.T) {
	tests := []struct {
		engine         dbspec.Engine
		version        string
		minACU, maxACU float64
		want           []string // Problem.String() of each problem
	}{
		{dbspec.Postgres, "", 0, 256, nil},
		{dbspec.MySQL, "", 0, 256, nil},
		{dbspec.Postgres, "14.12", 0, 4, nil},
		{dbspec.Postgres, "14.11", 0, 4, []string{`EngineVersion "14.11": auto-pause (minimum capacity 0 ACU) needs Aurora PostgreSQL 14.12 or later; choose a later EngineVersion or a MinCapacity of 0.5 ACU or more`}},
		{dbspec.Postgres, "14.11", 0.5, 4, nil},
		{dbspec.MySQL, "3.08.0", 0, 4, nil},
		{dbspec.MySQL, "3.07.1", 0, 4, []string{`EngineVersion "3.07.1": auto-pause (minimum capacity 0 ACU) needs Aurora MySQL 3.08.0 or later; choose a later EngineVersion or a MinCapacity of 0.5 ACU or more`}},
		{dbspec.Postgres, "14.10", 0.5, 256, nil},
		{dbspec.Postgres, "14.9", 0.5, 128, nil},
		{dbspec.Postgres, "14.9", 0.5, 128.5, []string{`MaxCapacity 128.5: Aurora PostgreSQL 14.9 scales Aurora Serverless v2 to at most 128 ACU, and more needs 14.10 or later (Amazon Aurora User Guide, "How Aurora serverless works", Aurora serverless capacity); lower MaxCapacity to 128, or choose EngineVersion "14.10" or later`}},
		{dbspec.Postgres, "14.9", 0.5, 300, nil}, // out of range: the props' own check reports it
		{dbspec.MySQL, "3.06.0", 0.5, 256, nil},
		{dbspec.MySQL, "3.05.2", 0, 256, []string{
			`EngineVersion "3.05.2": auto-pause (minimum capacity 0 ACU) needs Aurora MySQL 3.08.0 or later`,
			`MaxCapacity 256: Aurora MySQL 3.05.2 scales Aurora Serverless v2 to at most 128 ACU, and more needs 3.06.0 or later`}},
		{dbspec.Postgres, "13.15", 0, 256, []string{`EngineVersion "13.15": Aurora PostgreSQL 13 left standard support on 2026-02-28`}},
		{"oracle", "19.0", 0, 256, nil}, // the engine is the props' to refuse
	}
	for _, tt := range tests {
		got := CheckServerless(tt.engine, tt.version, tt.minACU, tt.maxACU)
		if len(got) != len(tt.want) {
			t.Errorf("CheckServerless(%s, %q, %v, %v) = %v, want %d problems", tt.engine, tt.version, tt.minACU, tt.maxACU, got, len(tt.want))
			continue
		}
		for i, p := range got {
			if !strings.HasPrefix(p.String(), tt.want[i]) {
				t.Errorf("CheckServerless(%s, %q, %v, %v)[%d] = %q, want %q", tt.engine, tt.version, tt.minACU, tt.maxACU, i, p, tt.want[i])
			}
		}
	}
}

// TestCapacityMinimums checks the versions that run Aurora Serverless v2 at all, a rule
// the calendar's oldest minor versions now make moot (calendar.check refuses the older
// ones first).
func TestCapacityMinimums(t *testing.T) {
	tests := []struct {
		engine  dbspec.Engine
		version string
		want    bool
	}{
		{dbspec.Postgres, "14.3", true},
		{dbspec.Postgres, "14.2", false},
		{dbspec.Postgres, "15.1", false},
		{dbspec.Postgres, "15.2", true},
		{dbspec.Postgres, "17.4", true}, // newer than every listed major version
		{dbspec.Postgres, "12.9", false},
		{dbspec.MySQL, "3.02.0", true},
		{dbspec.MySQL, "3.01.1", false},
	}
	for _, tt := range tests {
		if _, got := supports(tt.version, capacityMinimums[tt.engine].serverless); got != tt.want {
			t.Errorf("supports(%q, Serverless v2 minimums of %s) = %v, want %v", tt.version, tt.engine, got, tt.want)
		}
	}
}

// TestCheckInstance checks the instance class rules, whether or not the version is
// taken, and that both problems are reported together.
func TestCheckInstance(t *testing.T) {
	tests := []struct {
		engine         dbspec.Engine
		version, class string
		want           []string
	}{
		{dbspec.Postgres, "", "t4g.micro", nil},
		{dbspec.MySQL, "", "t4g.micro", nil},
		{dbspec.Postgres, "", "t3.micro", nil},
		{dbspec.MySQL, "8.4.8", "t3.micro", nil},
		{dbspec.Postgres, "18.1", "db.r8g.48xlarge", nil},
		{dbspec.MySQL, "", "m8g.large", nil},
		{dbspec.Postgres, "", "x9.huge", []string{`InstanceClass "x9.huge": lambdards does not know the instance class family "x9", neither its memory, which max_connections derives from, nor the engine versions RDS runs it on; choose a class of one of m5, m6g, m6i, m7g, m7i, m8g, r5, r6g, r6i, r7g, r7i, r8g, t3 and t4g, e.g. "t4g.micro"`}},
		{dbspec.Postgres, "", "t4g.nano", []string{`InstanceClass "t4g.nano": RDS offers db.t4g in sizes micro, small, medium, large, xlarge and 2xlarge (Amazon RDS User Guide, "Hardware specifications for DB instance classes"); choose one of those`}},
		{dbspec.MySQL, "", "m6g.24xlarge", []string{`InstanceClass "m6g.24xlarge": RDS offers db.m6g in sizes large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge and 16xlarge`}},
		{dbspec.Postgres, "12.9", "x9.huge", []string{`EngineVersion "12.9": RDS PostgreSQL 12 left standard support`, `InstanceClass "x9.huge": lambdards does not know`}},
		{"oracle", "19.0", "x9.huge", nil}, // the engine is the props' to refuse
	}
	for _, tt := range tests {
		got := CheckInstance(tt.engine, tt.version, tt.class)
		if len(got) != len(tt.want) {
			t.Errorf("CheckInstance(%s, %q, %q) = %v, want %d problems", tt.engine, tt.version, tt.class, got, len(tt.want))
			continue
		}
		for i, p := range got {
			if !strings.HasPrefix(p.String(), tt.want[i]) {
				t.Errorf("CheckInstance(%s, %q, %q)[%d] = %q, want %q", tt.engine, tt.version, tt.class, i, p, tt.want[i])
			}
		}
	}
}

// TestCheckClassVersion checks the families RDS runs on later versions only, a rule the
// calendar's oldest minor versions now make moot (see classFamilies).
func TestCheckClassVersion(t *testing.T) {
	tests := []struct {
		engine    dbspec.Engine
		version   string
		versionOK bool
		class     string
		want      string
	}{
		{dbspec.Postgres, "14.9", true, "m7i.large", ""},
		{dbspec.Postgres, "14.8", true, "m7i.large", `RDS runs db.m7i on RDS PostgreSQL 14.9 or later only (Amazon RDS User Guide, "Supported DB engines for DB instance classes"); choose {EngineVersion} "14.9" or later, or a family RDS runs on every version, such as m6g or r6g`},
		{dbspec.Postgres, "14.8", false, "m7i.large", ""}, // a refused version is not judged twice
		{dbspec.Postgres, "14.5", true, "r7g.large", ""},
		{dbspec.Postgres, "14.4", true, "r7g.large", "RDS runs db.r7g on RDS PostgreSQL 14.5 or later only"},
		{dbspec.Postgres, "15.1", true, "r7g.large", ""},
		{dbspec.Postgres, "18.1", true, "r8g.large", ""}, // newer than every listed major version
		{dbspec.MySQL, "8.0.32", true, "m8g.large", ""},
		{dbspec.MySQL, "8.0.31", true, "r8g.large", "RDS runs db.r8g on RDS MySQL 8.0.32 or later only"},
		{dbspec.MySQL, "8.4.3", true, "r8g.large", ""},
		{dbspec.MySQL, "8.0.28", true, "r6g.large", ""},
	}
	for _, tt := range tests {
		got := checkClass(tt.engine, tt.version, tt.versionOK, tt.class)
		if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
			t.Errorf("checkClass(%s, %q, %v, %q) = %q, want %q", tt.engine, tt.version, tt.versionOK, tt.class, got, tt.want)
		}
	}
}

// TestFamiliesHaveMemory checks that the families RDS instances may use are exactly those
// whose classes package budget knows the memory of.
func TestFamiliesHaveMemory(t *testing.T) {
	var withMemory []string
	for _, c := range budget.KnownInstanceClasses() {
		if f, _, _ := strings.Cut(c, "."); !slices.Contains(withMemory, f) {
			withMemory = append(withMemory, f)
		}
	}
	slices.Sort(withMemory)
	if got := InstanceFamilies(); !slices.Equal(got, withMemory) {
		t.Errorf("InstanceFamilies() = %v, want the families package budget sizes, %v", got, withMemory)
	}
}

func TestProblemString(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{"EngineVersion", "12.9", "why"}, `EngineVersion "12.9": why`},
		{Problem{"MaxCapacity", 128.5, "why"}, `MaxCapacity 128.5: why`},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
