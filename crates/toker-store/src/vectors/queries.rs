// Profile vectors and the vocabulary that produced them.
//
// Included once per backend by `crate::backend`; `super::Conn` is that backend's connection.

use std::collections::HashSet;

use diesel::prelude::*;
use toker_model::Platform;

use super::Conn;
use crate::backend::IN_LIST;
use crate::error::{StoreError, db};
use crate::columns::{DbPlatform, DbTime};
use crate::profiles::rows::PreparedProfile;
use crate::vectors::rows::NewVectorRow;
use crate::schema::{profile_vectors, profiles, vector_writes, vocabularies};
use crate::vectors::{
    ProfileVectorizer, StoredVector, VectorParts, Vectorized, VocabularyRecord, VocabularyRef,
    decode_vector, encode_vector,
};

/// Vectors per insert statement.
const CHUNK: usize = 1000;

/// Replaces every vector and the vocabulary, in the caller's transaction.
pub(crate) fn save_vectors(
    c: &mut Conn,
    vocabulary: &VocabularyRecord,
    vectors: &mut dyn Iterator<Item = StoredVector>,
) -> Result<u64, StoreError> {
    diesel::delete(profile_vectors::table)
        .execute(c)
        .map_err(db("removing the old vectors"))?;
    diesel::delete(vocabularies::table)
        .execute(c)
        .map_err(db("removing the old vocabulary"))?;
    bump_vector_writes(c)?;
    diesel::insert_into(vocabularies::table)
        .values((
            vocabularies::version.eq(&vocabulary.version),
            vocabularies::json.eq(&vocabulary.json),
            vocabularies::created_at.eq(DbTime::now()),
        ))
        .execute(c)
        .map_err(db(format!("storing vocabulary {}", vocabulary.version)))?;
    let mut saved = 0u64;
    let mut chunk: Vec<StoredVector> = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        chunk.extend((&mut *vectors).take(CHUNK));
        if chunk.is_empty() {
            return Ok(saved);
        }
        check_profiles_exist(c, &chunk)?;
        let rows = vector_rows(&chunk, &vocabulary.version)?;
        let n = diesel::insert_into(profile_vectors::table)
            .values(rows)
            .execute(c)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => StoreError::Invalid {
                    record: "vectors".to_owned(),
                    message: "two vectors name the same profile".to_owned(),
                },
                e => StoreError::db(format!("storing {} vectors", chunk.len()), e),
            })?;
        saved += u64::try_from(n).unwrap_or(u64::MAX);
    }
}

/// Counts one more transaction that changed profile vectors (the caller's): every write
/// or delete of `profile_vectors` rows, and every change of which profiles others may see,
/// calls it once in its transaction, so that another process reading
/// [`vector_write_marker`] sees it move exactly when the vectors it read may be stale.
pub(crate) fn bump_vector_writes(c: &mut Conn) -> Result<(), StoreError> {
    let bumped = diesel::update(vector_writes::table.find(1))
        .set(vector_writes::writes.eq(vector_writes::writes + 1))
        .execute(c)
        .map_err(db("counting a write of profile vectors"))?;
    if bumped == 0 {
        // The migration stores the row; should it be gone, the count starts again (any
        // other value than the one a reader holds makes it rebuild).
        diesel::insert_into(vector_writes::table)
            .values((vector_writes::id.eq(1), vector_writes::writes.eq(1_i64)))
            .execute(c)
            .map_err(db("counting a write of profile vectors"))?;
    }
    Ok(())
}

/// How many transactions changed profile vectors so far ([`bump_vector_writes`]): one
/// indexed read of one row.
pub(crate) fn vector_write_marker(c: &mut Conn) -> Result<u64, StoreError> {
    let writes: Option<i64> = vector_writes::table
        .find(1)
        .select(vector_writes::writes)
        .first(c)
        .optional()
        .map_err(db("reading the count of vector writes"))?;
    Ok(writes.map_or(0, |n| u64::try_from(n).unwrap_or_default()))
}

