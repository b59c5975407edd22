package budget

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/dbspec"
)

func TestInstanceMaxConnections(t *testing.T) {
	tests := []struct {
		engine dbspec.Engine
		class  string
		want   int
	}{
		// PostgreSQL: LEAST(m / 9531392, 5000) with m = GiB*1024^3*90/100 - 256 MiB.
		{dbspec.Postgres, "t4g.micro", 73},      // 697932185 / 9531392 = 73.2
		{dbspec.Postgres, "db.t4g.micro", 73},   // "db." prefix accepted
		{dbspec.Postgres, " DB.T4G.MICRO ", 73}, // case and spaces ignored
		{dbspec.Postgres, "t3.small", 174},      // 2 GiB: 174.6
		{dbspec.Postgres, "t4g.medium", 377},    // 4 GiB: 377.4
		{dbspec.Postgres, "m6g.large", 782},     // 8 GiB: 782.9
		{dbspec.Postgres, "r6g.large", 1594},    // 16 GiB: 1594.2
		{dbspec.Postgres, "r6g.xlarge", 3216},   // 32 GiB: 3216.6
		{dbspec.Postgres, "r6g.2xlarge", 5000},  // 64 GiB: 6461 capped at 5000
		{dbspec.Postgres, "r6g.16xlarge", 5000}, // 512 GiB: capped at 5000
		// MySQL: m / 12582880, clamped to MySQL's 100000.
		{dbspec.MySQL, "t4g.micro", 55},        // 697932185 / 12582880 = 55.5
		{dbspec.MySQL, "t3.small", 132},        // 2 GiB: 132.2
		{dbspec.MySQL, "m6g.large", 593},       // 8 GiB: 593.1
		{dbspec.MySQL, "r6g.large", 1207},      // 16 GiB: 1207.5
		{dbspec.MySQL, "m7i.24xlarge", 29469},  // 384 GiB: 29469.9
		{dbspec.MySQL, "r5.24xlarge", 58961},   // 768 GiB: 58961.5
		{dbspec.MySQL, "r7i.48xlarge", 100000}, // 1536 GiB: 117944 clamped to 100000
		// Graviton4: 4 GiB per vCPU (m8g), 8 GiB per vCPU (r8g).
		{dbspec.Postgres, "m8g.large", 782},    // 8 GiB, as m6g.large
		{dbspec.MySQL, "r8g.large", 1207},      // 16 GiB, as r6g.large
		{dbspec.MySQL, "m8g.48xlarge", 58961},  // 768 GiB, as r5.24xlarge
		{dbspec.MySQL, "r8g.48xlarge", 100000}, // 1536 GiB, as r7i.48xlarge
	}
	for _, tt := range tests {
		got, err := InstanceMaxConnections(tt.engine, tt.class)
		if err != nil || got != tt.want {
			t.Errorf("InstanceMaxConnections(%q, %q) = %d, %v, want %d, nil", tt.engine, tt.class, got, err, tt.want)
		}
	}
}

