package budget

import (
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
)

// Constants of the RDS default max_connections formulas.
//
// Source: Amazon RDS User Guide, "Quotas and constraints for Amazon RDS",
// section "Maximum number of database connections"
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections),
// and AWS Knowledge Center, "How do I increase the max connections of my Amazon
// RDS for MySQL or Amazon RDS for PostgreSQL instance?" (rds-mysql-max-connections):
//
//	RDS PostgreSQL: LEAST({DBInstanceClassMemory/9531392}, 5000)
//	RDS MySQL:      {DBInstanceClassMemory/12582880}
const (
	postgresBytesPerConnection = 9531392
	postgresFormulaCap         = 5000
	mysqlBytesPerConnection    = 12582880
)

// Hard upper limits of max_connections, used to clamp the MySQL formula and to
// validate Config.MaxConnections.
const (
	// postgresMaxConnectionsLimit is PostgreSQL's largest accepted
	// max_connections. Source: Amazon Aurora User Guide, "Managing Amazon
	// Aurora PostgreSQL", section "Maximum connections to an Aurora PostgreSQL
	// DB instance" ("up to 262,143"), which is PostgreSQL's MAX_BACKENDS.
	postgresMaxConnectionsLimit = 262143
	// mysqlMaxConnectionsLimit is MySQL's largest accepted max_connections.
	// Source: MySQL 8.0 Reference Manual, "Server System Variables",
	// max_connections (range 1 to 100000).
	mysqlMaxConnectionsLimit = 100000
)

func maxConnectionsLimit(e dbspec.Engine) int {
	if e == dbspec.MySQL {
		return mysqlMaxConnectionsLimit
	}
	return postgresMaxConnectionsLimit
}

// Nominal memory of the DB instance classes, in GiB.
//
// Source: Amazon RDS User Guide, "Hardware specifications for DB instance
// classes" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html),
// Memory (GiB) column. Within a family the memory doubles with the size up to
// 16xlarge; the general-purpose (m) families have 4 GiB per vCPU, the
// memory-optimized (r) families 8 GiB per vCPU. That holds for the Graviton4
// families too: db.m8g.large 8 GiB to db.m8g.48xlarge 768, db.r8g.large 16 GiB
// to db.r8g.48xlarge 1,536 (one copy of the page lists db.m8g.16xlarge at 384
// GiB and 24xlarge at 512, out of line with its 64 and 96 vCPUs and with
// db.m8gd's 256 and 384; lambdards takes the lower, 4 GiB per vCPU, which can
// only understate the memory).
var (
	burstableGiB = map[string]int{
		"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
	}
	generalGiB = map[string]int{
		"large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 128,
		"12xlarge": 192, "16xlarge": 256, "24xlarge": 384, "32xlarge": 512, "48xlarge": 768,
	}
	memoryGiB = map[string]int{
		"large": 16, "xlarge": 32, "2xlarge": 64, "4xlarge": 128, "8xlarge": 256,
		"12xlarge": 384, "16xlarge": 512, "24xlarge": 768, "32xlarge": 1024, "48xlarge": 1536,
	}
)

var (
	burstableSizes = []string{"micro", "small", "medium", "large", "xlarge", "2xlarge"}
	to16xlarge     = []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"}
	to24xlarge     = with(to16xlarge, "24xlarge")
)

// with returns a copy of sizes with more sizes appended.
func with(sizes []string, more ...string) []string {
	return append(slices.Clone(sizes), more...)
}

// instanceFamilies lists each family with the sizes the hardware
// specification page lists for it (see the source above): the Graviton2 and
// Graviton3 families (m6g, m7g, r6g, r7g) stop at 16xlarge; m5 and r5 reach
// 24xlarge; m6i and r6i add 32xlarge; m7i and r7i add 48xlarge; the Graviton4
// families (m8g, r8g) add 24xlarge and 48xlarge. Which engine versions RDS runs
// each family on is package database's concern (classFamilies there).
var instanceFamilies = []struct {
	family string
	gib    map[string]int
	sizes  []string
}{
	{"m5", generalGiB, to24xlarge},
	{"m6g", generalGiB, to16xlarge},
	{"m6i", generalGiB, with(to24xlarge, "32xlarge")},
	{"m7g", generalGiB, to16xlarge},
	{"m7i", generalGiB, with(to24xlarge, "48xlarge")},
	{"m8g", generalGiB, with(to24xlarge, "48xlarge")},
	{"r5", memoryGiB, to24xlarge},
	{"r6g", memoryGiB, to16xlarge},
	{"r6i", memoryGiB, with(to24xlarge, "32xlarge")},
	{"r7g", memoryGiB, to16xlarge},
	{"r7i", memoryGiB, with(to24xlarge, "48xlarge")},
	{"r8g", memoryGiB, with(to24xlarge, "48xlarge")},
	{"t3", burstableGiB, burstableSizes},
	{"t4g", burstableGiB, burstableSizes},
}

