#!/usr/bin/python3
"""mailsec roundcube upgrade / rollback against real Roundcube releases.

  upgrade.py matrix MAILSEC           every older release upgraded to every newer
                                      one (SQLite), then rolled back
  upgrade.py kill MAILSEC             SIGKILL at each step of an upgrade; a re-run
                                      and a rollback both work afterwards
  upgrade.py pgsql MAILSEC INFOFILE   one upgrade with PostgreSQL (tests/lib/pgsql.sh)
  upgrade.py mariadb MAILSEC INFOFILE one upgrade with MariaDB (tests/sql/mariadb.sh)
  upgrade.py refuse MAILSEC           a downgrade and a Debian-packaged installation

The releases are the tarballs in $MAILSEC_ROUNDCUBE_DIR (default
../shared/roundcube beside the source tree); without them the test says so
and exits 77 (skipped).

Each installation is made the way people make one: the older release
unpacked, a database made from that release's own SQL/<driver>.initial.sql,
plus what an upgrade must keep: a plugin and a skin of our own, a local
config.inc.php, a release plugin's own config.inc.php. After the upgrade:
the files are the new release's plus those, the local files unchanged, the
installer gone, the schema the same as a fresh installation's of the new
release, the audit of the result clean. After the rollback: every file
(content, mode, owner, times, links) and the database dump as before.
"""
import difflib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tarfile
import tempfile

RELEASES = ["1.4.16", "1.5.15", "1.6.18", "1.7.3"]
SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
RC_DIR = os.environ.get("MAILSEC_ROUNDCUBE_DIR",
                        os.path.join(HERE, "..", "..", "..", "shared", "roundcube"))
DES_KEY = "k3Yp9vQ2xR7mW4tZ8bN5cL1s"  # 24 characters, not the default


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def tarball(version):
    return os.path.join(RC_DIR, "roundcubemail-%s.tar.gz" % version)


class Work:
    """A temporary directory with the releases unpacked once each."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rc-upgrade.")
        self.trees = {}

    def release(self, version):
        if version not in self.trees:
            dest = os.path.join(self.dir, "releases", version)
            os.makedirs(dest)
            with tarfile.open(tarball(version)) as t:
                t.extractall(dest, filter="tar") if hasattr(tarfile, "tar_filter") else t.extractall(dest)
            self.trees[version] = os.path.join(dest, "roundcubemail-" + version)
        return self.trees[version]

    def case(self, name):
        d = os.path.join(self.dir, name)
        os.makedirs(d)
        return d

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- trees ----

def walk(root):
    """rel path -> (kind, mode, uid, gid, size, mtime_ns, content digest or link target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [""] if dirpath == root else []:
            st = os.lstat(root)
            out[""] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, 0, st.st_mtime_ns, None)
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                what = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                what = ("dir", None)
            else:
                with open(path, "rb") as f:
                    what = ("file", hashlib.sha256(f.read()).hexdigest())
            out[rel] = (what[0], stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                        st.st_size if what[0] == "file" else 0, st.st_mtime_ns, what[1])
    return out


def non_dirs(tree):
    return {p for p, v in tree.items() if v[0] != "dir"}


def same_tree(before, after, what):
    if before == after:
        return
    missing = sorted(set(before) - set(after))[:5]
    extra = sorted(set(after) - set(before))[:5]
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])[:5]
    detail = ["%s: %s -> %s" % (p, before[p], after[p]) for p in changed]
    fail("%s: missing %s, extra %s, changed %s" % (what, missing, extra, detail))


# ---- installations ----

LOCAL_PLUGIN_CONFIG = "plugins/archive/config.inc.php"