// TestInstanceMaxConnectionsPublished checks the DBInstanceClassMemory model
// against every published default (sources at classMemoryPercent): the
// derived value must not exceed any of them, including for older classes
// whose nominal memory is not a whole number of GiB.
func TestInstanceMaxConnectionsPublished(t *testing.T) {
	tests := []struct {
		source    string
		engine    dbspec.Engine
		class     string
		mib       int // nominal memory in MiB
		published int
	}{
		{"Aurora PostgreSQL table", dbspec.Postgres, "t3.medium", 4096, 420},
		{"Aurora PostgreSQL table", dbspec.Postgres, "t4g.medium", 4096, 405},
		{"Aurora PostgreSQL table", dbspec.Postgres, "t3.large", 8192, 844},
		{"Aurora PostgreSQL table", dbspec.Postgres, "t4g.large", 8192, 844},
		{"Aurora PostgreSQL table", dbspec.Postgres, "r4.large", 15616, 1600},
		{"Aurora PostgreSQL table", dbspec.Postgres, "r5.large", 16384, 1600},
		{"Aurora PostgreSQL table", dbspec.Postgres, "r6g.large", 16384, 1722},
		{"Aurora PostgreSQL table", dbspec.Postgres, "r4.xlarge", 31232, 3200},
		{"Aurora PostgreSQL table", dbspec.Postgres, "r5.xlarge", 32768, 3300},
		{"Aurora PostgreSQL table", dbspec.Postgres, "r6g.xlarge", 32768, 3479},
		{"RDS PostgreSQL measured", dbspec.Postgres, "t2.small", 2048, 198},
		{"RDS PostgreSQL measured", dbspec.Postgres, "t2.medium", 4096, 413},
		{"RDS PostgreSQL measured", dbspec.Postgres, "t2.large", 8192, 856},
		{"RDS PostgreSQL measured", dbspec.Postgres, "m4.large", 8192, 856},
		{"RDS PostgreSQL measured", dbspec.Postgres, "r4.large", 15616, 1660},
		{"RDS MySQL measured", dbspec.MySQL, "t2.micro", 1024, 66},
		{"RDS MySQL measured", dbspec.MySQL, "t2.small", 2048, 150},
		{"RDS MySQL measured", dbspec.MySQL, "m3.medium", 3840, 296},
		{"RDS MySQL measured", dbspec.MySQL, "t2.medium", 4096, 312},
		{"RDS MySQL measured", dbspec.MySQL, "m3.large", 7680, 609},
		{"RDS MySQL measured", dbspec.MySQL, "t2.large", 8192, 648},
		{"RDS MySQL measured", dbspec.MySQL, "m4.large", 8192, 648},
		{"RDS MySQL measured", dbspec.MySQL, "m3.xlarge", 15360, 1237},
		{"RDS MySQL measured", dbspec.MySQL, "r3.large", 15616, 1258},
		{"RDS MySQL measured", dbspec.MySQL, "m4.xlarge", 16384, 1320},
		{"RDS MySQL measured", dbspec.MySQL, "m2.xlarge", 17510, 1412},
		{"RDS MySQL measured", dbspec.MySQL, "m3.2xlarge", 30720, 2492},
		{"RDS MySQL measured", dbspec.MySQL, "r3.xlarge", 31232, 2540},
	}
	for _, tt := range tests {
		memory := max((tt.mib<<20)/100*classMemoryPercent-classMemoryReserved, 0)
		if got := formula(tt.engine, memory); got > tt.published {
			t.Errorf("derived max_connections for %s %s (%d MiB) = %d, want at most the published %d (%s)",
				tt.engine, tt.class, tt.mib, got, tt.published, tt.source)
		}
		// Classes lambdards knows must derive the same figure through the
		// exported function.
		if gib, ok := instanceClassGiB[tt.class]; ok && gib<<10 == tt.mib {
			got, err := InstanceMaxConnections(tt.engine, tt.class)
			if err != nil || got > tt.published {
				t.Errorf("InstanceMaxConnections(%q, %q) = %d, %v, want at most %d", tt.engine, tt.class, got, err, tt.published)
			}
		}
	}
}

func TestInstanceMaxConnectionsUnknownClass(t *testing.T) {
	for _, class := range []string{"x9.huge", "r6g.24xlarge", "t3", ""} {
		_, err := InstanceMaxConnections(dbspec.Postgres, class)
		if err == nil {
			t.Errorf("InstanceMaxConnections(postgres, %q) = _, nil, want an error", class)
			continue
		}
		msg := err.Error()
		wantIn(t, "InstanceMaxConnections(postgres, "+class+")", msg,
			`"`+class+`"`, "set MaxConnections explicitly", strings.Join(KnownInstanceClasses(), ", "))
	}
}

func TestInstanceMaxConnectionsUnknownEngine(t *testing.T) {
	_, err := InstanceMaxConnections("oracle", "r6g.large")
	if err == nil || !strings.Contains(err.Error(), `"oracle"`) {
		t.Errorf(`InstanceMaxConnections("oracle", "r6g.large") = _, %v, want an error naming "oracle"`, err)
	}
}