// instanceClassGiB maps "family.size" to nominal memory in GiB, and
// knownClasses holds the same names in family order, smallest first.
var instanceClassGiB, knownClasses = buildInstanceClasses()

func buildInstanceClasses() (map[string]int, []string) {
	gib := map[string]int{}
	var names []string
	for _, f := range instanceFamilies {
		for _, size := range f.sizes {
			name := f.family + "." + size
			gib[name] = f.gib[size]
			names = append(names, name)
		}
	}
	// Family name order, then memory: t3.micro before t3.2xlarge, which plain
	// string order would not give.
	sort.SliceStable(names, func(i, j int) bool {
		fi, _, _ := strings.Cut(names[i], ".")
		fj, _, _ := strings.Cut(names[j], ".")
		if fi != fj {
			return fi < fj
		}
		return gib[names[i]] < gib[names[j]]
	})
	return gib, names
}

// KnownInstanceClasses returns the instance classes InstanceMaxConnections
// knows, without the "db." prefix, sorted by family name and then by memory.
func KnownInstanceClasses() []string {
	return append([]string(nil), knownClasses...)
}

// Estimate of DBInstanceClassMemory. RDS evaluates the max_connections formula
// on DBInstanceClassMemory, the class's memory minus what the operating system
// and the RDS processes keep, and AWS publishes no formula for it. lambdards
// estimates it as 90 % of the nominal memory minus 256 MiB, a model fitted to
// lie at or below every published default (checked in
// TestInstanceMaxConnectionsPublished), so the derived max_connections never
// exceeds what the instance would get by default:
//
//   - Amazon Aurora User Guide, "Managing Amazon Aurora PostgreSQL", section
//     "Maximum connections to an Aurora PostgreSQL DB instance"
//     (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Managing.html#AuroraPostgreSQL.Managing.MaxConnections;
//     awsdocs/amazon-aurora-user-guide, doc_source/AuroraPostgreSQL.Managing.md),
//     the same LEAST({DBInstanceClassMemory/9531392}, 5000): t3.medium 420,
//     t4g.medium 405, t3.large and t4g.large 844, r4.large and r5.large 1600,
//     r6g.large 1722, r4.xlarge 3200, r5.xlarge 3300, r6g.xlarge 3479. The
//     tightest fit is r5.large (16 GiB): 1594 derived against 1600 published.
//   - RDS PostgreSQL, measured with "show max_connections" (GitHub gist
//     guizmaii/1cacffef793c2ba9645083c3e18b3d8c): t2.small 198, t2.medium 413,
//     t2.large and m4.large 856, r4.large 1660.
//   - RDS MySQL, measured (tritoneco.com, "max_connections at AWS RDS MySQL
//     instance sizes", 2015, repeated on Server Fault question 862387):
//     t2.micro 66, t2.small 150, m3.medium 296, t2.medium 312, m3.large 609,
//     t2.large and m4.large 648, m3.xlarge 1237, r3.large 1258, m4.xlarge 1320,
//     m2.xlarge 1412, m3.2xlarge 2492, r3.xlarge 2540.
//
// The published figures run at 78-97 % of the formula on nominal memory, lower
// on small classes (t2.micro MySQL 66 of 85), which is why the model has a
// fixed part as well as a proportional one. The estimate errs safe: a budget
// built on fewer connections than the instance really allows wastes a few
// connections, while one built on more would let Lambda open connections the
// database refuses (or, written into the parameter group, give the instance
// more connections than AWS sizes its memory for).
const (
	classMemoryPercent  = 90
	classMemoryReserved = 256 << 20 // bytes
)

// classMemory returns the DBInstanceClassMemory estimate, in bytes, of a class
// with gib GiB of nominal memory.
func classMemory(gib int) int {
	return max((gib<<30)/100*classMemoryPercent-classMemoryReserved, 0)
}