def make_install(work, version, root, dsn):
    shutil.copytree(work.release(version), root, symlinks=True)
    os.makedirs(os.path.join(root, "plugins/myplugin"))
    with open(os.path.join(root, "plugins/myplugin/myplugin.php"), "w") as f:
        f.write("<?php\nclass myplugin extends rcube_plugin { function init() {} }\n")
    shutil.copytree(os.path.join(root, "skins/elastic/templates"), os.path.join(root, "skins/myskin/templates"))
    with open(os.path.join(root, "skins/myskin/meta.json"), "w") as f:
        f.write('{"name": "My skin", "extends": "elastic"}\n')
    with open(os.path.join(root, LOCAL_PLUGIN_CONFIG), "w") as f:
        f.write("<?php\n$config['archive_mbox'] = 'Archive';\n")
    config = os.path.join(root, "config/config.inc.php")
    with open(config, "w") as f:
        f.write("<?php\n"
                "$config['db_dsnw'] = '%s';\n"
                "$config['imap_host'] = 'ssl://mail.example.org:993';\n"
                "$config['smtp_host'] = 'tls://mail.example.org:587';\n"
                "$config['des_key'] = '%s';\n"
                "$config['plugins'] = ['archive', 'myplugin'];\n"
                "$config['skin'] = 'elastic';\n"
                "$config['enable_installer'] = false;\n" % (dsn, DES_KEY))
    os.chmod(config, 0o640)


def expected_files(old_release, new_release, before):
    """What the upgraded installation holds: the new release (without its
    installer) and, from the installation, what is not the release's."""
    new = non_dirs(walk(new_release))
    old = walk(old_release)
    new_tops = {p.split("/")[0] for p in walk(new_release)}
    new_addons = {"/".join(p.split("/")[:2]) for p in new if p.startswith(("plugins/", "skins/"))}
    expect = {p for p in new if not p.startswith("installer/")}
    for p in non_dirs(before):
        top = p.split("/")[0]
        addon = "/".join(p.split("/")[:2])
        if top == "installer":
            continue
        if p not in old and not p.startswith(tuple(a + "/" for a in new_addons)) and top not in new_tops:
            expect.add(p)  # files of our own at the top
        elif p.startswith(("plugins/", "skins/")) and addon not in new_addons:
            expect.add(p)  # a plugin or skin the new release lacks: ours, or an old one of the release
        elif top in ("config", "logs", "temp") and p not in new:
            expect.add(p)
        elif p == LOCAL_PLUGIN_CONFIG or p in ("composer.json", ".htaccess", "public_html/.htaccess"):
            expect.add(p)
        elif top not in new_tops:
            expect.add(p)
    return expect


def check_upgraded(root, old_release, new_release, before, what):
    after = walk(root)
    expect = expected_files(old_release, new_release, before)
    got = non_dirs(after)
    if got != expect:
        fail("%s: files: missing %s, unexpected %s" % (what, sorted(expect - got)[:8], sorted(got - expect)[:8]))
    release = walk(new_release)
    local = {LOCAL_PLUGIN_CONFIG, "config/config.inc.php", ".htaccess", "public_html/.htaccess", "composer.json"}
    for p in got:
        src = before if (p in local and p in before) or p not in release else release
        if after[p][6] != src[p][6] or after[p][0] != src[p][0]:
            fail("%s: %s is not the %s's" % (what, p, "installation" if src is before else "release"))
    if os.path.exists(os.path.join(root, "installer")):
        fail("%s: the installer is still there" % what)


# ---- SQLite ----

def sqlite_create(path, initial_sql):
    db = sqlite3.connect(path)
    with open(initial_sql) as f:
        db.executescript(f.read())
    db.execute("INSERT INTO users (username, mail_host, created, language, preferences) "
               "VALUES ('alice', 'localhost', '2024-01-02 03:04:05', 'en_US', 'a:0:{}')")
    db.commit()
    db.close()


def sqlite_schema(path):
    db = sqlite3.connect(path)
    out = {}
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for t in tables:
        cols = sorted((r[1], r[2].lower(), r[3], r[4], r[5]) for r in db.execute("PRAGMA table_info('%s')" % t))
        idx = sorted((r[2], tuple(c[2] for c in db.execute("PRAGMA index_info('%s')" % r[1])))
                     for r in db.execute("PRAGMA index_list('%s')" % t))
        fks = sorted((r[2], r[3], r[4], r[5], r[6]) for r in db.execute("PRAGMA foreign_key_list('%s')" % t))
        out[t] = (cols, idx, fks)
    version = db.execute("SELECT value FROM system WHERE name = 'roundcube-version'").fetchone()
    db.close()
    return out, version


def sqlite_dump(path):
    db = sqlite3.connect(path)
    text = "\n".join(db.iterdump())
    db.close()
    return text


