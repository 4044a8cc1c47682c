"""A deduplication set where every duplicate differs from its original in exactly one field,
made from FEBRL 2's originals (not by pprl), for docs/probabilistic.md:

    python3 fs_one_error.py FEBRL2.csv OUT.csv OUT_entities.csv [FIELD,FIELD,...] [SEED]

1,000 of the 4,000 originals get one copy each with one edit (substitution, deletion,
insertion or transposition) in one of FIELDS (default: the eight fields of
examples/febrl_fields.toml).
"""
import csv, random, sys

src, out_path, entities_path = sys.argv[1:4]
fields = (sys.argv[4].split(",") if len(sys.argv) > 4 else
          ["given_name", "surname", "date_of_birth", "soc_sec_id", "street_number",
           "address_1", "suburb", "postcode"])
random.seed(int(sys.argv[5]) if len(sys.argv) > 5 else 11)
rows = [r for r in csv.DictReader(open(src)) if r["rec_id"].endswith("-org")]
letters, digits = "abcdefghijklmnopqrstuvwxyz", "0123456789"


def edit(v, alpha):
    pool = letters if alpha else digits
    k, i = random.randrange(4), random.randrange(len(v))
    if k == 0:
        return v[:i] + random.choice(pool) + v[i + 1:]
    if k == 1 and len(v) > 1:
        return v[:i] + v[i + 1:]
    if k == 2:
        return v[:i] + random.choice(pool) + v[i:]
    if len(v) > 1:
        i = min(i, len(v) - 2)
        return v[:i] + v[i + 1] + v[i] + v[i + 2:]
    return v + random.choice(pool)


out = list(rows)
for r in random.sample(rows, 1000):
    d = dict(r)
    d["rec_id"] = r["rec_id"].replace("-org", "-dup-0")
    f = random.choice([f for f in fields if r[f]])
    d[f] = edit(r[f], f in ("given_name", "surname", "address_1", "suburb"))
    out.append(d)
random.shuffle(out)
with open(out_path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(out)
with open(entities_path, "w") as f:
    f.write("entity_id,record_id\n")
    for r in out:
        f.write("%s,%s\n" % (r["rec_id"].split("-")[1], r["rec_id"]))
