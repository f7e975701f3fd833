"""Create a new Odoo database the way Odoo's database manager does.

Run by the Python that has Odoo 18.0 (setup/run does it for a new demo
database)::

    python3 setup/create_db.py DBNAME --lang pl_PL --country PL -- <odoo options>

The odoo options are those of every Odoo process of the suite (addons path,
database host and port). Like the form of /web/database/manager, this calls
``odoo.service.db.exp_create_database``: the database gets base with demo
data, the language (loaded and set on the administrator), the company's
country and currency, and the country's time zone on the users. That happens
before any other addon is installed, so ``account`` later installs the
country's chart of accounts (``l10n_pl`` for Poland) and journal items are in
the country's currency from the start.
"""

import argparse
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Odoo options follow --."
    )
    parser.add_argument("db", help="name of the database to create (must not exist)")
    parser.add_argument("--lang", default="pl_PL", help="language code (default pl_PL)")
    parser.add_argument("--country", default="PL", help="company country code (default PL)")
    parser.add_argument("--login", default="admin", help="administrator login (default admin)")
    parser.add_argument(
        "--password", default="admin", help="administrator password (default admin)"
    )
    parser.add_argument("--without-demo", action="store_true", help="no demo data")
    odoo_args = []
    if "--" in argv:
        argv, odoo_args = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    args = parser.parse_args(argv)
    args.odoo_args = odoo_args
    return args


def check(db, lang, country, login):
    """exp_create_database logs its errors and returns True anyway: check the result."""
    import pytz

    import odoo

    problems = []
    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute(
            """SELECT country.code, currency.name
                 FROM res_company company
                 JOIN res_partner partner ON partner.id = company.partner_id
                 LEFT JOIN res_country country ON country.id = partner.country_id
                 LEFT JOIN res_currency currency ON currency.id = company.currency_id
                WHERE company.id = 1"""
        )
        code, currency = cr.fetchone()
        if (code or "").upper() != country.upper():
            problems.append(f"company country is {code}, not {country}")
        cr.execute(
            """SELECT currency.name FROM res_country country
                 JOIN res_currency currency ON currency.id = country.currency_id
                WHERE upper(country.code) = upper(%s)""",
            [country],
        )
        expected = cr.fetchone()
        if expected and expected[0] != currency:
            problems.append(f"company currency is {currency}, not {expected[0]}")
        cr.execute("SELECT active FROM res_lang WHERE code = %s", [lang])
        if cr.fetchone() != (True,):
            problems.append(f"language {lang} is not active")
        cr.execute(
            """SELECT partner.lang FROM res_users users
                 JOIN res_partner partner ON partner.id = users.partner_id
                WHERE users.login = %s""",
            [login],
        )
        row = cr.fetchone()
        if not row or row[0] != lang:
            problems.append(f"user {login} is missing or does not speak {lang}")
        zones = pytz.country_timezones.get(country.upper(), [])
        cr.execute(
            """SELECT partner.tz FROM res_company company
                 JOIN res_partner partner ON partner.id = company.partner_id
                WHERE company.id = 1"""
        )
        company_tz = cr.fetchone()[0]
        if len(zones) == 1 and company_tz != zones[0]:
            problems.append(f"company time zone is {company_tz}, not {zones[0]}")
    return problems


def set_company_tz(db, country):
    """The company's own time zone, as the database manager gives the users
    theirs (a country with one time zone): the reports, the wallboard's charts
    and the staffing plan count hours in it where a queue has no business
    hours of its own."""
    import pytz

    import odoo

    zones = pytz.country_timezones.get(country.upper(), [])
    if len(zones) != 1:
        return
    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute(
            """UPDATE res_partner SET tz = %s
                WHERE id = (SELECT partner_id FROM res_company WHERE id = 1)
                  AND tz IS NULL""",
            [zones[0]],
        )


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import odoo
    from odoo.service import db as db_service

    odoo.tools.config.parse_config(args.odoo_args, setup_logging=True)
    if db_service.exp_db_exist(args.db):
        sys.exit(f"database {args.db} already exists")
    db_service.exp_create_database(
        args.db,
        demo=not args.without_demo,
        lang=args.lang,
        user_password=args.password,
        login=args.login,
        country_code=args.country,
        phone=None,
    )
    set_company_tz(args.db, args.country)
    problems = check(args.db, args.lang, args.country, args.login)
    odoo.sql_db.close_all()
    if problems:
        sys.exit(f"database {args.db} was not created as asked: " + "; ".join(problems))


if __name__ == "__main__":
    main()
