package database

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/dbspec"
)

// classFamilies are the DB instance class families lambdards builds RDS instances on: for
// each, the first version of each major version that RDS runs it on, by engine (none:
// every version RDS offers). Package budget holds each class's size and memory, which
// max_connections derives from; a family needs both to be usable.
//
// Source: Amazon RDS User Guide, "Supported DB engines for DB instance classes"
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Support.html),
// 2026 edition, MySQL and PostgreSQL columns:
//
//	db.t3, db.m5, db.r5, db.m6i:     every version of both engines
//	db.t4g, db.m6g, db.r6g:          MySQL 8.4 and 8.0; every PostgreSQL 13 to 17 version
//	db.r6i:                          MySQL 8.4 and 8.0; PostgreSQL 14 to 17, 13.4 and higher 13
//	db.m7g, db.r7g:                  MySQL 8.4 and 8.0; PostgreSQL 15 to 17, 14.5 and higher 14, 13.4 and higher 13
//	db.m7i, db.r7i, db.m8g, db.r8g:  MySQL 8.0.32 and higher; PostgreSQL 17.1, 16.1, 15.4, 14.9 and 13.11 and higher
//
// (minimums for major versions out of standard support, such as 12.7 for db.t4g, are left
// out: calendar.check refuses those versions first). The page names PostgreSQL 18 only for
// the db.m8gd family, which lambdards does not build; a major version newer than every one
// listed is taken to run on the family from its first release, as RDS has offered every
// family above on each new major version (supports). With today's oldest minor versions
// (calendars), no version in standard support falls below these minimums; the check stands
// for the day a family that needs a later version is added.
var classFamilies = map[string]struct{ postgres, mysql []string }{
	"m5":  {},
	"m6g": {},
	"m6i": {},
	"m7g": {postgres: graviton3Postgres},
	"m7i": {postgres: recentPostgres, mysql: recentMySQL},
	"m8g": {postgres: recentPostgres, mysql: recentMySQL},
	"r5":  {},
	"r6g": {},
	"r6i": {postgres: []string{"13.4"}},
	"r7g": {postgres: graviton3Postgres},
	"r7i": {postgres: recentPostgres, mysql: recentMySQL},
	"r8g": {postgres: recentPostgres, mysql: recentMySQL},
	"t3":  {},
	"t4g": {},
}

var (
	graviton3Postgres = []string{"13.4", "14.5"}
	recentPostgres    = []string{"13.11", "14.9", "15.4", "16.1", "17.1"}
	recentMySQL       = []string{"8.0.32"}
)

const classSource = `Amazon RDS User Guide, "Supported DB engines for DB instance classes"`

// checkClass reports what is wrong with an RDS instance class, or "": a family lambdards
// does not know, a size RDS does not offer, or a family RDS does not run the engine version
// on (judged only when versionOK).
func checkClass(e dbspec.Engine, version string, versionOK bool, class string) string {
	name := strings.TrimPrefix(class, "db.")
	family, _, _ := strings.Cut(name, ".")
	support, ok := classFamilies[family]
	if !ok {
		return fmt.Sprintf("lambdards does not know the instance class family %q, neither its memory, which max_connections derives from, nor the engine "+
			"versions RDS runs it on; choose a class of one of %s, e.g. %q", family, list(InstanceFamilies()), "t4g.micro")
	}
	var sizes []string
	for _, c := range budget.KnownInstanceClasses() {
		if f, size, _ := strings.Cut(c, "."); f == family {
			sizes = append(sizes, size)
		}
	}
	if _, size, _ := strings.Cut(name, "."); !slices.Contains(sizes, size) {
		return fmt.Sprintf("RDS offers db.%s in sizes %s (Amazon RDS User Guide, \"Hardware specifications for DB instance classes\"); choose one of those",
			family, list(sizes))
	}
	minimums := support.postgres
	if e == dbspec.MySQL {
		minimums = support.mysql
	}
	if min, ok := supports(version, minimums); versionOK && !ok {
		return fmt.Sprintf("RDS runs db.%s on %s %s or later only (%s); choose {EngineVersion} %q or later, or a family RDS runs on every version, such as m6g or r6g",
			family, calendars[false][e].name, min, classSource, min)
	}
	return ""
}

// InstanceFamilies lists the instance class families an RDS instance can use, in name
// order, for documentation and messages.
func InstanceFamilies() []string {
	var out []string
	for f := range classFamilies {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