// InstanceMaxConnections returns the max_connections lambdards derives for an
// RDS (non-Aurora) instance of an engine and an instance class written as CDK
// writes it ("t4g.micro", "r6g.large"; a leading "db." is accepted too).
//
// The value is the RDS default formula, with integer division, evaluated on an
// estimate of DBInstanceClassMemory that lies at or below every published
// default (see classMemoryPercent for the model and its sources): for
// PostgreSQL LEAST(memory/9531392, 5000), for MySQL memory/12582880, clamped
// to MySQL's own limit of 100000. It is never above what the instance would
// get by default, and the database construct writes it into the parameter
// group, so the deployed value and the budget agree exactly.
//
// An unknown class is an error that lists the known classes and says to set
// maxConnections explicitly.
func InstanceMaxConnections(e dbspec.Engine, class string) (int, error) {
	gib, err := classGiB(e, class)
	if err != nil {
		return 0, err
	}
	return formula(e, classMemory(gib)), nil
}

// formula evaluates the RDS default max_connections formula on memory bytes.
func formula(e dbspec.Engine, memory int) int {
	if e == dbspec.Postgres {
		return min(memory/postgresBytesPerConnection, postgresFormulaCap)
	}
	return min(memory/mysqlBytesPerConnection, mysqlMaxConnectionsLimit)
}

// classGiB returns the nominal memory of a class, or an error for an unknown
// engine or class.
func classGiB(e dbspec.Engine, class string) (int, error) {
	if !e.Valid() {
		return 0, fields.Errorf("{Engine} %q is not supported: use %q or %q", e, dbspec.Postgres, dbspec.MySQL)
	}
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(class)), "db.")
	gib, ok := instanceClassGiB[name]
	if !ok {
		return 0, fields.Errorf("{InstanceClass} %q has no known memory size, so its default max_connections is unknown: "+
			"set {MaxConnections} explicitly, or use one of the known classes: %s",
			class, strings.Join(knownClasses, ", "))
	}
	return gib, nil
}

// Aurora Serverless v2 capacity limits, in ACU.
//
// Source: Amazon RDS API Reference, "ServerlessV2ScalingConfiguration": ACU
// values in half-step increments; MaxCapacity up to 256 on recent Aurora
// versions (128 on older ones); MinCapacity down to 0 where auto-pause is
// supported, else 0.5. AWS CloudFormation, "AWS::RDS::DBCluster
// ServerlessV2ScalingConfiguration": the maximum must be higher than 0.5 ACU,
// so the smallest maximum is 1.
const (
	acuStep   = 0.5
	minMaxACU = 1
	maxMaxACU = 256
)

// serverlessRow is one row of the published Aurora Serverless v2
// max_connections table.
type serverlessRow struct {
	acu, postgres, mysql int
}

// serverlessTable is the default max_connections of an Aurora Serverless v2
// instance by maximum ACU. Source: Amazon Aurora User Guide, "Performance and
// scaling for Aurora Serverless v2", section "Maximum connections for Aurora
// Serverless v2"
// (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html#aurora-serverless-v2.max-connections).
var serverlessTable = []serverlessRow{
	{1, 189, 90},
	{4, 823, 135},
	{8, 1669, 1000},
	{16, 3360, 2000},
	{32, 5000, 3000},
	{64, 5000, 4000},
	{128, 5000, 5000},
}

// serverlessPostgresLowMinCap is the max_connections cap of Aurora PostgreSQL
// Serverless v2 when the minimum capacity is 0 or 0.5 ACU. Source: the same
// "Maximum connections for Aurora Serverless v2" section, and AWS re:Post,
// "Working of max_connections for Amazon Aurora PostgreSQL Serverless".
const serverlessPostgresLowMinCap = 2000

// ServerlessMaxConnections returns the default max_connections of an Aurora
// Serverless v2 instance with the capacity range minACU-maxACU.
//
// Aurora derives max_connections from the maximum ACU. At a maximum ACU in the
// published table the result is that row. Between two rows, for Aurora
// PostgreSQL it is the linear interpolation between them, rounded down: its
// formula, LEAST(DBInstanceClassMemory/9531392, 5000), is concave in memory, so
// the interpolation stays at or below the real value and never above the upper
// row. Aurora MySQL's table is not from a concave formula (it jumps from 135 at
// 4 ACU to 1,000 at 8), so between rows it is the lower row. Above the last row
// (128 ACU) it is the last row. Aurora PostgreSQL with a minimum of 0 or 0.5 ACU
// is capped at 2000.
//
// maxACU must be in [1, 256] and minACU in [0, maxACU], both multiples of 0.5;
// otherwise the error (an *Error) names each bad value and the valid range.
func ServerlessMaxConnections(e dbspec.Engine, minACU, maxACU float64) (int, error) {
	var errs Error
	if !e.Valid() {
		errs.add("{Engine} %q is not supported: use %q or %q", e, dbspec.Postgres, dbspec.MySQL)
	}
	maxOK := maxACU >= minMaxACU && maxACU <= maxMaxACU && halfStep(maxACU)
	if !maxOK {
		errs.add("{MaxCapacity} %v is out of range: it must be a multiple of %v in [%v, %v]", maxACU, acuStep, minMaxACU, maxMaxACU)
	}
	upper := float64(maxMaxACU)
	if maxOK {
		upper = maxACU
	}
	if !(minACU >= 0 && minACU <= upper && halfStep(minACU)) {
		errs.add("{MinCapacity} %v is out of range: it must be a multiple of %v in [0, %v] (0 to {MaxCapacity})", minACU, acuStep, upper)
	}
	if err := errs.err(); err != nil {
		return 0, err
	}

	halves := int(maxACU * 2) // exact: maxACU is a multiple of 0.5
	n := serverlessInterpolate(e, halves)
	if e == dbspec.Postgres && minACU <= acuStep {
		n = min(n, serverlessPostgresLowMinCap)
	}
	return n, nil
}