func TestKnownInstanceClasses(t *testing.T) {
	got := KnownInstanceClasses()
	// The brief's minimum: burstable micro to 2xlarge, the m and r families
	// large to 16xlarge, and 24xlarge where AWS lists it.
	var want []string
	for _, f := range []string{"t3", "t4g"} {
		for _, s := range []string{"micro", "small", "medium", "large", "xlarge", "2xlarge"} {
			want = append(want, f+"."+s)
		}
	}
	for _, f := range []string{"m5", "m6g", "m6i", "m7g", "m7i", "m8g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g"} {
		for _, s := range []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"} {
			want = append(want, f+"."+s)
		}
	}
	want = append(want, "m5.24xlarge", "m6i.24xlarge", "m7i.24xlarge", "r5.24xlarge", "r6i.24xlarge", "r7i.24xlarge",
		"m8g.24xlarge", "m8g.48xlarge", "r8g.24xlarge", "r8g.48xlarge")
	for _, c := range want {
		if !slices.Contains(got, c) {
			t.Errorf("KnownInstanceClasses() lacks %q", c)
		}
	}
	for _, c := range []string{"m6g.24xlarge", "m7g.24xlarge", "r6g.24xlarge", "r7g.24xlarge"} {
		if slices.Contains(got, c) {
			t.Errorf("KnownInstanceClasses() has %q, which AWS does not list", c)
		}
	}

	// Sorted by family, then by memory.
	sorted := slices.IsSortedFunc(got, func(a, b string) int {
		fa, _, _ := strings.Cut(a, ".")
		fb, _, _ := strings.Cut(b, ".")
		if c := strings.Compare(fa, fb); c != 0 {
			return c
		}
		return instanceClassGiB[a] - instanceClassGiB[b]
	})
	if !sorted {
		t.Errorf("KnownInstanceClasses() = %v, want sorted by family, then memory", got)
	}
	if got[0] != "m5.large" || got[len(got)-1] != "t4g.2xlarge" {
		t.Errorf("KnownInstanceClasses() runs %q..%q, want m5.large..t4g.2xlarge", got[0], got[len(got)-1])
	}

	got[0] = "changed"
	if KnownInstanceClasses()[0] != "m5.large" {
		t.Errorf("KnownInstanceClasses() shares its slice with callers")
	}
}

func TestServerlessMaxConnections(t *testing.T) {
	tests := []struct {
		engine         dbspec.Engine
		minACU, maxACU float64
		want           int
	}{
		// The published rows, minimum 1 ACU.
		{dbspec.Postgres, 1, 1, 189},
		{dbspec.Postgres, 1, 4, 823},
		{dbspec.Postgres, 1, 8, 1669},
		{dbspec.Postgres, 1, 16, 3360},
		{dbspec.Postgres, 1, 32, 5000},
		{dbspec.Postgres, 1, 64, 5000},
		{dbspec.Postgres, 1, 128, 5000},
		{dbspec.MySQL, 1, 1, 90},
		{dbspec.MySQL, 1, 4, 135},
		{dbspec.MySQL, 1, 8, 1000},
		{dbspec.MySQL, 1, 16, 2000},
		{dbspec.MySQL, 1, 32, 3000},
		{dbspec.MySQL, 1, 64, 4000},
		{dbspec.MySQL, 1, 128, 5000},
		// Aurora PostgreSQL with minimum 0 or 0.5 is capped at 2000.
		{dbspec.Postgres, 0.5, 16, 2000},
		{dbspec.Postgres, 0, 16, 2000},
		{dbspec.Postgres, 0.5, 128, 2000},
		{dbspec.Postgres, 0, 256, 2000},
		{dbspec.Postgres, 0.5, 8, 1669}, // under the cap: the row
		{dbspec.Postgres, 0.5, 4, 823},
		{dbspec.Postgres, 0, 1, 189},
		{dbspec.Postgres, 0.5, 10, 2000}, // 1669 + (3360-1669)*2/8 = 2091.75, capped
		{dbspec.MySQL, 0.5, 16, 2000},    // the cap is PostgreSQL's only
		{dbspec.MySQL, 0, 128, 5000},
		{dbspec.Postgres, 1.5, 16, 3360}, // minimum above 0.5: no cap
		// Between rows: floor of the linear interpolation.
		{dbspec.Postgres, 1, 6, 1246},  // 823 + (1669-823)*2/4 = 1246
		{dbspec.Postgres, 1, 1.5, 294}, // 189 + (823-189)*0.5/3 = 294.67
		{dbspec.Postgres, 1, 12, 2514}, // 1669 + (3360-1669)*4/8 = 2514.5
		{dbspec.Postgres, 1, 24, 4180}, // 3360 + (5000-3360)*8/16 = 4180
		// Aurora MySQL between rows: the lower row (its table is not concave: interpolating
		// 4.5 ACU would give 243, above what a 4.5-ACU instance may allow).
		{dbspec.MySQL, 1, 6, 135},
		{dbspec.MySQL, 1, 4.5, 135},
		{dbspec.MySQL, 1, 7.5, 135},
		{dbspec.MySQL, 1, 96, 4000},
		// Above the last row: the last row.
		{dbspec.Postgres, 1, 200, 5000},
		{dbspec.MySQL, 1, 200, 5000},
		{dbspec.MySQL, 1, 256, 5000},
	}
	for _, tt := range tests {
		got, err := ServerlessMaxConnections(tt.engine, tt.minACU, tt.maxACU)
		if err != nil || got != tt.want {
			t.Errorf("ServerlessMaxConnections(%q, %v, %v) = %d, %v, want %d, nil",
				tt.engine, tt.minACU, tt.maxACU, got, err, tt.want)
		}
	}
}

