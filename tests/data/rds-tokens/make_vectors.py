#!/usr/bin/python3
"""Makes tests/data/rds-tokens/vectors.json: RDS IAM auth tokens made by botocore's
generate_db_auth_token for fixed credentials and a frozen clock.

Run with Debian 12's python3-boto3 (botocore 1.29.27):
    apt-get install -y python3-boto3
    /usr/bin/python3 tests/data/rds-tokens/make_vectors.py > tests/data/rds-tokens/vectors.json
The clock is frozen by patching botocore.auth.datetime (SigV4QueryAuth reads
datetime.datetime.utcnow()); no network is used and no real credentials are involved.
"""
import datetime
import json
import sys
from unittest import mock

import botocore
import botocore.session

CASES = [
    # name, access key, secret, session token, region, host, port, user, time
    ("no-token", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None,
     "us-east-1", "mydb.123456789012.us-east-1.rds.amazonaws.com", 5432, "app_user",
     (2024, 1, 15, 8, 30, 5)),
    ("session-token", "ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
     "FwoGZXIvYXdzEBYaDH+/token=with/special+chars", "eu-west-1",
     "db.example.eu-west-1.rds.amazonaws.com", 5432, "app_user", (2024, 1, 15, 8, 30, 5)),
    ("aurora-mysql-port", "AKIDEXAMPLE", "secret/with+plus", None, "ap-southeast-2",
     "cluster.cluster-abc.ap-southeast-2.rds.amazonaws.com", 3306, "reader",
     (2023, 12, 31, 23, 59, 59)),
    ("user-needs-encoding", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None,
     "us-west-2", "10.0.0.12", 6543, "user@corp name~x", (2025, 6, 1, 0, 0, 0)),
    ("china-region", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok",
     "cn-north-1", "db.abc.rds.cn-north-1.amazonaws.com.cn", 5432, "sqs2pg",
     (2024, 2, 29, 12, 0, 0)),
]


def token(access, secret, tok, region, host, port, user, when):
    session = botocore.session.get_session()
    session.set_credentials(access, secret, tok)
    client = session.create_client("rds", region_name=region)
    fixed = datetime.datetime(*when)
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = fixed
        dt.datetime.now.return_value = fixed
        return client.generate_db_auth_token(host, port, user)


out = {"generator": "botocore " + botocore.__version__ + " generate_db_auth_token", "cases": []}
for name, access, secret, tok, region, host, port, user, when in CASES:
    out["cases"].append({
        "name": name,
        "access_key_id": access,
        "secret_access_key": secret,
        "session_token": tok or "",
        "region": region,
        "host": host,
        "port": port,
        "user": user,
        "time": "%04d%02d%02dT%02d%02d%02dZ" % when,
        "token": token(access, secret, tok, region, host, port, user, when),
    })
json.dump(out, sys.stdout, indent=2)
sys.stdout.write("\n")
