//! Fresh databases for the conformance checks.

use std::sync::atomic::{AtomicU32, Ordering};

use mimi_store::SqlStore;
use sqlx::Connection as _;
use sqlx::Executor as _;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A store on a database of its own, and how to reach that database again.
pub struct Db {
    pub store: SqlStore,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { base: String, schema: String },
}

impl Db {
    /// A new SQLite file in the temporary directory.
    pub async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("{}.db", unique("mimi_store")));
        let url = format!("sqlite://{}", path.display());
        let store = SqlStore::open(&url).await.unwrap();
        Self {
            store,
            url,
            cleanup: Cleanup::File(path),
        }
    }

    /// A new schema in the PostgreSQL database `MIMI_TEST_POSTGRES_URL` names, if set.
    pub async fn postgres() -> Option<Self> {
        let base = std::env::var("MIMI_TEST_POSTGRES_URL").ok()?;
        let schema = unique("mimi_t");
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to MIMI_TEST_POSTGRES_URL: {e}"));
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = SqlStore::open(&url).await.unwrap();
        Some(Self {
            store,
            url,
            cleanup: Cleanup::Schema { base, schema },
        })
    }

    /// Another store on the same database (as after a restart, or a second process).
    pub async fn reopen(&self) -> SqlStore {
        SqlStore::open(&self.url).await.unwrap()
    }

    /// Clears every user's and room's skeleton, as they were before migrations 0007 and
    /// 0009 (a connection of its own, outside the store's API).
    pub async fn forget_skeletons(&self) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        for table in ["users", "rooms"] {
            conn.execute(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET skeleton = NULL"
            )))
            .await
            .unwrap();
        }
        conn.close().await.unwrap();
    }

    /// Removes the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Schema { base, schema } => {
                if let Ok(mut conn) = sqlx::AnyConnection::connect(&base).await {
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                        .await;
                    let _ = conn.close().await;
                }
            }
        }
    }
}
