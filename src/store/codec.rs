//! Record encoding: one version byte, then postcard. Decoding never panics; a record that does not
//! parse is reported as corrupt with the table it came from.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Error;

/// A type stored as a redb value. Bump `VERSION` when its layout changes and teach `decode` the
/// old one.
pub trait Record: Serialize + DeserializeOwned {
    const VERSION: u8;

    /// Decodes the body of an older `version` of the record, or `None` when that version never
    /// existed.
    fn upgrade(_version: u8, _body: &[u8]) -> Option<Result<Self, postcard::Error>> {
        None
    }
}

pub fn encode<T: Record>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = vec![T::VERSION];
    let body = postcard::to_stdvec(value).map_err(|e| Error::Encode(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn decode<T: Record>(table: &'static str, bytes: &[u8]) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&v, body)) if v == T::VERSION => {
            postcard::from_bytes(body).map_err(|_| Error::Corrupt { table })
        }
        Some((&v, body)) => match T::upgrade(v, body) {
            Some(r) => r.map_err(|_| Error::Corrupt { table }),
            None => Err(Error::UnknownVersion { table, version: v }),
        },
        None => Err(Error::Corrupt { table }),
    }
}