/// Deletes the vectors of these profiles, counting the write ([`bump_vector_writes`]) when
/// a vector went; returns how many. Profiles are deleted after it (their vectors would go
/// by `ON DELETE CASCADE`, uncounted).
pub(crate) fn delete_vectors_of(c: &mut Conn, profile_ids: &[i64]) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for chunk in profile_ids.chunks(IN_LIST) {
        deleted += diesel::delete(
            profile_vectors::table.filter(profile_vectors::profile_id.eq_any(chunk)),
        )
        .execute(c)
        .map_err(db("removing the vectors of the profiles"))?;
    }
    if deleted > 0 {
        bump_vector_writes(c)?;
    }
    Ok(deleted)
}

/// The rows of these vectors, made with vocabulary `version`.
fn vector_rows<'a>(
    vectors: &[StoredVector],
    version: &'a str,
) -> Result<Vec<NewVectorRow<'a>>, StoreError> {
    vectors
        .iter()
        .map(|v| {
            let (indices, vals) = encode_vector(v)?;
            Ok(NewVectorRow {
                profile_id: v.profile_id,
                platform: v.platform.as_str(),
                vocabulary_version: version,
                indices,
                vals,
            })
        })
        .collect()
}

/// The stored vocabulary's version and when it was fitted, if one is stored.
pub(crate) fn vocabulary_stamp(c: &mut Conn) -> Result<Option<(String, DbTime)>, StoreError> {
    vocabularies::table
        .order(vocabularies::created_at.desc())
        .select((vocabularies::version, vocabularies::created_at))
        .first(c)
        .optional()
        .map_err(db("reading the vocabulary version"))
}

fn check_profiles_exist(c: &mut Conn, chunk: &[StoredVector]) -> Result<(), StoreError> {
    let ids: Vec<i64> = chunk.iter().map(|v| v.profile_id).collect();
    let found: HashSet<i64> = profiles::table
        .filter(profiles::id.eq_any(&ids))
        .select(profiles::id)
        .load::<i64>(c)
        .map_err(db("checking the vectors' profiles"))?
        .into_iter()
        .collect();
    match ids.iter().find(|id| !found.contains(id)) {
        Some(missing) => Err(StoreError::NotFound {
            what: format!("profile {missing} (named by a vector)"),
        }),
        None => Ok(()),
    }
}

