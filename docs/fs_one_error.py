# A dedup set where every duplicate differs from its original in exactly one field (one edit),
# made from FEBRL 2's originals (not by pprl): the hard case of issue 17's German set.
import csv, random
random.seed(7)
rows=[r for r in csv.DictReader(open('/work/shared/data/febrl/febrl2.csv')) if r['rec_id'].endswith('-org')]
fields=['given_name','surname','date_of_birth','soc_sec_id','street_number','address_1','suburb','postcode']
letters='abcdefghijklmnopqrstuvwxyz'; digits='0123456789'
def edit(v, alpha):
    if not v: return v
    pool=letters if alpha else digits
    k=random.randrange(4); i=random.randrange(len(v))
    if k==0: return v[:i]+random.choice(pool)+v[i+1:]
    if k==1 and len(v)>1: return v[:i]+v[i+1:]
    if k==2: return v[:i]+random.choice(pool)+v[i:]
    if len(v)>1:
        i=min(i,len(v)-2); return v[:i]+v[i+1]+v[i]+v[i+2:]
    return v+random.choice(pool)
out=list(rows)
for r in random.sample(rows,1000):
    d=dict(r); d['rec_id']=r['rec_id'].replace('-org','-dup-0')
    f=random.choice([f for f in fields if r[f]])
    if random.random()<0.15: d[f]=''
    else: d[f]=edit(r[f], f in ('given_name','surname','address_1','suburb'))
    out.append(d)
random.shuffle(out)
w=csv.DictWriter(open('one_error.csv','w',newline=''),fieldnames=list(rows[0].keys())); w.writeheader(); w.writerows(out)
with open('one_error_entities.csv','w') as f:
    f.write('entity_id,record_id\n')
    for r in out: f.write('%s,%s\n'%(r['rec_id'].split('-')[1],r['rec_id']))
print(len(out))