// TestServerlessMaxConnectionsBounded checks every valid maximum: the value
// lies between the two rows around it, never above the upper one, and does not
// fall as the maximum grows.
func TestServerlessMaxConnectionsBounded(t *testing.T) {
	for _, e := range []dbspec.Engine{dbspec.Postgres, dbspec.MySQL} {
		prev := 0
		for halves := 2; halves <= 2*maxMaxACU; halves++ {
			acu := float64(halves) / 2
			got, err := ServerlessMaxConnections(e, 1, acu)
			if err != nil {
				t.Fatalf("ServerlessMaxConnections(%q, 1, %v) = _, %v, want no error", e, acu, err)
			}
			lo, hi := boundingRows(e, acu)
			if got < lo || got > hi {
				t.Errorf("ServerlessMaxConnections(%q, 1, %v) = %d, want within the rows around it [%d, %d]", e, acu, got, lo, hi)
			}
			if got < prev {
				t.Errorf("ServerlessMaxConnections(%q, 1, %v) = %d, want at least %d (the value at %v)", e, acu, got, prev, acu-0.5)
			}
			prev = got
		}
	}
}

// boundingRows returns the published values at the rows around acu.
func boundingRows(e dbspec.Engine, acu float64) (lo, hi int) {
	value := func(r serverlessRow) int {
		if e == dbspec.Postgres {
			return r.postgres
		}
		return r.mysql
	}
	lo = value(serverlessTable[0])
	hi = value(serverlessTable[len(serverlessTable)-1])
	for _, r := range serverlessTable {
		if float64(r.acu) <= acu {
			lo = value(r)
		}
		if float64(r.acu) >= acu {
			return lo, value(r)
		}
	}
	return lo, hi
}

func TestServerlessMaxConnectionsErrors(t *testing.T) {
	tests := []struct {
		engine         dbspec.Engine
		minACU, maxACU float64
		want           []string // each problem must contain these
	}{
		{dbspec.Postgres, 0.5, 0.5, []string{"MaxCapacity 0.5", "[1, 256]"}},
		{dbspec.Postgres, 0.5, 257, []string{"MaxCapacity 257", "[1, 256]"}},
		{dbspec.Postgres, 0.5, 4.25, []string{"MaxCapacity 4.25", "multiple of 0.5"}},
		{dbspec.Postgres, 0.5, math.NaN(), []string{"MaxCapacity NaN"}},
		{dbspec.Postgres, 0.5, math.Inf(1), []string{"MaxCapacity +Inf"}},
		{dbspec.Postgres, -0.5, 4, []string{"MinCapacity -0.5", "[0, 4]"}},
		{dbspec.Postgres, 8, 4, []string{"MinCapacity 8", "[0, 4]"}},
		{dbspec.MySQL, 0.25, 4, []string{"MinCapacity 0.25", "multiple of 0.5"}},
		{"oracle", 0.5, 4, []string{`Engine "oracle"`}},
	}
	for _, tt := range tests {
		_, err := ServerlessMaxConnections(tt.engine, tt.minACU, tt.maxACU)
		problems := problemsOf(t, err)
		if len(problems) != 1 {
			t.Errorf("ServerlessMaxConnections(%q, %v, %v) problems = %q, want 1", tt.engine, tt.minACU, tt.maxACU, problems)
			continue
		}
		wantIn(t, "ServerlessMaxConnections", problems[0], tt.want...)
	}

	// Both bounds wrong: both reported at once.
	_, err := ServerlessMaxConnections(dbspec.Postgres, -1, 300)
	if got := problemsOf(t, err); len(got) != 2 {
		t.Errorf("ServerlessMaxConnections(postgres, -1, 300) problems = %q, want 2", got)
	}
}

func TestReservedConnections(t *testing.T) {
	tests := []struct {
		engine dbspec.Engine
		aurora bool
		want   int
	}{
		{dbspec.Postgres, false, 5}, // 3 superuser_reserved + 2 rds_superuser_reserved
		{dbspec.Postgres, true, 8},  // the same 5 + 3 for AWS automation
		{dbspec.MySQL, false, 0},    // the CONNECTION_ADMIN slot is max_connections + 1
		{dbspec.MySQL, true, 0},
		{"oracle", false, 0},
	}
	for _, tt := range tests {
		if got := ReservedConnections(tt.engine, tt.aurora); got != tt.want {
			t.Errorf("ReservedConnections(%q, %t) = %d, want %d", tt.engine, tt.aurora, got, tt.want)
		}
	}
}

