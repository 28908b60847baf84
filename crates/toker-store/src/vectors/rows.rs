//! Diesel's view of the vector tables.

use diesel::Insertable;

use crate::schema::profile_vectors;

/// A `profile_vectors` row to insert.
#[derive(Insertable)]
#[diesel(table_name = profile_vectors)]
pub(crate) struct NewVectorRow<'a> {
    pub(crate) profile_id: i64,
    pub(crate) platform: &'static str,
    pub(crate) vocabulary_version: &'a str,
    pub(crate) indices: Vec<u8>,
    pub(crate) vals: Vec<u8>,
}
