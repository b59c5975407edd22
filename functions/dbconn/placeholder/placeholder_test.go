package placeholder

import (
	"strconv"
	"testing"
)

// mark shows each placeholder found as <index> or <name>.
func mark(p Placeholder) string {
	if p.Name != "" {
		return "<" + p.Name + ">"
	}
	return "<" + strconv.Itoa(p.Index) + ">"
}

func TestReplace(t *testing.T) {
	tests := []struct {
		d    Dialect
		k    Kind
		in   string
		want string
	}{
		// PostgreSQL positional.
		{Postgres, Positional, `SELECT $1, $2`, `SELECT <1>, <2>`},
		{Postgres, Positional, `WHERE a = $1 OR b = $1 LIMIT $10`, `WHERE a = <1> OR b = <1> LIMIT <10>`},
		{Postgres, Positional, `SELECT $1::int, x::text`, `SELECT <1>::int, x::text`},
		{Postgres, Positional, `SELECT '$1', "$1", a$1 FROM t`, `SELECT '$1', "$1", a$1 FROM t`},
		{Postgres, Positional, `SELECT 'it''s $1', $2`, `SELECT 'it''s $1', <2>`},
		{Postgres, Positional, `SELECT E'\' $1', $2`, `SELECT E'\' $1', <2>`},
		{Postgres, Positional, `SELECT '\', $1`, `SELECT '\', <1>`}, // standard strings: \ is no escape
		{Postgres, Positional, "SELECT $1 -- $2\n, $3", "SELECT <1> -- $2\n, <3>"},
		{Postgres, Positional, `SELECT /* $1 /* $2 */ $3 */ $4`, `SELECT /* $1 /* $2 */ $3 */ <4>`},
		{Postgres, Positional, `DO $$ SELECT $1 $$; SELECT $tag$ $1 $tag$, $2`, `DO $$ SELECT $1 $$; SELECT $tag$ $1 $tag$, <2>`},
		{Postgres, Positional, `SELECT data ? 'k' FROM t WHERE id = $1`, `SELECT data ? 'k' FROM t WHERE id = <1>`},
		{Postgres, Positional, `SELECT 'unterminated $1`, `SELECT 'unterminated $1`},
		{Postgres, Positional, `SELECT :name, $1`, `SELECT :name, <1>`},
		{Postgres, Positional, `SELECT 'é' || $1, "naïve$1"`, `SELECT 'é' || <1>, "naïve$1"`},

		// MySQL positional.
		{MySQL, Positional, `INSERT INTO t VALUES (?, ?)`, `INSERT INTO t VALUES (<1>, <2>)`},
		{MySQL, Positional, `SELECT '?', "?", ` + "`?`" + `, ?`, `SELECT '?', "?", ` + "`?`" + `, <1>`},
		{MySQL, Positional, `SELECT 'it\'s ?', 'a''?', ?`, `SELECT 'it\'s ?', 'a''?', <1>`},
		{MySQL, Positional, "SELECT ? # ?\n, ? -- ?\n, ?", "SELECT <1> # ?\n, <2> -- ?\n, <3>"},
		{MySQL, Positional, `SELECT 1--?`, `SELECT 1--<1>`}, // "--" without a space is minus minus
		{MySQL, Positional, `SELECT /* ? /* ? */ ?`, `SELECT /* ? /* ? */ <1>`},
		{MySQL, Positional, `SELECT $1, ?`, `SELECT $1, <1>`},

		// Data API named.
		{Postgres, Named, `SELECT :a, :b_2, :a`, `SELECT <a>, <b_2>, <a>`},
		{Postgres, Named, `SELECT :p1::int, x::text, ':a', ":a" -- :a`, `SELECT <p1>::int, x::text, ':a', ":a" -- :a`},
		{Postgres, Named, `SELECT arr[1:2], $1`, `SELECT arr[1:2], $1`},
		{MySQL, Named, `SET @x := :v`, `SET @x := <v>`},
		{MySQL, Named, `SELECT ':v', ?, :w`, `SELECT ':v', ?, <w>`},
	}
	for _, tt := range tests {
		if got := Replace(tt.d, tt.k, tt.in, mark); got != tt.want {
			t.Errorf("Replace(%v, %v, %q) = %q, want %q", tt.d, tt.k, tt.in, got, tt.want)
		}
	}
}
