//! The users search at scale keeps its meaning: on generated data, every access
//! path (index walk, prefix ranges, trigram and short-gram candidates) and the
//! storage call itself return exactly
//! what a plain filter-and-sort in Rust returns.

mod common;

use pathfinder::filter::{SearchMode, UserFilter, UserSort};
use pathfinder::storage::UserStore;
use pathfinder::storage::Value;
use pathfinder_server::storage::driver::Dialect;
use pathfinder_server::storage::search::{candidates, users_query, UsersAccess};

struct Row {
    user_id: String,
    fields: [String; 4],
    status: String,
    created_at: String,
    email: String,
}

/// What the search means: a case-insensitive match on any of the four fields, the
/// status, then the sort key and the id.
fn reference(rows: &[Row], f: &UserFilter) -> Vec<String> {
    let q = f.q.as_deref().map(str::to_lowercase);
    let mut hits: Vec<(String, &str)> = rows
        .iter()
        .filter(|r| match &q {
            None => true,
            Some(q) => r.fields.iter().any(|x| match f.mode {
                SearchMode::Contains => x.contains(q.as_str()),
                SearchMode::Prefix => x.starts_with(q.as_str()),
            }),
        })
        .filter(|r| f.status.as_ref().is_none_or(|s| *s == r.status))
        .map(|r| {
            let key = match f.sort {
                UserSort::Username => r.fields[0].clone(),
                UserSort::Email => r.email.to_lowercase(),
                UserSort::CreatedAt => r.created_at.clone(),
            };
            (key, r.user_id.as_str())
        })
        .collect();
    hits.sort();
    if f.descending {
        hits.reverse();
    }
    hits.into_iter().map(|(_, id)| id.to_string()).collect()
}

fn run_sql(c: &rusqlite::Connection, f: &UserFilter, access: UsersAccess) -> Vec<String> {
    let (query, binds) = users_query(f, Dialect::Sqlite, access).unwrap();
    let args: Vec<rusqlite::types::Value> = binds
        .into_iter()
        .map(|v| match v {
            Value::Text(t) => rusqlite::types::Value::Text(t),
            Value::Int(i) => rusqlite::types::Value::Integer(i),
            other => panic!("the search binds text and numbers only: {other:?}"),
        })
        .collect();
    let mut stmt = c.prepare(&query).unwrap();
    let ids = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0)).unwrap();
    ids.collect::<Result<_, _>>().unwrap()
}

#[test]
fn every_access_path_returns_what_the_search_means() {
    let (s, dir) = common::generated(3, 6_000, 0, 0);
    let c = rusqlite::Connection::open(dir.path().join("pf.db")).unwrap();
    pathfinder_server::storage::driver::sqlite::configure(&c).unwrap();
    let rows: Vec<Row> = c
        .prepare("SELECT user_id, username, email, first_name, last_name, account_status, created_at FROM pf_users")
        .unwrap()
        .query_map([], |r| {
            let text = |i| r.get::<_, Option<String>>(i).map(|v| v.unwrap_or_default().to_lowercase());
            Ok(Row {
                user_id: r.get(0)?,
                fields: [text(1)?, text(2)?, text(3)?, text(4)?],
                status: r.get(5)?,
                created_at: r.get(6)?,
                email: r.get(2)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 6_000);

    let mut checked = 0;
    let mut sources = std::collections::BTreeSet::new();
    let texts = [
        "", "smith", "SMITH", "zoë", "an", "ja", "jose_", "garcia_1", "@gmail", "élo", "o'b", "%", "qqq", "ü", "a",
        "Z", "!x", "ss", "\"", "_", "ë", "zz", "m", "é",
    ];
    for q in texts {
        for mode in ["contains", "prefix"] {
            for status in ["", "suspended", "deleted"] {
                for (sort, dir) in
                    [("username", "asc"), ("email", "desc"), ("created_at", "asc"), ("created_at", "desc")]
                {
                    let mut f = UserFilter::from_query(q, mode, status, sort, dir, "").unwrap();
                    f.limit = 200;
                    let want: Vec<String> = reference(&rows, &f).into_iter().take(201).collect();
                    assert_eq!(run_sql(&c, &f, UsersAccess::Walk), want, "walk: {q:?} {mode} {status} {sort} {dir}");
                    if let Some(source) = candidates(&f, Dialect::Sqlite) {
                        assert_eq!(
                            run_sql(&c, &f, UsersAccess::Candidates(source)),
                            want,
                            "{source:?}: {q:?} {mode} {status} {sort}"
                        );
                        sources.insert(format!("{source:?}"));
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, texts.len() * 2 * 3 * 4);
    assert_eq!(sources.len(), 3, "every candidates source was compared: {sources:?}");

    // Through the storage call, page by page, to the end.
    for (q, mode, sort, dir) in [
        ("an", "contains", "email", "asc"),
        ("mar", "prefix", "created_at", "desc"),
        ("", "", "username", "desc"),
        ("zz", "contains", "username", "asc"),
        ("m", "prefix", "email", "desc"),
    ] {
        let mut f = UserFilter::from_query(q, mode, "", sort, dir, "").unwrap();
        f.limit = 97;
        let mut got = Vec::new();
        loop {
            let page = s.search_users(&f).unwrap();
            got.extend(page.items.into_iter().map(|u| u.user_id.0));
            match page.next_cursor {
                Some(cursor) => f.after = Some(cursor),
                None => break,
            }
        }
        assert_eq!(got, reference(&rows, &f), "paged: {q:?} {mode} {sort} {dir}");
    }
}
