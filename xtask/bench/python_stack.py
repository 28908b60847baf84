"""The baseline a user would write instead of Toker: plain Python (json + sqlite3 +
scikit-learn), run by `cargo xtask bench` on the same JSON Lines file as `toker`.

    python3 python_stack.py PROFILES.jsonl DATABASE.db [QUERIES]

Steps, each timed on its own, as a short script would do them:
- import: parse each line, check the few rules a careful script checks (ids present,
  number_of_likes >= 100, counts non-negative integers), clean tags (hashtags lower-case
  with one leading '#', categories trimmed), and store normalised rows (profiles, videos
  shared by id, tags, links) in one sqlite3 transaction;
- vectorize: read every profile's tags back with one join, weight them as Toker does
  (liked 1, shared 2, times 1 + ln(1 + likes + comments + shares) / 10), and fit
  scikit-learn's TF-IDF (smooth idf, l2 norm: the formula Toker uses) on features present
  in at least two profiles;
- query: cosine top-10 of QUERIES profiles against all, in memory (median).

Prints one JSON object: import_s, vectorize_s, query_median_ms, peak_rss_kib.
"""

import json
import math
import resource
import sqlite3
import sys
import time

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer

SCHEMA = """
CREATE TABLE profiles (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, user_id TEXT NOT NULL,
  username TEXT NOT NULL, user_pseudo TEXT, verified BOOLEAN, followers_count INTEGER,
  following_count INTEGER, likes_count INTEGER, videos_count INTEGER,
  number_of_comments INTEGER, number_of_likes_on_own_videos INTEGER,
  number_of_likes INTEGER NOT NULL, number_of_shares INTEGER, raw_json TEXT NOT NULL,
  UNIQUE (platform, user_id));
CREATE TABLE videos (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, video_id TEXT NOT NULL,
  likes INTEGER, comments INTEGER, shares INTEGER, UNIQUE (platform, video_id));
CREATE TABLE video_tags (video_ref INTEGER NOT NULL REFERENCES videos (id),
  kind TEXT NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY (video_ref, kind, position));
CREATE TABLE profile_videos (profile_id INTEGER NOT NULL REFERENCES profiles (id),
  relation TEXT NOT NULL, position INTEGER NOT NULL, video_ref INTEGER NOT NULL,
  PRIMARY KEY (profile_id, relation, position));
"""

COUNTS = ["followers_count", "following_count", "likes_count", "videos_count",
          "number_of_comments", "number_of_likes_on_own_videos", "number_of_likes",
          "number_of_shares"]


def count_ok(value):
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def clean_hashtag(tag):
    body = tag.strip().lstrip("#").lower()
    return "#" + body if body else None


def clean_category(name):
    name = " ".join(name.split())
    return name or None


def import_profiles(path, db):
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    cur = con.cursor()
    stored = 0
    with open(path, encoding="utf-8") as lines:
        cur.execute("BEGIN")
        for line in lines:
            if not line.strip():
                continue
            p = json.loads(line)
            if not p.get("user_id") or not p.get("username"):
                continue
            if not all(count_ok(p.get(k)) for k in COUNTS):
                continue
            if (p.get("number_of_likes") or 0) < 100:
                continue
            cur.execute(
                "INSERT INTO profiles (platform, user_id, username, user_pseudo, verified,"
                " followers_count, following_count, likes_count, videos_count,"
                " number_of_comments, number_of_likes_on_own_videos, number_of_likes,"
                " number_of_shares, raw_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (p.get("platform", "tiktok"), p["user_id"], p["username"],
                 p.get("user_pseudo"), p.get("verified"), *[p.get(k) for k in COUNTS],
                 line),
            )
            profile_id = cur.lastrowid
            platform = p.get("platform", "tiktok")
            for relation in ("liked_videos", "shared_videos"):
                for position, v in enumerate(p.get(relation) or []):
                    cur.execute(
                        "INSERT INTO videos (platform, video_id, likes, comments, shares)"
                        " VALUES (?,?,?,?,?) ON CONFLICT (platform, video_id) DO UPDATE SET"
                        " likes = excluded.likes, comments = excluded.comments,"
                        " shares = excluded.shares RETURNING id",
                        (platform, v["video_id"], v.get("likes"), v.get("comments"),
                         v.get("shares")),
                    )
                    video_ref = cur.fetchone()[0]
                    cur.execute("DELETE FROM video_tags WHERE video_ref = ?", (video_ref,))
                    tags = [("c", c) for c in map(clean_category, v.get("categories") or []) if c]
                    tags += [("h", h) for h in map(clean_hashtag, v.get("hashtags") or []) if h]
                    cur.executemany(
                        "INSERT OR IGNORE INTO video_tags (video_ref, kind, position, name)"
                        " VALUES (?,?,?,?)",
                        [(video_ref, kind, i, name) for i, (kind, name) in enumerate(tags)],
                    )
                    cur.execute(
                        "INSERT INTO profile_videos (profile_id, relation, position, video_ref)"
                        " VALUES (?,?,?,?)",
                        (profile_id, relation, position, video_ref),
                    )
            stored += 1
        con.commit()
    con.close()
    return stored


def vectorize(db):
    con = sqlite3.connect(db)
    bags = {}
    rows = con.execute(
        "SELECT pv.profile_id, pv.relation, v.likes, v.comments, v.shares, t.kind, t.name"
        " FROM profile_videos pv JOIN videos v ON v.id = pv.video_ref"
        " JOIN video_tags t ON t.video_ref = v.id"
    )
    for profile_id, relation, likes, comments, shares, kind, name in rows:
        weight = (2.0 if relation == "shared_videos" else 1.0) * (
            1.0 + math.log1p((likes or 0) + (comments or 0) + (shares or 0)) / 10.0
        )
        bag = bags.setdefault(profile_id, {})
        key = kind + ":" + name
        bag[key] = bag.get(key, 0.0) + weight
    ids = [row[0] for row in con.execute("SELECT id FROM profiles ORDER BY id")]
    con.close()
    dicts = [bags.get(i, {}) for i in ids]
    counts = DictVectorizer(dtype=np.float64).fit_transform(dicts).tocsc()
    df = np.diff(counts.indptr)
    counts = counts[:, df >= 2].tocsr()
    vectors = TfidfTransformer(norm="l2", smooth_idf=True).fit_transform(counts)
    return ids, vectors.astype(np.float32).tocsr()


def top10(vectors, row):
    scores = (vectors @ vectors[row].T).toarray().ravel()
    scores[row] = -1.0
    best = np.argpartition(-scores, 10)[:10]
    return best[np.argsort(-scores[best])]


def main():
    path, db = sys.argv[1], sys.argv[2]
    queries = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    started = time.perf_counter()
    stored = import_profiles(path, db)
    import_s = time.perf_counter() - started

    started = time.perf_counter()
    ids, vectors = vectorize(db)
    vectorize_s = time.perf_counter() - started

    times = []
    for q in range(queries):
        row = (q * 7919) % len(ids)
        started = time.perf_counter()
        top10(vectors, row)
        times.append((time.perf_counter() - started) * 1000.0)
    times.sort()
    print(json.dumps({
        "profiles": stored,
        "import_s": import_s,
        "vectorize_s": vectorize_s,
        "query_median_ms": times[len(times) // 2],
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
