import random, csv, sys
random.seed(20261125)
given_m = ["James","John","Robert","Michael","William","David","Richard","Joseph","Thomas","Charles","Oliver","Harry","George","Noah","Jack","Jacob","Leo","Oscar","Arthur","Muhammad","Henry","Theo","Freddie","Alfie","Archie","Ethan","Isaac","Alexander","Joshua","Edward","Daniel","Samuel","Liam","Ryan","Connor","Callum","Kieran","Owen","Rhys","Dylan","Aled","Seán","Ciarán","Tomás","Zoltán","Jörg","René","Andrés"]
given_f = ["Mary","Patricia","Jennifer","Linda","Elizabeth","Barbara","Susan","Jessica","Sarah","Karen","Olivia","Amelia","Isla","Ava","Mia","Ivy","Lily","Isabella","Rosie","Sophia","Grace","Freya","Emily","Poppy","Evie","Florence","Ella","Charlotte","Sienna","Chloe","Megan","Bethan","Siobhan","Niamh","Aoife","Zoë","Chloé","Ángela","Renée","Anaïs","Maëlle","Sinéad"]
surnames = ["Smith","Jones","Taylor","Brown","Williams","Wilson","Johnson","Davies","Patel","Robinson","Wright","Thompson","Evans","Walker","White","Roberts","Green","Hall","Thomas","Clarke","Jackson","Wood","Harris","Edwards","Turner","Martin","Cooper","Hill","Ward","Hughes","Moore","Clark","King","Harrison","Lewis","Baker","Lee","Allen","Morris","Khan","Scott","Watson","Davis","Parker","James","Bennett","Young","Phillips","Richardson","Mitchell","Bailey","Carter","Cook","Singh","Shaw","Bell","Collins","Morgan","Kelly","Begum","Miller","Cox","Hussain","Marshall","Simpson","Price","Anderson","Adams","Wilkinson","Ali","Ahmed","O'Brien","O'Neill","McDonald","MacLeod","Fitzgerald","Ní Bhriain","Ångström","Müller","Nowak","Kowalski","García","Fernández","Smith-Jones","Ahmed-Khan"]
streets = ["High Street","Station Road","Main Street","Park Road","Church Road","Church Street","London Road","Victoria Road","Green Lane","Manor Road","Church Lane","Park Avenue","The Avenue","The Crescent","Queens Road","New Road","Grange Road","Kings Road","Kingsway","Windsor Road","Highfield Road","Mill Lane","Alexander Road","York Road","St. John's Road","Main Road","Broadway","King Street","The Green","Springfield Road"]
towns = [("Leeds","LS"),("Manchester","M"),("Bristol","BS"),("Cardiff","CF"),("Glasgow","G"),("Sheffield","S"),("Norwich","NR"),("York","YO"),("Oxford","OX"),("Swansea","SA"),("Belfast","BT"),("Exeter","EX"),("Derby","DE"),("Leicester","LE"),("Bath","BA")]
def person(i):
    sex = random.choice("MF")
    given = random.choice(given_m if sex=="M" else given_f)
    sur = random.choice(surnames)
    y = random.randint(1935, 2005); m = random.randint(1,12); d = random.randint(1,28)
    town, area = random.choice(towns)
    pc = f"{area}{random.randint(1,29)} {random.randint(1,9)}{random.choice('ABDEFGHJLNPQRSTUWXYZ')}{random.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    addr = f"{random.randint(1,220)} {random.choice(streets)}, {town}"
    return dict(given_name=given, surname=sur, dob=(y,m,d), sex=sex, postcode=pc, address=addr)
def typo(s):
    if len(s) < 3: return s
    i = random.randrange(1, len(s)-1)
    op = random.choice("dist")
    if op=="d": return s[:i]+s[i+1:]
    if op=="i": return s[:i]+random.choice("aeinrst")+s[i:]
    if op=="s": return s[:i]+random.choice("aeinrst")+s[i+1:]
    return s[:i]+s[i+1]+s[i]+s[i+2:]
people = [person(i) for i in range(600)]
a_idx = list(range(0, 500)); b_idx = list(range(200, 600))   # 300 shared people
random.shuffle(a_idx); random.shuffle(b_idx)
def fmt_dob(p, style):
    y,m,d = p["dob"]
    return f"{d:02d}/{m:02d}/{y}" if style==0 else f"{y}-{m:02d}-{d:02d}"
truth = []
with open("testdata/sample/dept_a.csv","w",newline="") as f:
    w = csv.writer(f); w.writerow(["record_id","given_name","surname","date_of_birth","sex","postcode","address"])
    for n,i in enumerate(a_idx):
        p = people[i]; rid = f"A{n+1:05d}"
        w.writerow([rid, p["given_name"], p["surname"], fmt_dob(p,0), p["sex"], p["postcode"], p["address"]])
        if i >= 200: truth.append((i, rid))
bmap = {}
with open("testdata/sample/dept_b.csv","w",newline="") as f:
    w = csv.writer(f); w.writerow(["record_id","given_name","surname","date_of_birth","sex","postcode","address"])
    for n,i in enumerate(b_idx):
        p = dict(people[i]); rid = f"B-{n+1:04d}"
        g, s, pc, addr = p["given_name"], p["surname"], p["postcode"], p["address"]
        r = random.random()
        if r < 0.15: g = typo(g)
        elif r < 0.22: g = g.upper()
        elif r < 0.27: s = typo(s)
        elif r < 0.30: s = s.upper() + " "
        dob = fmt_dob(p, 1)
        r = random.random()
        if r < 0.05:
            y,m,d = p["dob"]; dob = f"{y}-{d:02d}-{m:02d}" if d <= 12 else f"{y+1}-{m:02d}-{d:02d}"
        elif r < 0.08: dob = ""
        r = random.random()
        if r < 0.10: pc = pc.replace(" ", "").lower()
        if random.random() < 0.1: addr = typo(addr)
        sex = p["sex"] if random.random() > 0.05 else "U"
        w.writerow([rid, g, s, dob, sex, pc, addr])
        bmap[i] = rid
    # Rows that cannot be encoded, to show the rejects report.
    w.writerow(["B-9001","Anna","Kowalska","31/02/1990","F","LS1 1AA","1 Park Road, Leeds"])
    w.writerow(["","Tom","Baker","1950-03-12","M","CF10 2AB","4 High Street, Cardiff"])
with open("testdata/sample/truth.csv","w",newline="") as f:
    w = csv.writer(f); w.writerow(["a_id","b_id"])
    for i, rid in sorted(truth, key=lambda t: t[1]):
        if i in bmap: w.writerow([rid, bmap[i]])