def fresh_schema(work, version):
    path = os.path.join(work.dir, "fresh-%s.sqlite" % version)
    if not os.path.exists(path):
        sqlite_create(path, os.path.join(work.release(version), "SQL/sqlite.initial.sql"))
    return sqlite_schema(path)


# ---- running mailsec ----

def mailsec(binary, args, env=None, expect=None):
    r = subprocess.run([binary, "roundcube"] + args, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})), timeout=600)
    if expect is not None and r.returncode != expect:
        fail("mailsec roundcube %s: exit %d, expected %d\nstdout: %s\nstderr: %s"
             % (" ".join(args), r.returncode, expect, r.stdout[-3000:], r.stderr[-3000:]))
    return r


# What the audit of an upgraded installation may still say: that security
# fixes came after the release chosen (a fact of that release, not of the
# installation; the audit then exits 1).
RELEASE_FINDINGS = {"roundcube.security-fixes-missing"}


def upgrade(binary, new, root, backup, env=None, expect=0, release=None):
    r = mailsec(binary, ["upgrade", "--release", release or tarball(new), "--to", root, "--yes", "--json",
                         "--backup-dir", backup], env=env)
    if expect != 0 and r.returncode != expect:
        fail("upgrade to %s: exit %d, expected %d: %s" % (new, r.returncode, expect, r.stderr))
    if expect == 0:
        if r.returncode not in (0, 1):
            fail("upgrade to %s: exit %d: %s" % (new, r.returncode, r.stderr))
        doc = json.loads(r.stdout)
        bad = [d for d in doc.get("diagnostics", []) if d.get("severity") in ("warning", "error")
               and d.get("code") not in RELEASE_FINDINGS]
        codes = [d.get("code") for d in doc.get("diagnostics", [])]
        if bad or "roundcube.version" not in codes or r.returncode != (1 if set(codes) & RELEASE_FINDINGS else 0):
            fail("the audit after upgrading to %s is not clean (exit %d): %s"
                 % (new, r.returncode, json.dumps(bad)[:2000]))
    return r


# ---- the cases ----

def sqlite_case(work, binary, old, new, name):
    case = work.case(name)
    root, dbfile = os.path.join(case, "roundcube"), os.path.join(case, "rc.sqlite")
    sqlite_create(dbfile, os.path.join(work.release(old), "SQL/sqlite.initial.sql"))
    make_install(work, old, root, "sqlite:///%s?mode=0640" % dbfile)
    return case, root, dbfile


def matrix(binary):
    work = Work()
    try:
        for i, old in enumerate(RELEASES):
            for new in RELEASES[i + 1:]:
                what = "%s -> %s" % (old, new)
                case, root, dbfile = sqlite_case(work, binary, old, new, "m-%s-%s" % (old, new))
                before, dump = walk(root), sqlite_dump(dbfile)
                plan = json.loads(mailsec(binary, ["upgrade", "--release", tarball(new), "--to", root,
                                                   "--dry-run", "--json"], expect=0).stdout)["plan"]
                if walk(root) != before or sqlite_dump(dbfile) != dump:
                    fail("%s: --dry-run changed something" % what)
                if "plugins/myplugin/" not in plan["files"]["kept"] or "skins/myskin/" not in plan["files"]["kept"]:
                    fail("%s: the plan does not keep our plugin and skin: %s" % (what, plan["files"]["kept"]))
                backup = os.path.join(case, "backup")
                # the release as a tree saves unpacking it each time; the
                # widest step takes the tarball (the kill cases do too)
                tree = None if (old, new) == (RELEASES[0], RELEASES[-1]) else work.release(new)
                upgrade(binary, new, root, backup, release=tree)
                check_upgraded(root, work.release(old), work.release(new), before, what)
                if sqlite_schema(dbfile) != fresh_schema(work, new):
                    fail("%s: the schema differs from a fresh %s installation's" % (what, new))
                applied = plan["database"]["migrations"]
                if not applied or sqlite_schema(dbfile)[1][0] != applied[-1]:
                    fail("%s: migrations %s, schema version %s" % (what, applied, sqlite_schema(dbfile)[1]))
                mailsec(binary, ["rollback", backup], expect=0)
                same_tree(before, walk(root), what + ", rolled back")
                if sqlite_dump(dbfile) != dump:
                    fail("%s: the database after the rollback differs" % what)
                shutil.rmtree(case)
                print("ok: %s upgraded, checked, rolled back" % what)
    finally:
        work.close()


