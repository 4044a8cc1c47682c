"""Writes the synthetic records of the clkhash compatibility vectors (standard library only).

Run from the repository root:  python3 testdata/clkhash/generate.py
Seeded, so it reproduces the CSV files byte for byte. Every person is invented. About one row
in twenty is invalid on purpose (a value that clkhash's validation refuses); the rest exercise
empty values, Unicode, missing-value sentinels, dates, integers and enums.
"""

import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

GIVEN = ["James", "Mary", "Zoë", "José", "Łukasz", "Siobhán", "Ærin", "Noah", "Olivia", "Jörg",
         "René", "Ángela", "Muhammad", "Ying", "李", "김민준", "Ωmega", "O'Neil", "Anne-Marie",
         "Chloé", "Ivy", "Theo", "Dmitrий", "Ahmed", "Sarah", "ẞtefan", "ǅemal", "İlker"]
SURNAMES = ["Smith", "Jones", "Ångström", "Müller", "García-López", "O'Brien", "Nowak",
            "Ní Bhriain", "MacLeod", "Patel", "Nguyễn", "Kowalski", "van der Berg", "Li",
            "Øster", "Straße", "Dvořák", "Ó Súilleabháin", "Wu", "Fernández", "Ng"]
CITIES = ["Zürich", "São Paulo", "東京", "Köln", "Leeds", "Reykjavík", "Kraków", "Москва",
          "Cardiff", "Ōsaka", "Montréal", "Bath", "Århus", "Ghent"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTH_CASES = [str, str.upper, str.lower]


def pick(rng, items):
    return items[rng.randrange(len(items))]


def date(rng):
    return rng.randint(1920, 2015), rng.randint(1, 12), rng.randint(1, 28)


def write(name, header, rows):
    with open(os.path.join(HERE, name + ".csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def v3_full(rng, n):
    rows = []
    for i in range(n):
        given = pick(rng, GIVEN)
        sur = pick(rng, SURNAMES)
        y, m, d = date(rng)
        dob = rng.choice([f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y}", "unknown", f"{d:02d}/{m:02d}/{y}"])
        age = rng.choice([str(2026 - y), f" {2026 - y}", f"+{2026 - y}", f"00{rng.randint(0, 9)}",
                          "", "-0", str(rng.randint(0, 120)), "1_0"])
        weight = rng.choice([f"{rng.randint(40, 120)}.{rng.randint(0, 9)}", str(rng.randint(40, 120)),
                             "", f"{rng.randint(40, 120)}.{rng.randint(0, 99):02d}", "0.05"])
        sex = rng.choice(["M", "F", "X"])
        pc = rng.choice([f"SW{rng.randint(1, 20)} {rng.randint(1, 9)}AB", f"{rng.randint(1000, 9999)}", "",
                         f"LS{rng.randint(1, 9)} {rng.randint(1, 9)}ZZ"])
        city = rng.choice(CITIES + [""])
        email = rng.choice([f"{given.lower()}.{i}@example.org", "-", "", f"p{i}@x.io"])
        if not email.isascii():
            email = f"user{i}@example.org"
        initials = rng.choice([(given[0] + sur[0]).upper(), given[0].upper(), "", "JRR"])
        given_v = rng.choice([given, given, given, "N/A", "", given.upper(), f" {given} "])
        notes = rng.choice(["", "moved", "née Smith, 2 children", "\"quoted\" text"])
        row = [str(i), given_v, sur, initials, dob, age, weight, sex, pc, city, email, notes]
        if rng.random() < 0.06:
            field, bad = rng.choice([
                (2, ""),                   # surname: minLength 1
                (3, "jr"),                 # initials: case upper
                (3, "ABCD"),               # initials: maxLength 3
                (4, "31/02/1990"),         # dob: not a real date
                (4, "1990-01-01"),         # dob: wrong format
                (5, "121"),                # age: above maximum
                (5, "abc"),                # age: not an integer
                (5, "-3"),                 # age: below minimum
                (6, "72,5"),               # weight: pattern
                (7, "m"),                  # sex: not in the enum
                (8, "sw1 1ab"),            # postcode: pattern
                (10, "zoë@example.org"),   # email: not ASCII
                (10, "Upper@Example.org"), # email: case lower
                (1, "A" * 31),             # given_name: maxLength 30
            ])
            row[field] = bad
        rows.append(row)
    write("v3_full", ["INDEX", "given_name", "surname", "initials", "dob", "age", "weight", "sex",
                      "postcode", "city", "email", "notes"], rows)


def v3_folds_sha512(rng, n):
    rows = []
    for i in range(n):
        name = f"{pick(rng, GIVEN)} {pick(rng, SURNAMES)}"
        y, m, d = date(rng)
        phone = rng.choice([f"+44 {rng.randint(1000, 9999)} {rng.randint(100000, 999999)}",
                            f"0{rng.randint(10000000, 99999999)}", ""])
        yob = rng.choice([str(y), f" {y} ", f"+{y}", f"{y:_}", "١٩٨٥"])
        gender = rng.choice(["male", "female", "other", ""])
        row = [f"r{i}", rng.choice([name, name, ""]), f"{y:04d}-{m:02d}-{d:02d}", phone, yob, gender]
        if rng.random() < 0.06:
            field, bad = rng.choice([(2, "1990-02-30"), (2, "90-01-01"), (3, "12-34"), (4, "19x5"),
                                     (4, "1985.0"), (5, "Male")])
            row[field] = bad
        rows.append(row)
    write("v3_folds_sha512", ["id", "name", "dob", "phone", "yob", "gender"], rows)


def v3_odd_length(rng, n):
    rows = []
    for i in range(n):
        first = rng.choice([pick(rng, GIVEN), "", "A"])
        last = rng.choice([pick(rng, SURNAMES), pick(rng, SURNAMES) + "-" + pick(rng, SURNAMES)])
        y, m, d = date(rng)
        mon = pick(rng, MONTH_CASES)(MONTHS[m - 1])
        born = rng.choice([f"{mon} {d:02d} {y}", f"{mon} {d} {y}", f"{mon}  {d} {y}", "?"])
        vy, vm, vd = rng.randint(1970, 2068), rng.randint(1, 12), rng.randint(1, 28)
        visit = rng.choice([f"{vd:02d}.{vm:02d}.{vy % 100:02d}", f"{vd}.{vm}.{vy % 100:02d}"])
        score = rng.choice([f"{rng.uniform(0, 10):.3f}", f"{rng.randint(0, 10)}", "", "-1.25",
                            f"{rng.uniform(0, 1):.2e}", " 3.5 "])
        row = [first, last, born, visit, score, str(i)]
        if rng.random() < 0.06:
            field, bad = rng.choice([(1, "X" * 41), (2, "Foo 01 2000"), (2, "Feb 30 2000"),
                                     (3, "1.1.2000"), (3, "32.01.99")])
            row[field] = bad
        rows.append(row)
    write("v3_odd_length", ["first", "last", "born", "visit", "score", "row"], rows)


def v2_basic(rng, n):
    rows = []
    for i in range(n):
        y, m, d = date(rng)
        row = [str(1000 + i), rng.choice([pick(rng, GIVEN), ""]), pick(rng, SURNAMES),
               f"{y:04d}{m:02d}{d:02d}", rng.choice(["M", "F", ""])]
        if rng.random() < 0.06:
            field, bad = rng.choice([(3, "19901301"), (3, "1990-01-01"), (4, "U")])
            row[field] = bad
        rows.append(row)
    write("v2_basic", ["rec_id", "given", "surname", "dob", "sex"], rows)


def v1_basic(rng, n):
    rows = []
    for i in range(n):
        y, m, d = date(rng)
        row = [str(i), pick(rng, GIVEN), pick(rng, SURNAMES).upper(), f"{d:02d}-{m:02d}-{y}",
               rng.choice(["M", "F"]), rng.choice([f"{rng.randint(1000, 9999)}", "NONE", ""])]
        if rng.random() < 0.06:
            field, bad = rng.choice([(2, "Smith"), (3, "1-1-99"), (4, "Q")])
            row[field] = bad
        rows.append(row)
    write("v1_basic", ["id", "given", "surname", "dob", "sex", "postcode"], rows)


def main():
    rng = random.Random(20261127)
    v3_full(rng, 400)
    v3_folds_sha512(rng, 300)
    v3_odd_length(rng, 300)
    v2_basic(rng, 250)
    v1_basic(rng, 250)


if __name__ == "__main__":
    main()
