// Package placeholder finds the parameter placeholders in an SQL statement
// and replaces them: PostgreSQL's $1, MySQL's ?, and the RDS Data API's
// :name. It skips what is not SQL code: string literals, quoted
// identifiers, comments and, on PostgreSQL, dollar-quoted bodies.
//
// Package dbconn rewrites a handler's $1 or ? into the Data API's :name
// with it; the local Data API stand-in (internal/dataapi) rewrites :name
// back with it, so both sides read SQL the same way. It does not parse SQL:
// it knows only enough lexical rules to tell code from literals.
package placeholder

import "strings"

// Dialect is whose lexical rules apply.
type Dialect int

// Dialects.
const (
	// Postgres: '...' (with E'...' backslash escapes), "identifiers",
	// -- and nested /* */ comments, $tag$...$tag$ bodies; positional
	// placeholders are $1, $2, ...
	Postgres Dialect = iota
	// MySQL: '...' and "..." with backslash escapes, `identifiers`,
	// "-- ", # and /* */ comments; positional placeholders are ?.
	MySQL
)

// Kind is the kind of placeholder to replace.
type Kind int

// Kinds.
const (
	// Positional is $n on PostgreSQL and ? on MySQL.
	Positional Kind = iota
	// Named is the Data API's :name (a letter or underscore, then
	// letters, digits or underscores). PostgreSQL's :: cast and MySQL's
	// := are not placeholders.
	Named
)

// Placeholder is one placeholder found.
type Placeholder struct {
	// Index is, for Positional, n in $n on PostgreSQL and the ordinal
	// (from 1) of the ? on MySQL.
	Index int
	// Name is, for Named, the name without its colon.
	Name string
}

// Replace returns sql with each placeholder of kind k replaced by what
// repl returns for it, and everything else unchanged. An unterminated
// literal or comment runs to the end of sql, as the server would read it.
func Replace(d Dialect, k Kind, sql string, repl func(Placeholder) string) string {
	var out strings.Builder
	out.Grow(len(sql))
	ordinal := 0
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || (d == MySQL && c == '`'):
			n := quoted(d, sql, i)
			out.WriteString(sql[i:n])
			i = n
		case startsComment(d, sql, i):
			n := comment(d, sql, i)
			out.WriteString(sql[i:n])
			i = n
		case d == Postgres && c == '$' && i+1 < len(sql) && isDigit(sql[i+1]):
			n := i + 1
			for n < len(sql) && isDigit(sql[n]) {
				n++
			}
			if k == Positional {
				out.WriteString(repl(Placeholder{Index: atoi(sql[i+1 : n])}))
			} else {
				out.WriteString(sql[i:n])
			}
			i = n
		case d == Postgres && c == '$':
			n := dollarQuoted(sql, i)
			out.WriteString(sql[i:n])
			i = n
		case d == MySQL && c == '?':
			ordinal++
			if k == Positional {
				out.WriteString(repl(Placeholder{Index: ordinal}))
			} else {
				out.WriteByte(c)
			}
			i++
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':':
			out.WriteString("::") // a PostgreSQL cast
			i += 2
		case c == ':' && i+1 < len(sql) && isIdentStart(sql[i+1]):
			n := i + 2
			for n < len(sql) && isNamePart(sql[n]) {
				n++
			}
			if k == Named {
				out.WriteString(repl(Placeholder{Name: sql[i+1 : n]}))
			} else {
				out.WriteString(sql[i:n])
			}
			i = n
		case isIdentStart(c):
			// A word, copied whole: both engines allow $ inside
			// identifiers (a$1 is a name, not a placeholder), and a
			// letter before a quote may be PostgreSQL's E'...'.
			n := i + 1
			for n < len(sql) && (isNamePart(sql[n]) || sql[n] == '$') {
				n++
			}
			if d == Postgres && n == i+1 && (c == 'E' || c == 'e') && n < len(sql) && sql[n] == '\'' {
				n = escapeString(sql, n)
			}
			out.WriteString(sql[i:n])
			i = n
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String()
}

// quoted returns the end of the literal or quoted identifier opened at
// i. A doubled quote stands for itself; MySQL strings also take backslash
// escapes (its default sql_mode; NO_BACKSLASH_ESCAPES is not followed).
func quoted(d Dialect, sql string, i int) int {
	q := sql[i]
	backslash := d == MySQL && q != '`'
	for n := i + 1; n < len(sql); n++ {
		switch {
		case backslash && sql[n] == '\\':
			n++
		case sql[n] == q && n+1 < len(sql) && sql[n+1] == q:
			n++
		case sql[n] == q:
			return n + 1
		}
	}
	return len(sql)
}

// escapeString returns the end of PostgreSQL's E'...' whose quote is at i:
// backslash escapes as well as doubled quotes.
func escapeString(sql string, i int) int {
	for n := i + 1; n < len(sql); n++ {
		switch {
		case sql[n] == '\\':
			n++
		case sql[n] == '\'' && n+1 < len(sql) && sql[n+1] == '\'':
			n++
		case sql[n] == '\'':
			return n + 1
		}
	}
	return len(sql)
}

// startsComment reports whether a comment begins at i.
func startsComment(d Dialect, sql string, i int) bool {
	rest := sql[i:]
	switch {
	case strings.HasPrefix(rest, "/*"):
		return true
	case d == MySQL && rest[0] == '#':
		return true
	case d == MySQL && strings.HasPrefix(rest, "--"):
		// MySQL needs a space or control character after "--".
		return len(rest) == 2 || rest[2] <= ' '
	}
	return strings.HasPrefix(rest, "--")
}

// comment returns the end of the comment that begins at i. PostgreSQL's
// block comments nest; MySQL's do not.
func comment(d Dialect, sql string, i int) int {
	if sql[i] != '/' {
		if n := strings.IndexByte(sql[i:], '\n'); n >= 0 {
			return i + n + 1
		}
		return len(sql)
	}
	depth := 0
	for n := i; n+1 < len(sql); n++ {
		switch {
		case sql[n] == '/' && sql[n+1] == '*' && (d == Postgres || depth == 0):
			depth++
			n++
		case sql[n] == '*' && sql[n+1] == '/':
			depth--
			n++
			if depth == 0 {
				return n + 1
			}
		}
	}
	return len(sql)
}

// dollarQuoted returns the end of the dollar-quoted body opened at i
// ($$...$$ or $tag$...$tag$), or i+1 when the $ opens none.
func dollarQuoted(sql string, i int) int {
	n := i + 1
	for n < len(sql) && isNamePart(sql[n]) {
		n++
	}
	if n >= len(sql) || sql[n] != '$' {
		return i + 1
	}
	tag := sql[i : n+1]
	if end := strings.Index(sql[n+1:], tag); end >= 0 {
		return n + 1 + end + len(tag)
	}
	return len(sql)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentStart reports whether c may begin a name: a letter, an
// underscore, or a byte of a non-ASCII character.
func isIdentStart(c byte) bool {
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || c >= 0x80
}

func isNamePart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// atoi reads a run of digits; a number too large for an int saturates, so
// it names no argument.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if n > 1<<30 {
			return 1 << 31
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
