package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lambdards/lambdards/dbspec"
)

// dialect is the SQL that differs between the engines.
type dialect struct {
	// exists selects whether the table exists, as a boolean.
	exists string
	// schema creates the table if it is missing.
	schema string
	// insert adds an item and returns it as stored.
	insert func(ctx context.Context, db *sql.DB, name string) (Item, error)
	// list selects the newest items; its one parameter is the limit.
	list string
	// scanItems reads list's rows.
	scanItems func(rows *sql.Rows) ([]Item, error)
	// ping selects the server version and the connection's id.
	ping string
}

var dialects = map[dbspec.Engine]dialect{
	dbspec.Postgres: {
		// In the schemas of the user's search_path, where CREATE TABLE puts it.
		exists: `SELECT to_regclass('items') IS NOT NULL`,
		schema: `CREATE TABLE IF NOT EXISTS items (
			id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			name       text NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now()
		)`,
		insert: func(ctx context.Context, db *sql.DB, name string) (Item, error) {
			var it Item
			err := db.QueryRowContext(ctx,
				`INSERT INTO items (name) VALUES ($1) RETURNING id, name, created_at`, name,
			).Scan(&it.ID, &it.Name, &it.CreatedAt)
			it.CreatedAt = it.CreatedAt.UTC()
			return it, err
		},
		// Newest first: identity values grow with each insert.
		list: `SELECT id, name, created_at FROM items ORDER BY id DESC LIMIT $1`,
		scanItems: func(rows *sql.Rows) ([]Item, error) {
			return scanRows(rows, func(it *Item) []any { return []any{&it.ID, &it.Name, &it.CreatedAt} }, nil)
		},
		ping: `SELECT version(), pg_backend_pid()`,
	},
	dbspec.MySQL: {
		exists: `SELECT COUNT(*) > 0 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items'`,
		schema: `CREATE TABLE IF NOT EXISTS items (
			id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
			name       VARCHAR(200) NOT NULL,
			created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		insert: insertMySQL,
		list:   `SELECT id, name, ` + mysqlCreatedAt + ` FROM items ORDER BY id DESC LIMIT ?`,
		scanItems: func(rows *sql.Rows) ([]Item, error) {
			var micros int64
			return scanRows(rows,
				func(it *Item) []any { return []any{&it.ID, &it.Name, &micros} },
				func(it *Item) { it.CreatedAt = time.UnixMicro(micros).UTC() })
		},
		ping: `SELECT VERSION(), CONNECTION_ID()`,
	},
}

// mysqlCreatedAt reads created_at as microseconds since the epoch. A
// TIMESTAMP read as is comes back in the session's time zone, which the
// driver would have to be told; the epoch needs no time zone (and no SET
// statement, which RDS Proxy might pin the session for).
const mysqlCreatedAt = `CAST(UNIX_TIMESTAMP(created_at) * 1000000 AS SIGNED)`

// insertMySQL inserts and reads the row back in one transaction, since
// MySQL has no RETURNING.
func insertMySQL(ctx context.Context, db *sql.DB, name string) (Item, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Item{}, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO items (name) VALUES (?)`, name)
	if err != nil {
		return Item{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Item{}, err
	}
	var it Item
	var micros int64
	err = tx.QueryRowContext(ctx, `SELECT id, name, `+mysqlCreatedAt+` FROM items WHERE id = ?`, id).
		Scan(&it.ID, &it.Name, &micros)
	if err != nil {
		return Item{}, err
	}
	it.CreatedAt = time.UnixMicro(micros).UTC()
	return it, tx.Commit()
}

// scanRows reads rows into items: dest gives the scan targets for an item,
// and after, if not nil, finishes it.
func scanRows(rows *sql.Rows, dest func(*Item) []any, after func(*Item)) ([]Item, error) {
	defer rows.Close()
	items := []Item{}
	for rows.Next() {
		var it Item
		if err := rows.Scan(dest(&it)...); err != nil {
			return nil, fmt.Errorf("reading items: %w", err)
		}
		if after != nil {
			after(&it)
		}
		it.CreatedAt = it.CreatedAt.UTC()
		items = append(items, it)
	}
	return items, rows.Err()
}