KILL_STEPS = ["backup", "staged", "switched", "migration"]


def kill(binary):
    old, new = "1.5.15", "1.6.18"
    work = Work()
    try:
        for step in KILL_STEPS:
            what = "killed at %s" % step
            case, root, dbfile = sqlite_case(work, binary, old, new, "k-" + step)
            before, dump = walk(root), sqlite_dump(dbfile)
            first = os.path.join(case, "backup-killed")
            r = upgrade(binary, new, root, first, env={"MAILSEC_TEST_KILL_AT": step}, expect=-signal.SIGKILL)
            # killed: the installation is the old one or the new one, whole
            now = walk(root)
            if step in ("backup", "staged"):
                same_tree(before, now, what + ": the installation")
            else:
                check_upgraded(root, work.release(old), work.release(new), before, what)
            # a re-run finishes the upgrade
            upgrade(binary, new, root, os.path.join(case, "backup-rerun"))
            check_upgraded(root, work.release(old), work.release(new), before, what + ", re-run")
            if sqlite_schema(dbfile) != fresh_schema(work, new):
                fail("%s: after the re-run the schema differs from a fresh installation's" % what)
            # the killed run's backup puts everything back (when it was complete)
            if step == "backup":
                r = mailsec(binary, ["rollback", first], expect=2)
                if "not a complete" not in r.stderr:
                    fail("%s: rollback of an incomplete backup says: %s" % (what, r.stderr))
            else:
                mailsec(binary, ["rollback", first], expect=0)
                same_tree(before, walk(root), what + ", rolled back")
                if sqlite_dump(dbfile) != dump:
                    fail("%s: the database after the rollback differs" % what)
            leftovers = [n for n in os.listdir(case) if n.startswith(".roundcube.") and n != ".roundcube.mailsec-lock"]
            if step != "backup" and leftovers:
                fail("%s: left beside the installation: %s" % (what, leftovers))
            shutil.rmtree(case)
            print("ok: %s, re-run and rollback work" % what)
        # a rollback killed half-way is finished by running it again
        case, root, dbfile = sqlite_case(work, binary, old, new, "k-rollback")
        before, dump = walk(root), sqlite_dump(dbfile)
        backup = os.path.join(case, "backup")
        upgrade(binary, new, root, backup)
        mailsec(binary, ["rollback", backup], env={"MAILSEC_TEST_KILL_AT": "switched"}, expect=-signal.SIGKILL)
        mailsec(binary, ["rollback", backup], expect=0)
        same_tree(before, walk(root), "rollback killed, run again")
        if sqlite_dump(dbfile) != dump:
            fail("rollback killed, run again: the database differs")
        print("ok: a killed rollback, run again, restores everything")
    finally:
        work.close()


def refuse(binary):
    work = Work()
    try:
        case, root, dbfile = sqlite_case(work, binary, "1.6.18", "1.5.15", "refuse")
        before = walk(root)
        r = mailsec(binary, ["upgrade", "--release", tarball("1.5.15"), "--to", root, "--yes"], expect=2)
        if "does not downgrade" not in r.stderr or walk(root) != before:
            fail("a downgrade was not refused: %s" % r.stderr)
        r = mailsec(binary, ["upgrade", "--release", tarball("1.7.3"), "--to", root], expect=2)
        if "--yes" not in r.stderr or walk(root) != before:
            fail("without a terminal and without --yes it did not refuse: %s" % r.stderr)
        # Debian's layout: /usr/share/roundcube with config -> /etc/roundcube and dpkg's status
        deb = os.path.join(case, "debian")
        share = os.path.join(deb, "usr/share/roundcube")
        shutil.copytree(work.release("1.6.18"), share, symlinks=True)
        shutil.rmtree(os.path.join(share, "config"))
        os.makedirs(os.path.join(deb, "etc/roundcube"))
        os.symlink("/etc/roundcube", os.path.join(share, "config"))
        os.makedirs(os.path.join(deb, "var/lib/dpkg"))
        with open(os.path.join(deb, "var/lib/dpkg/status"), "w") as f:
            f.write("Package: roundcube-core\nStatus: install ok installed\nVersion: 1.6.5+dfsg-1+deb12u4\n\n")
        r = mailsec(binary, ["upgrade", "--release", tarball("1.7.3"), "--to", share, "--yes"], expect=2)
        if "apt" not in r.stderr:
            fail("a Debian-packaged installation was not refused: %s" % r.stderr)
        print("ok: downgrade, unasked upgrade and Debian's package refused")
        # the installer goes, unless --keep-installer
        for keep, where in ((False, "removed"), (True, "replaced")):
            args = ["upgrade", "--release", tarball("1.7.3"), "--to", root, "--dry-run", "--json"]
            plan = json.loads(mailsec(binary, args + (["--keep-installer"] if keep else []), expect=0).stdout)
            files = plan["plan"]["files"]
            if "installer/index.php" not in files[where]:
                fail("with%s --keep-installer installer/index.php is not %s" % ("" if keep else "out", where))
        if walk(root) != before:
            fail("--dry-run changed the installation")
        print("ok: the installer removed, or kept with --keep-installer")
    finally:
        work.close()