// serverlessInterpolate reads the table at a maximum capacity given in half
// ACUs, in integer arithmetic.
func serverlessInterpolate(e dbspec.Engine, halves int) int {
	value := func(r serverlessRow) int {
		if e == dbspec.Postgres {
			return r.postgres
		}
		return r.mysql
	}
	last := serverlessTable[len(serverlessTable)-1]
	if halves >= 2*last.acu {
		return value(last)
	}
	for i := 1; i < len(serverlessTable); i++ {
		lo, hi := serverlessTable[i-1], serverlessTable[i]
		if halves > 2*hi.acu {
			continue
		}
		if e == dbspec.MySQL && halves < 2*hi.acu {
			return value(lo)
		}
		// floor(lo + (hi-lo) * (acu-lo.acu) / (hi.acu-lo.acu)), in half ACUs.
		return value(lo) + (value(hi)-value(lo))*(halves-2*lo.acu)/(2*(hi.acu-lo.acu))
	}
	return value(serverlessTable[0]) // halves < 2: unreachable after validation
}

func halfStep(acu float64) bool {
	x := acu / acuStep
	return !math.IsInf(x, 0) && x == math.Trunc(x)
}

// Connection slots that ordinary users can never use.
const (
	// postgresSuperuserReserved and rdsSuperuserReserved are the defaults of
	// superuser_reserved_connections and rds.rds_superuser_reserved_connections.
	// Source: AWS Knowledge Center, "Why am I getting the error 'FATAL:
	// remaining connection slots are reserved for non replicate superuser
	// connections'...?" (rds-postgresql-error-connection-slots): connections
	// available to non-superusers = max_connections - 3 - 2.
	postgresSuperuserReserved = 3
	rdsSuperuserReserved      = 2
	// auroraAutomationReserved is what Aurora PostgreSQL needs for AWS
	// automation. Source: Amazon Aurora User Guide, "Managing Amazon Aurora
	// PostgreSQL", section "Maximum connections to an Aurora PostgreSQL DB
	// instance": "plus at least 3 more connections to support AWS automation".
	auroraAutomationReserved = 3
)

// ReservedConnections returns the connections inside max_connections that the
// engine keeps for superusers and AWS automation, which ordinary users, and so
// Lambda functions, can never use:
//
//   - RDS PostgreSQL: 5, the 3 of superuser_reserved_connections plus the 2 of
//     rds.rds_superuser_reserved_connections.
//   - Aurora PostgreSQL: 8, the same 5 plus the 3 AWS asks to keep for its
//     automation.
//   - MySQL and Aurora MySQL: 0. MySQL reserves no slot inside
//     max_connections: it accepts max_connections + 1 connections and keeps
//     the extra one for CONNECTION_ADMIN (or SUPER) holders (MySQL Reference
//     Manual, "Too many connections"), and on RDS that extra slot belongs to
//     the rdsadmin account, not to application users. rdsadmin's ordinary
//     monitoring sessions do count against max_connections, but AWS publishes
//     no number for them; the headroom (see DefaultHeadroom) covers them.
//
// An unknown engine has no reserved connections.
func ReservedConnections(e dbspec.Engine, aurora bool) int {
	if e != dbspec.Postgres {
		return 0
	}
	n := postgresSuperuserReserved + rdsSuperuserReserved
	if aurora {
		n += auroraAutomationReserved
	}
	return n
}

// auroraMySQLMaxConnectionsLimit is the largest max_connections Aurora MySQL
// accepts in a parameter group. Source: Amazon Aurora User Guide, "Managing
// performance and scaling for Amazon Aurora MySQL", section "Maximum
// connections to an Aurora MySQL DB instance" ("up to 16,000").
const auroraMySQLMaxConnectionsLimit = 16000

