//! The sound library's records: a sound by id, its original's SHA-256 as a unique index, its
//! waveform, and the download that moves a credit and the sound's counter in one transaction.

use redb::{ReadableTable, WriteTransaction};

use super::codec::{decode, encode};
use super::credits::credits_in;
use super::schema::{SoundRecord, WaveformRecord, table};
use super::{CreditChange, Error, Result, Store};

impl Store {
    /// Adds a sound. Refuses an id in use and bytes already imported under another id, checked
    /// inside the write transaction so two imports of the same file cannot both succeed.
    pub fn insert_sound(&self, id: &str, rec: &SoundRecord, wave: &WaveformRecord) -> Result<()> {
        let txn = self.begin_write()?;
        {
            let mut sounds = txn.open_table(table::SOUNDS)?;
            if sounds.get(id)?.is_some() {
                return Err(Error::SoundIdTaken(id.to_string()));
            }
            let mut by_sha = txn.open_table(table::SOUNDS_BY_SHA256)?;
            if let Some(existing) = by_sha.get(&rec.sha256)? {
                return Err(Error::SoundDuplicate(existing.value().to_string()));
            }
            let bytes = encode(rec)?;
            sounds.insert(id, bytes.as_slice())?;
            by_sha.insert(&rec.sha256, id)?;
            let w = encode(wave)?;
            txn.open_table(table::SOUND_WAVEFORMS)?
                .insert(id, w.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Adds many sounds in one transaction (bulk loads such as the benchmark's); the same
    /// refusals as `insert_sound`, and nothing is written if one is refused.
    pub fn insert_sounds(&self, sounds: &[(String, SoundRecord, WaveformRecord)]) -> Result<()> {
        let txn = self.begin_write()?;
        {
            let mut t = txn.open_table(table::SOUNDS)?;
            let mut by_sha = txn.open_table(table::SOUNDS_BY_SHA256)?;
            let mut waves = txn.open_table(table::SOUND_WAVEFORMS)?;
            for (id, rec, wave) in sounds {
                if t.get(id.as_str())?.is_some() {
                    return Err(Error::SoundIdTaken(id.clone()));
                }
                if let Some(existing) = by_sha.get(&rec.sha256)? {
                    return Err(Error::SoundDuplicate(existing.value().to_string()));
                }
                t.insert(id.as_str(), encode(rec)?.as_slice())?;
                by_sha.insert(&rec.sha256, id.as_str())?;
                waves.insert(id.as_str(), encode(wave)?.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The id a file with this SHA-256 was imported under.
    pub fn sound_by_sha256(&self, sha256: &[u8; 32]) -> Result<Option<String>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::SOUNDS_BY_SHA256)?;
        Ok(t.get(sha256)?.map(|v| v.value().to_string()))
    }

    pub fn get_sound(&self, id: &str) -> Result<Option<SoundRecord>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::SOUNDS)?;
        match t.get(id)? {
            Some(v) => Ok(Some(decode("sounds", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn get_waveform(&self, id: &str) -> Result<Option<WaveformRecord>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::SOUND_WAVEFORMS)?;
        match t.get(id)? {
            Some(v) => Ok(Some(decode("sound_waveforms", v.value())?)),
            None => Ok(None),
        }
    }

    /// Every sound, in id order: what the search index is built from at start.
    pub fn all_sounds(&self) -> Result<Vec<(String, SoundRecord)>> {
        let txn = self.begin_read()?;
        let t = txn.open_table(table::SOUNDS)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            out.push((k.value().to_string(), decode("sounds", v.value())?));
        }
        Ok(out)
    }

    /// Applies `change` to a sound's record; `None` when there is no such sound.
    pub fn update_sound(
        &self,
        id: &str,
        change: impl FnOnce(&mut SoundRecord),
    ) -> Result<Option<SoundRecord>> {
        let txn = self.begin_write()?;
        let out = update_sound_in(&txn, id, change)?;
        txn.commit()?;
        Ok(out)
    }

    /// Removes a sound with its index entry and waveform; returns the removed record.
    pub fn delete_sound(&self, id: &str) -> Result<Option<SoundRecord>> {
        let txn = self.begin_write()?;
        let removed = {
            let mut sounds = txn.open_table(table::SOUNDS)?;
            let removed = match sounds.remove(id)? {
                Some(v) => Some(decode::<SoundRecord>("sounds", v.value())?),
                None => None,
            };
            if let Some(r) = &removed {
                txn.open_table(table::SOUNDS_BY_SHA256)?.remove(&r.sha256)?;
                txn.open_table(table::SOUND_WAVEFORMS)?.remove(id)?;
            }
            removed
        };
        txn.commit()?;
        Ok(removed)
    }

    /// Records one download: the credit (when the plan keeps a balance) with a `download` ledger
    /// entry naming the sound, and the sound's counter, in one transaction. Returns the balance
    /// after, `None` on plans with unlimited credits.
    pub fn record_download(
        &self,
        sound: &str,
        account: u128,
        month: u32,
        monthly_grant: Option<i64>,
        now_ms: u64,
    ) -> Result<Option<i64>> {
        let txn = self.begin_write()?;
        let balance = match monthly_grant {
            Some(g) => {
                let change = CreditChange {
                    kind: "download".into(),
                    amount: -1,
                    reference: Some(sound.to_string()),
                    note: None,
                };
                match credits_in(&txn, account, month, Some(g), Some(change), now_ms) {
                    Ok((b, _)) => Some(b),
                    Err(e @ Error::InsufficientCredits { .. }) => {
                        // A due monthly grant is kept even when the debit is refused.
                        txn.commit()?;
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        if update_sound_in(&txn, sound, |r| r.download_count += 1)?.is_none() {
            return Err(Error::NotFound);
        }
        txn.commit()?;
        Ok(balance)
    }
}

fn update_sound_in(
    txn: &WriteTransaction,
    id: &str,
    change: impl FnOnce(&mut SoundRecord),
) -> Result<Option<SoundRecord>> {
    let mut t = txn.open_table(table::SOUNDS)?;
    let current = match t.get(id)? {
        Some(v) => decode::<SoundRecord>("sounds", v.value())?,
        None => return Ok(None),
    };
    let mut rec = current;
    change(&mut rec);
    let bytes = encode(&rec)?;
    t.insert(id, bytes.as_slice())?;
    Ok(Some(rec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sha: u8) -> SoundRecord {
        SoundRecord {
            title: "Door".into(),
            tags: vec!["door".into()],
            ..SoundRecord::sample("Door", "door.wav", sha)
        }
    }

    /// A sound written before machine tags (version 1) reads back with `machine: None`: its
    /// body is the version-2 body without the trailing `None`.
    #[test]
    fn sound_record_version_1_upgrades_without_machine_tags() {
        use crate::store::codec::{decode, encode};
        let rec = record(3);
        let mut bytes = encode(&rec).unwrap();
        assert_eq!(bytes.first(), Some(&2));
        assert_eq!(bytes.pop(), Some(0));
        bytes[0] = 1;
        let back: SoundRecord = decode("sounds", &bytes).unwrap();
        assert_eq!(back, rec);
        let tagged = SoundRecord {
            machine: Some(crate::store::schema::MachineTags {
                tags: vec![("Door".into(), 700)],
                vector: vec![1, 2, 3],
            }),
            ..record(3)
        };
        let back: SoundRecord = decode("sounds", &encode(&tagged).unwrap()).unwrap();
        assert_eq!(back, tagged);
    }

    #[test]
    fn ids_and_bytes_are_unique_and_deleting_frees_both() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = WaveformRecord { peaks: vec![] };
        s.insert_sound("door", &record(1), &w).unwrap();
        assert!(matches!(
            s.insert_sound("door", &record(2), &w),
            Err(Error::SoundIdTaken(_))
        ));
        match s.insert_sound("other", &record(1), &w) {
            Err(Error::SoundDuplicate(existing)) => assert_eq!(existing, "door"),
            other => panic!("{other:?}"),
        }
        assert!(s.delete_sound("door").unwrap().is_some());
        assert_eq!(s.sound_by_sha256(&[1; 32]).unwrap(), None);
        assert!(s.get_waveform("door").unwrap().is_none());
        s.insert_sound("other", &record(1), &w).unwrap();
    }
}