/// Stores the vectors of freshly written profiles under the stored vocabulary, in the
/// caller's transaction (the write's): their old vectors go, and when a vocabulary is
/// stored and a vectorizer given, the vectorizer's new ones are inserted. The vocabulary's
/// version is read once for the whole batch, its JSON only if the vectorizer asks for it.
pub(crate) fn store_written_vectors(
    c: &mut Conn,
    written: &[(i64, &PreparedProfile<'_>)],
    vectorizer: Option<&dyn ProfileVectorizer>,
) -> Result<(), StoreError> {
    if written.is_empty() {
        return Ok(());
    }
    // No vocabulary, no vector (the foreign key): the first refit makes them all.
    let Some((version, _)) = vocabulary_stamp(c)? else {
        return Ok(());
    };
    let ids: Vec<i64> = written.iter().map(|(id, _)| *id).collect();
    let Some(vectorizer) = vectorizer else {
        // The replaced profiles' stale vectors go (counted if there were any).
        delete_vectors_of(c, &ids)?;
        return Ok(());
    };
    for chunk in ids.chunks(IN_LIST) {
        diesel::delete(profile_vectors::table.filter(profile_vectors::profile_id.eq_any(chunk)))
            .execute(c)
            .map_err(db("removing the vectors of the replaced profiles"))?;
    }
    let profiles: Vec<&toker_model::Profile> = written.iter().map(|(_, p)| p.profile).collect();
    let failed = |message: String| StoreError::Invalid {
        record: format!("vocabulary {version}"),
        message: format!("{message}: run `toker vectorize` to fit a new one"),
    };
    let asked = VocabularyRef {
        version: &version,
        json: None,
    };
    let vectors = match vectorizer.vectorize(asked, &profiles).map_err(failed)? {
        Vectorized::Vectors(vectors) => vectors,
        Vectorized::NeedsJson => {
            let record = load_vocabulary(c)?.filter(|r| r.version == version).ok_or_else(|| {
                failed("it vanished while the profiles were written".to_owned())
            })?;
            let given = VocabularyRef {
                version: &version,
                json: Some(&record.json),
            };
            match vectorizer.vectorize(given, &profiles).map_err(failed)? {
                Vectorized::Vectors(vectors) => vectors,
                Vectorized::NeedsJson => {
                    return Err(failed("the vectorizer refused its JSON".to_owned()));
                }
            }
        }
    };
    if vectors.len() != written.len() {
        return Err(failed(format!(
            "the vectorizer made {} vectors for {} profiles",
            vectors.len(),
            written.len()
        )));
    }
    let stored: Vec<StoredVector> = written
        .iter()
        .zip(vectors)
        .map(|((id, p), VectorParts { indices, values })| StoredVector {
            profile_id: *id,
            platform: p.platform,
            indices,
            values,
        })
        .collect();
    for chunk in stored.chunks(CHUNK) {
        let rows = vector_rows(chunk, &version)?;
        diesel::insert_into(profile_vectors::table)
            .values(rows)
            .execute(c)
            .map_err(db(format!("storing the vectors of {} profiles", chunk.len())))?;
    }
    // Last, so that concurrent writers hold the one counter row only until they commit.
    bump_vector_writes(c)
}

/// The vocabulary of the stored vectors.
pub(crate) fn load_vocabulary(c: &mut Conn) -> Result<Option<VocabularyRecord>, StoreError> {
    let row: Option<(String, String)> = vocabularies::table
        .order(vocabularies::created_at.desc())
        .select((vocabularies::version, vocabularies::json))
        .first(c)
        .optional()
        .map_err(db("loading the vocabulary"))?;
    Ok(row.map(|(version, json)| VocabularyRecord { version, json }))
}

type VectorDbRow = (i64, DbPlatform, Vec<u8>, Vec<u8>);

fn vector_columns() -> (
    profile_vectors::profile_id,
    profile_vectors::platform,
    profile_vectors::indices,
    profile_vectors::vals,
) {
    (
        profile_vectors::profile_id,
        profile_vectors::platform,
        profile_vectors::indices,
        profile_vectors::vals,
    )
}

/// Every stored vector (of one platform), by profile id: of the profiles others may see,
/// or (`unproven`) of the unproven uploads only.
pub(crate) fn load_vectors(
    c: &mut Conn,
    platform: Option<Platform>,
    unproven: bool,
) -> Result<Vec<StoredVector>, StoreError> {
    let mut query = profile_vectors::table
        .inner_join(profiles::table)
        .select(vector_columns())
        .order(profile_vectors::profile_id)
        .into_boxed();
    if let Some(p) = platform {
        query = query.filter(profile_vectors::platform.eq(p.as_str()));
    }
    query = if unproven {
        query.filter(profiles::unproven_by.ne(""))
    } else {
        query.filter(profiles::unproven_by.eq(""))
    };
    let rows: Vec<VectorDbRow> = query.load(c).map_err(db("loading vectors"))?;
    rows.into_iter()
        .map(|(id, p, indices, vals)| decode_vector(id, p.0, &indices, &vals))
        .collect()
}

/// One profile's vector.
pub(crate) fn load_vector(
    c: &mut Conn,
    profile_id: i64,
) -> Result<Option<StoredVector>, StoreError> {
    let row: Option<VectorDbRow> = profile_vectors::table
        .find(profile_id)
        .select(vector_columns())
        .first(c)
        .optional()
        .map_err(db(format!("loading the vector of profile {profile_id}")))?;
    row.map(|(id, p, indices, vals)| decode_vector(id, p.0, &indices, &vals))
        .transpose()
}