// acuBytes is the memory of one ACU. Source: Amazon Aurora User Guide, "How
// Aurora Serverless v2 works" ("each ACU is a combination of approximately 2
// gibibytes (GiB) of memory").
const acuBytes = 2 << 30

// memoryBound is the most connections that nominal memory holds at AWS's own
// per-connection allowance, the divisor of the default formula, without the
// formula's cap. Beyond it every connection would get less memory than AWS's
// formula sizes for, even if connections took all of the nominal memory (which
// is more than DBInstanceClassMemory): such a value is a typo or a
// misunderstanding, not a tuning choice.
func memoryBound(e dbspec.Engine, bytes int) int {
	if e == dbspec.Postgres {
		return bytes / postgresBytesPerConnection
	}
	return bytes / mysqlBytesPerConnection
}

// CheckInstanceMaxConnections reports an explicit max_connections n that an
// RDS instance of the engine and class cannot sensibly take: above the
// engine's limit, or above the class's nominal memory divided by AWS's
// per-connection allowance (see memoryBound). It returns nil when n is fine,
// and the class error of InstanceMaxConnections for an unknown class.
//
// A problem reads
//
//	maxConnections N exceeds LIMIT, the most WHY: lower maxConnections to at most LIMIT or FIX
func CheckInstanceMaxConnections(e dbspec.Engine, class string, n int) error {
	gib, err := classGiB(e, class)
	if err != nil {
		return err
	}
	var errs Error
	name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(class)), "db.")
	limit := min(memoryBound(e, gib<<30), maxConnectionsLimit(e))
	if n > limit {
		errs.add("{MaxConnections} %d exceeds %d, the most an RDS %s instance of class %s (%d GiB) can take at the %d bytes "+
			"per connection of AWS's default formula: lower {MaxConnections} to at most %d or choose an {InstanceClass} "+
			"with more memory", n, limit, e, name, gib, bytesPerConnection(e), limit)
	}
	return errs.err()
}

// CheckServerlessMaxConnections reports an explicit max_connections n that an
// Aurora Serverless v2 instance with the capacity range minACU-maxACU cannot
// take: Aurora PostgreSQL with a minimum of 0 or 0.5 ACU caps max_connections
// at 2000 (see serverlessPostgresLowMinCap); Aurora MySQL accepts at most
// 16000; and neither can sensibly take more than the maximum capacity's memory
// (2 GiB per ACU) divided by AWS's per-connection allowance (see memoryBound).
// Invalid capacities are reported as ServerlessMaxConnections reports them.
//
// Each problem reads
//
//	maxConnections N exceeds LIMIT, the most WHY: lower maxConnections to at most LIMIT or FIX
func CheckServerlessMaxConnections(e dbspec.Engine, minACU, maxACU float64, n int) error {
	if _, err := ServerlessMaxConnections(e, minACU, maxACU); err != nil {
		return err
	}
	var errs Error
	if e == dbspec.Postgres && minACU <= acuStep && n > serverlessPostgresLowMinCap {
		errs.add("{MaxConnections} %d exceeds %d, the most Aurora PostgreSQL Serverless v2 takes with a minimum capacity of "+
			"%v ACU: lower {MaxConnections} to at most %d or raise {MinCapacity} to 1 ACU",
			n, serverlessPostgresLowMinCap, minACU, serverlessPostgresLowMinCap)
	}
	if e == dbspec.MySQL && n > auroraMySQLMaxConnectionsLimit {
		errs.add("{MaxConnections} %d exceeds %d, the most Aurora MySQL accepts: lower {MaxConnections} to at most %d",
			n, auroraMySQLMaxConnectionsLimit, auroraMySQLMaxConnectionsLimit)
	}
	limit := min(memoryBound(e, int(maxACU*2)*acuBytes/2), maxConnectionsLimit(e))
	if n > limit {
		errs.add("{MaxConnections} %d exceeds %d, the most Aurora %s Serverless v2 at a maximum capacity of %v ACU (%v GiB) "+
			"can take at the %d bytes per connection of AWS's default formula: lower {MaxConnections} to at most %d or "+
			"raise {MaxCapacity}", n, limit, e, maxACU, maxACU*2, bytesPerConnection(e), limit)
	}
	return errs.err()
}

func bytesPerConnection(e dbspec.Engine) int {
	if e == dbspec.Postgres {
		return postgresBytesPerConnection
	}
	return mysqlBytesPerConnection
}
