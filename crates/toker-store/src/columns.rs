//! The column types every feature's rows share, on both backends: [`DbTime`] (a UTC
//! instant) and [`DbPlatform`]/[`DbPlatformText`] (a platform stored as its name).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use diesel::{AsExpression, FromSqlRow};
use toker_model::Platform;

use crate::schema::sql_types::UtcTime;

/// A UTC instant with microsecond precision (what both backends keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = UtcTime)]
pub(crate) struct DbTime(pub(crate) DateTime<Utc>);

impl DbTime {
    /// Now, cut to microseconds so that the value read back equals the one written.
    pub(crate) fn now() -> DbTime {
        DbTime(Utc::now().trunc_subsecs(6))
    }
}

impl ToSql<UtcTime, Sqlite> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.to_rfc3339_opts(SecondsFormat::Micros, true));
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTime, Sqlite> for DbTime {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        parse_sqlite_time(&text)
            .map(DbTime)
            .ok_or_else(|| format!("not a UTC timestamp: {text:?}").into())
    }
}

/// RFC 3339 (what we write), or SQLite's own `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC.
fn parse_sqlite_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[cfg(feature = "postgres")]
mod pg_time {
    use chrono::{DateTime, Utc};
    use diesel::deserialize::{self, FromSql};
    use diesel::pg::{Pg, PgValue};
    use diesel::serialize::{self, Output, ToSql};
    use diesel::sql_types::Timestamptz;

    use super::{DbTime, UtcTime};

    impl ToSql<UtcTime, Pg> for DbTime {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, out)
        }
    }

    impl FromSql<UtcTime, Pg> for DbTime {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value).map(DbTime)
        }
    }
}

/// A platform stored as its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub(crate) struct DbPlatform(pub(crate) Platform);

impl<DB: Backend> FromSql<Text, DB> for DbPlatform
where
    String: FromSql<Text, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let name = String::from_sql(value)?;
        Ok(DbPlatform(name.parse()?))
    }
}

/// A platform column read and written as its name (the profile rows read theirs with
/// [`DbPlatform`], which writes as a `&'static str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub(crate) struct DbPlatformText(pub(crate) Platform);

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for DbPlatformText
where
    DB: diesel::backend::Backend,
    DbPlatform: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        DbPlatform::from_sql(value).map(|p| DbPlatformText(p.0))
    }
}

impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for DbPlatformText
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, DB>,
    ) -> diesel::serialize::Result {
        self.0.as_str().to_sql(out)
    }
}

/// `t` cut to microseconds (what both backends keep).
pub(crate) fn db_time(t: DateTime<Utc>) -> DbTime {
    use chrono::SubsecRound;
    DbTime(t.trunc_subsecs(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_times_parse_both_formats() {
        let t = parse_sqlite_time("2025-11-25T12:00:00.123456Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-11-25T12:00:00.123456+00:00");
        let t = parse_sqlite_time("2025-11-25 12:00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-11-25T12:00:00+00:00");
        assert!(parse_sqlite_time("yesterday").is_none());
    }
}
