package dbconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"
)

// ExecBatch runs query once for each set of arguments, in one transaction:
// every set or none. With the Data API that is one BatchExecuteStatement
// call inside a Data API transaction, three requests however many sets
// (within the Data API's 4 MiB request); with a database connection it is
// one ExecContext per set. Call it in Do, with the *sql.DB Do passes.
func ExecBatch(ctx context.Context, db *sql.DB, query string, argSets [][]any) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	dataAPI := false
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*dataAPIConn)
		if !ok {
			return nil
		}
		dataAPI = true
		return c.execBatch(ctx, query, argSets)
	})
	if dataAPI || err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, args := range argSets {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// execBatch runs a batch in a transaction of its own.
func (c *dataAPIConn) execBatch(ctx context.Context, query string, argSets [][]any) error {
	if len(argSets) == 0 {
		return nil
	}
	var text string
	sets := make([][]types.SqlParameter, len(argSets))
	for i, args := range argSets {
		named := make([]driver.NamedValue, len(args))
		for j, a := range args {
			// What database/sql does to an argument before a driver
			// sees it.
			v, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return fmt.Errorf("dbconn: argument set %d, argument %d: %w", i+1, j+1, err)
			}
			named[j] = driver.NamedValue{Ordinal: j + 1, Value: v}
		}
		var err error
		if text, sets[i], err = bind(c.cfg.Engine, query, named); err != nil {
			return fmt.Errorf("argument set %d: %w", i+1, err)
		}
	}
	tx, err := c.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return err
	}
	_, err = c.client.BatchExecuteStatement(ctx, &rdsdata.BatchExecuteStatementInput{
		ResourceArn:   aws.String(c.cfg.ClusterARN),
		SecretArn:     aws.String(c.cfg.SecretARN),
		Database:      aws.String(c.cfg.Database),
		Sql:           aws.String(text),
		ParameterSets: sets,
		TransactionId: aws.String(c.txID),
	})
	if err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