// problemsOf returns the problems of an *Error, failing the test if err is
// not one.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want an *Error", err, err)
	}
	if e.Error() != strings.Join(e.Problems, "\n") {
		t.Errorf("(*Error).Error() = %q, want the problems one per line", e.Error())
	}
	return e.Problems
}

// wantIn fails the test unless msg contains every part.
func wantIn(t *testing.T, call, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s error = %q, want it to contain %q", call, msg, p)
		}
	}
}

func TestCheckInstanceMaxConnections(t *testing.T) {
	tests := []struct {
		engine dbspec.Engine
		class  string
		n      int
		want   string // "" for no error
	}{
		{dbspec.Postgres, "t4g.micro", 112, ""}, // 1 GiB / 9531392 = 112
		{dbspec.Postgres, "t4g.micro", 113, "MaxConnections 113 exceeds 112, the most an RDS postgres instance of class t4g.micro (1 GiB)"},
		{dbspec.Postgres, "r6g.16xlarge", 57000, ""}, // above the formula's 5000 cap, within memory
		{dbspec.MySQL, "t4g.micro", 85, ""},
		{dbspec.MySQL, "db.t4g.micro", 86, "lower MaxConnections to at most 85 or choose an InstanceClass with more memory"},
		{dbspec.MySQL, "r7i.48xlarge", 100001, "exceeds 100000"},
		{dbspec.Postgres, "x9.huge", 10, `InstanceClass "x9.huge"`},
	}
	for _, tt := range tests {
		err := CheckInstanceMaxConnections(tt.engine, tt.class, tt.n)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckInstanceMaxConnections(%q, %q, %d) = %v, want nil", tt.engine, tt.class, tt.n, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckInstanceMaxConnections(%q, %q, %d) = nil, want an error containing %q", tt.engine, tt.class, tt.n, tt.want)
			continue
		}
		wantIn(t, "CheckInstanceMaxConnections", err.Error(), tt.want)
	}
}

func TestCheckServerlessMaxConnections(t *testing.T) {
	tests := []struct {
		engine         dbspec.Engine
		minACU, maxACU float64
		n              int
		want           []string // nil for no error
	}{
		{dbspec.Postgres, 0.5, 64, 2000, nil},
		{dbspec.Postgres, 0.5, 64, 2001, []string{"MaxConnections 2001 exceeds 2000", "minimum capacity of 0.5 ACU",
			"lower MaxConnections to at most 2000 or raise MinCapacity to 1 ACU"}},
		{dbspec.Postgres, 0, 64, 2500, []string{"minimum capacity of 0 ACU"}},
		{dbspec.Postgres, 1, 64, 2500, nil},
		{dbspec.MySQL, 1, 256, 16000, nil},
		{dbspec.MySQL, 1, 256, 16001, []string{"MaxConnections 16001 exceeds 16000, the most Aurora MySQL accepts"}},
		{dbspec.Postgres, 1, 1, 225, nil}, // 2 GiB / 9531392 = 225
		{dbspec.Postgres, 1, 1, 226, []string{"exceeds 225", "maximum capacity of 1 ACU (2 GiB)", "or raise MaxCapacity"}},
		{dbspec.MySQL, 1, 4, 682, nil}, // 8 GiB / 12582880 = 682
		{dbspec.MySQL, 1, 4, 683, []string{"exceeds 682"}},
		{dbspec.Postgres, 1, 0.5, 10, []string{"MaxCapacity 0.5"}},
	}
	for _, tt := range tests {
		err := CheckServerlessMaxConnections(tt.engine, tt.minACU, tt.maxACU, tt.n)
		if tt.want == nil {
			if err != nil {
				t.Errorf("CheckServerlessMaxConnections(%q, %v, %v, %d) = %v, want nil", tt.engine, tt.minACU, tt.maxACU, tt.n, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckServerlessMaxConnections(%q, %v, %v, %d) = nil, want an error", tt.engine, tt.minACU, tt.maxACU, tt.n)
			continue
		}
		wantIn(t, "CheckServerlessMaxConnections", err.Error(), tt.want...)
	}
}
