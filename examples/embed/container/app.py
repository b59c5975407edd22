"""A container-image function under a lambdards pool: it signs in with IAM, as the
Python handler in main.go's inline code does, with the pg8000 driver the image installs."""
import os
import ssl

import boto3
import pg8000.native


def handler(event, context):
    host, port = os.environ["LAMBDARDS_DB_HOST"], int(os.environ["LAMBDARDS_DB_PORT"])
    user = os.environ["LAMBDARDS_DB_USER"]
    token = boto3.client("rds").generate_db_auth_token(
        DBHostname=host, Port=port, DBUsername=user, Region=os.environ["AWS_REGION"])
    conn = pg8000.native.Connection(user, host=host, port=port, password=token,
                                    database=os.environ["LAMBDARDS_DB_NAME"],
                                    ssl_context=ssl.create_default_context())
    try:
        return {"now": str(conn.run("SELECT now()")[0][0])}
    finally:
        conn.close()