# ---- PostgreSQL and MariaDB ----

def read_info(path):
    info = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                info[k] = v
    return info


PASSWORD = "p@ss/w:rd"
PASSWORD_URL = "p%40ss%2Fw%3Ard"


class Pg:
    driver, folder = "pgsql", "postgres"

    def __init__(self, info):
        self.info = info
        self.env = dict(os.environ, PGHOST=info["HOST"], PGPORT=info["PORT"])

    def admin(self, sql, db="postgres"):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", self.info["USER"], "-d", db, "-c", sql],
                       env=self.env, check=True, capture_output=True)

    def create(self, name, initial):
        self.admin("DROP DATABASE IF EXISTS %s" % name)
        self.admin("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rc') THEN "
                   "CREATE ROLE rc LOGIN PASSWORD '%s'; END IF; END$$" % PASSWORD)
        self.admin("CREATE DATABASE %s OWNER rc" % name)
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "rc", "-d", name, "-f", initial],
                       env=self.env, check=True, capture_output=True)
        return "pgsql://rc:%s@%s:%s/%s" % (PASSWORD_URL, self.info["HOST"], self.info["PORT"], name)

    def query(self, name, sql):
        return subprocess.run(["psql", "-X", "-A", "-t", "-U", "rc", "-d", name, "-c", sql], env=self.env,
                              check=True, capture_output=True, text=True).stdout

    def schema(self, name):
        cols = self.query(name, "SELECT table_name, column_name, data_type, is_nullable, column_default "
                                "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2")
        idx = self.query(name, "SELECT tablename, regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+', "
                               "'\\1') FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2")
        cons = self.query(name, "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                                "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2, 3")
        seqs = self.query(name, "SELECT sequence_name FROM information_schema.sequences ORDER BY 1")
        version = self.query(name, "SELECT value FROM system WHERE name = 'roundcube-version'")
        return cols, idx, cons, seqs, version

    def dump(self, name):
        text = subprocess.run(["pg_dump", "-U", "rc", "-d", name], env=self.env, check=True,
                              capture_output=True, text=True).stdout
        # pg_dump's \restrict key is new at each run
        return re.sub(r"(?m)^\\(un)?restrict \S+$", r"\\\1restrict KEY", text)


class My:
    driver, folder = "mysql", "mysql"

    def __init__(self, info):
        self.info = info

    def client(self, args, user="root", db=None, stdin=None, password=None):
        cmd = ["mariadb", "--no-defaults", "--host=" + self.info["HOST"], "--port=" + self.info["PORT"],
               "--user=" + user, "--batch", "--skip-column-names"] + args + ([db] if db else [])
        env = dict(os.environ, MYSQL_PWD=password or "")
        return subprocess.run(cmd, input=stdin, env=env, check=True, capture_output=True, text=True).stdout

    def create(self, name, initial):
        self.client(["-e", "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; "
                           "CREATE USER IF NOT EXISTS 'rc'@'%%' IDENTIFIED BY '%s'; "
                           "CREATE USER IF NOT EXISTS 'rc'@'localhost' IDENTIFIED BY '%s'; "
                           "GRANT ALL ON %s.* TO 'rc'@'%%'; GRANT ALL ON %s.* TO 'rc'@'localhost'"
                     % (name, name, PASSWORD, PASSWORD, name, name)])
        with open(initial) as f:
            self.client([], user="rc", db=name, stdin=f.read(), password=PASSWORD)
        return "mysql://rc:%s@%s:%s/%s" % (PASSWORD_URL, self.info["HOST"], self.info["PORT"], name)

    def query(self, name, sql):
        return self.client(["-e", sql], db=name)

    def schema(self, name):
        # Roundcube's 2020020101.sql converts the 1.4 tables to utf8mb4, and
        # MySQL then widens TEXT columns to the next size so that they hold
        # as many characters (MEDIUMTEXT, LONGTEXT): a fact of that
        # migration, whoever applies it. The TEXT family is compared as one.
        cols = self.query(name, "SELECT table_name, column_name, IF(data_type LIKE '%text', 'text', column_type), "
                                "is_nullable, column_default "
                                "FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, 2")
        idx = self.query(name, "SELECT table_name, non_unique, GROUP_CONCAT(column_name ORDER BY seq_in_index) "
                               "FROM information_schema.statistics WHERE table_schema = DATABASE() "
                               "GROUP BY table_name, index_name, non_unique ORDER BY 1, 2, 3")
        fks = self.query(name, "SELECT table_name, column_name, referenced_table_name, referenced_column_name "
                               "FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "
                               "AND referenced_table_name IS NOT NULL ORDER BY 1, 2")
        version = self.query(name, "SELECT value FROM `system` WHERE name = 'roundcube-version'")
        return cols, idx, fks, version

    def dump(self, name):
        return subprocess.run(["mariadb-dump", "--no-defaults", "--host=" + self.info["HOST"],
                               "--port=" + self.info["PORT"], "--user=root", "--skip-dump-date", name],
                              env=dict(os.environ, MYSQL_PWD=""), check=True, capture_output=True,
                              text=True).stdout


def server_case(binary, db):
    old, new = "1.4.16", "1.7.3"
    work = Work()
    try:
        case = work.case(db.driver)
        root = os.path.join(case, "roundcube")
        name = "rc_upgrade"
        dsn = db.create(name, os.path.join(work.release(old), "SQL/%s.initial.sql" % db.folder))
        fresh = "rc_fresh"
        db.create(fresh, os.path.join(work.release(new), "SQL/%s.initial.sql" % db.folder))
        make_install(work, old, root, dsn)
        before, dump = walk(root), db.dump(name)
        backup = os.path.join(case, "backup")
        upgrade(binary, new, root, backup)
        what = "%s %s -> %s" % (db.driver, old, new)
        check_upgraded(root, work.release(old), work.release(new), before, what)
        if db.schema(name) != db.schema(fresh):
            a, b = db.schema(name), db.schema(fresh)
            diff = [d for x, y in zip(b, a) for d in difflib.unified_diff(x.splitlines(), y.splitlines(),
                                                                          "fresh", "upgraded", lineterm="")]
            fail("%s: the schema differs from a fresh installation's:\n%s" % (what, "\n".join(diff[:60])))
        mailsec(binary, ["rollback", backup], expect=0)
        same_tree(before, walk(root), what + ", rolled back")
        after = db.dump(name)
        if after != dump:
            diff = difflib.unified_diff(dump.splitlines(), after.splitlines(), "before", "after", lineterm="")
            fail("%s: the database dump after the rollback differs:\n%s" % (what, "\n".join(list(diff)[:60])))
        print("ok: %s upgraded, schema as a fresh installation's, rolled back" % what)
    finally:
        work.close()


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    if not all(os.path.exists(tarball(v)) for v in RELEASES):
        print("SKIP: the Roundcube release tarballs are not in %s (set MAILSEC_ROUNDCUBE_DIR)" % RC_DIR)
        sys.exit(SKIP)
    case, binary = sys.argv[1], os.path.abspath(sys.argv[2])
    if case == "matrix":
        matrix(binary)
    elif case == "kill":
        kill(binary)
    elif case == "refuse":
        refuse(binary)
    elif case == "pgsql":
        server_case(binary, Pg(read_info(sys.argv[3])))
    elif case == "mariadb":
        server_case(binary, My(read_info(sys.argv[3])))
    else:
        fail("unknown case " + case)


if __name__ == "__main__":
    main()
