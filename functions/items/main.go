// Command items is a sample Lambda function that records and lists items
// in a PostgreSQL or MySQL database reached through RDS Proxy, directly, or
// through the RDS Data API: the same code in each mode.
//
// Events:
//
//	{"action":"put","name":"..."}   inserts an item; returns {"id","name","createdAt"}
//	{"action":"list","limit":N}     returns {"items":[...]}, newest first (N: 1-100, default 20)
//	{"action":"ping"}               returns the engine, server version and the connection's backend id
//
// The database comes from the LAMBDARDS_DB_* environment variables (see
// package dbconn). Build it as the bootstrap of a provided.al2023 function:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./functions/items
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambdards/lambdards/functions/dbconn"
)

func main() {
	cfg, err := dbconn.FromEnv()
	if err != nil {
		// Fails the init phase; the message lands in the function's log.
		log.Fatal(err)
	}
	db, err := dbconn.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	h := NewHandler(db)
	lambda.StartWithOptions(h.Invoke,
		// Close the connection when the environment shuts down, so the
		// proxy frees its client slot at once.
		lambda.WithEnableSIGTERM(func() { db.Close() }),
	)
}
