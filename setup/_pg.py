"""One SQL statement, its rows printed tab-separated: the psql-free helper of
setup/_common.sh (``_pg_exec``) and setup/docker/first_start.sh (``pg``).

    python3 setup/_pg.py HOST PORT DBNAME SQL [PARAM...]

SQL takes PARAMs as ``%s`` placeholders. The user and password are libpq's:
PGUSER and PGPASSWORD when set (first_start.sh sets them to the container's),
else the current user. Only psycopg2 is imported (it comes with Odoo), so the
odoo:18.0 image runs this from the repository mounted read-only.
"""

import sys

import psycopg2


def main(host, port, dbname, sql, *params):
    conn = psycopg2.connect(host=host, port=int(port), dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            cr.execute(sql, params or None)
            if cr.description:
                for row in cr.fetchall():
                    print("\t".join("" if v is None else str(v) for v in row))
    finally:
        conn.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
